"""Metrics and params values: parsing, DVC's filter, flattening, and comparing (hypothesis)."""

from __future__ import annotations

import csv
import io
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from mlrepro.ops.metrics import (
    RevisionValues,
    _parse,
    compare,
    flatten,
    keep_metrics,
)
from mlrepro.ops.revisions import Revision

keys = st.text(alphabet="abcxyz_", min_size=1, max_size=5)
scalars = st.one_of(
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=5),
)
nested = st.recursive(
    st.dictionaries(keys, scalars, min_size=1, max_size=4),
    lambda children: st.dictionaries(keys, st.one_of(scalars, children), min_size=1, max_size=4),
    max_leaves=20,
)


def unflatten(flat: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for dotted, value in flat.items():
        node = out
        *parents, last = dotted.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[last] = value
    return out


@given(nested)
def test_flatten_keeps_every_leaf_under_its_dotted_path(value: dict[str, Any]) -> None:
    assert unflatten(flatten(value)) == value


@given(st.dictionaries(keys, st.one_of(scalars, st.none(), st.lists(scalars, max_size=2))))
def test_metrics_keep_numbers_strings_and_booleans_only(value: dict[str, Any]) -> None:
    kept = keep_metrics(value)
    assert set(kept) == {k for k, v in value.items() if isinstance(v, bool | int | float | str)}


@given(nested)
def test_params_lists_are_written_as_python_writes_them(value: dict[str, Any]) -> None:
    value = {**value, "layers": [64, 32], "names": ["x", "y"]}
    flat = flatten(value, lists_as_text=True)
    assert flat["layers"] == "[64, 32]" and flat["names"] == "['x', 'y']"


def rv(files: dict[str, Any]) -> RevisionValues:
    return RevisionValues(Revision("r", None), files=files)


@given(
    st.dictionaries(keys, st.dictionaries(keys, scalars, max_size=4), max_size=3),
    st.dictionaries(keys, st.dictionaries(keys, scalars, max_size=4), max_size=3),
)
def test_compare_is_symmetric_and_shows_exactly_the_changes(
    a: dict[str, Any], b: dict[str, Any]
) -> None:
    forward = compare(rv(a), rv(b))
    backward = compare(rv(b), rv(a))
    assert {(d.path, d.key, d.old, d.new) for d in forward} == {
        (d.path, d.key, d.new, d.old) for d in backward
    }
    for d in forward:
        assert a.get(d.path, {}).get(d.key) != b.get(d.path, {}).get(d.key)
    everything = compare(rv(a), rv(b), all_keys=True)
    assert len(everything) == sum(
        len(a.get(p, {}).keys() | b.get(p, {}).keys()) for p in a.keys() | b.keys()
    )


@given(
    st.lists(keys, min_size=1, max_size=4, unique=True),
    st.lists(st.lists(st.integers(-1000, 1000), min_size=4, max_size=4), min_size=1, max_size=4),
    st.sampled_from([",", "\t"]),
)
def test_csv_and_tsv_tables(columns: list[str], rows: list[list[int]], sep: str) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=sep, lineterminator="\n")
    w.writerow(columns)
    for r in rows:
        w.writerow(r[: len(columns)])
    parsed = _parse("m.tsv" if sep == "\t" else "m.csv", buf.getvalue().encode())
    as_dicts = [dict(zip(columns, r[: len(columns)], strict=True)) for r in rows]
    if len(rows) == 1:
        assert parsed == as_dicts[0]
    else:
        assert parsed == {str(i): d for i, d in enumerate(as_dicts)}
