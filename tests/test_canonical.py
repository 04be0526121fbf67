"""Canonical JSON (``mlrepro.canonical``): the one byte form of everything mlrepro hashes.

Equal values give equal bytes whatever their keys' insertion order; the bytes read
back to the value; encoding them again changes nothing; the form is compact, sorted,
UTF-8 and refuses NaN and infinities, which :func:`finite` tags first. A name that is
not UTF-8 (lone surrogates) is written as a ``\\udcNN`` escape and reads back to the
same name.
"""

from __future__ import annotations

import json
import math
import os
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlrepro.canonical import canonical_bytes, canonical_text, finite, utf8

# text as a file system gives it: valid Unicode without surrogates
plain_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
# a file name's bytes as Python holds them (``surrogateescape``)
fs_names = st.binary(min_size=1, max_size=12).map(lambda b: b.decode("utf-8", "surrogateescape"))
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    plain_text,
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(plain_text, inner, max_size=4)
    ),
    max_leaves=20,
)


def reordered(value: Any, rng: random.Random) -> Any:
    """``value`` with every mapping's keys inserted in another order."""
    if isinstance(value, dict):
        items = list(value.items())
        rng.shuffle(items)
        return {k: reordered(v, rng) for k, v in items}
    if isinstance(value, list):
        return [reordered(v, rng) for v in value]
    return value


@settings(max_examples=100)
@given(json_values)
def test_the_bytes_read_back_to_the_value(value: Any) -> None:
    assert json.loads(canonical_bytes(value)) == value
    assert canonical_bytes(value) == canonical_text(value).encode("utf-8")


@settings(max_examples=100)
@given(json_values, st.integers(0, 2**32))
def test_key_order_does_not_change_the_bytes(value: Any, seed: int) -> None:
    assert canonical_bytes(reordered(value, random.Random(seed))) == canonical_bytes(value)


@settings(max_examples=100)
@given(json_values)
def test_encoding_again_gives_the_same_bytes(value: Any) -> None:
    once = canonical_bytes(value)
    assert canonical_bytes(json.loads(once)) == once


@settings(max_examples=100)
@given(json_values)
def test_the_form_is_sorted_compact_utf8_json(value: Any) -> None:
    expected = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert canonical_text(value) == expected


def test_known_forms() -> None:
    assert canonical_text({"b": 1, "a": [1, 2.5, None, True]}) == '{"a":[1,2.5,null,true],"b":1}'
    assert canonical_bytes({"é": "ü", "z": {"y": {}, "x": []}}) == (
        '{"z":{"x":[],"y":{}},"é":"ü"}'.encode()
    )
    assert canonical_bytes("tab\there\n") == b'"tab\\there\\n"'
    # tuples are lists; keys are compared as code points, not by locale
    assert canonical_bytes((1, 2)) == canonical_bytes([1, 2]) == b"[1,2]"
    assert canonical_text({"a": 1, "B": 2, "_": 3}) == '{"B":2,"_":3,"a":1}'


@pytest.mark.parametrize("number", [math.nan, math.inf, -math.inf])
def test_nan_and_infinity_are_refused(number: float) -> None:
    with pytest.raises(ValueError):
        canonical_bytes({"lr": number})
    with pytest.raises(ValueError):
        canonical_text([number])


def test_finite_tags_nan_and_infinities_at_any_depth() -> None:
    value = {"a": math.inf, "b": [1.5, -math.inf, (math.nan, 2)], "c": {"d": "inf"}}
    tagged = finite(value)
    assert tagged == {
        "a": {"$float": "inf"},
        "b": [1.5, {"$float": "-inf"}, [{"$float": "nan"}, 2]],
        "c": {"d": "inf"},
    }
    assert canonical_bytes(tagged) == (
        b'{"a":{"$float":"inf"},"b":[1.5,{"$float":"-inf"},[{"$float":"nan"},2]],"c":{"d":"inf"}}'
    )
    assert value["a"] == math.inf  # the input is not changed


@settings(max_examples=100)
@given(json_values)
def test_finite_leaves_finite_values_as_they_are(value: Any) -> None:
    assert finite(value) == value
    assert canonical_bytes(finite(value)) == canonical_bytes(value)


@settings(max_examples=100)
@given(plain_text)
def test_utf8_of_text_without_surrogates_is_its_encoding(text: str) -> None:
    assert utf8(text) == text.encode("utf-8")


def test_a_name_that_is_not_utf8_is_a_json_escape() -> None:
    name = b"caf\xe9.csv".decode("utf-8", "surrogateescape")
    assert canonical_bytes({"path": name}) == b'{"path":"caf\\udce9.csv"}'
    assert canonical_bytes(["caf\u00e9", name]) == '["café","caf\\udce9.csv"]'.encode()


@settings(max_examples=100)
@given(st.lists(fs_names, max_size=4))
def test_names_that_are_not_utf8_read_back_to_their_bytes(names: list[str]) -> None:
    data = canonical_bytes({"names": names})
    data.decode("utf-8")  # always valid UTF-8
    back = json.loads(data)["names"]
    assert [os.fsencode(n) for n in back] == [os.fsencode(n) for n in names]
    assert canonical_bytes(json.loads(data)) == data


def test_a_real_file_name_that_is_not_utf8(tmp_path: Path) -> None:
    raw = b"r\xe9sultat-\xff.bin"
    (tmp_path / raw.decode("utf-8", "surrogateescape")).write_bytes(b"x")
    (name,) = os.listdir(tmp_path)
    data = canonical_bytes([name])
    assert data == b'["r\\udce9sultat-\\udcff.bin"]'
    (again,) = json.loads(data)
    assert (tmp_path / again).read_bytes() == b"x"
