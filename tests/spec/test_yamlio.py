"""Reading YAML as DVC does (``mlrepro.spec.yamlio``).

DVC is the oracle: its own ``parse_yaml`` (``dvc.utils.serialize``), run with
ruamel's Python parser as a ``pip install dvc`` does today, reads the same generated
documents; mlrepro's fast path uses ruamel's C parser and must give the same values,
refuse the same documents, and honour a ``%YAML 1.1`` directive as the Python parser
does. Errors name the file and the line; :func:`line_of` finds a key path's line.
"""

from __future__ import annotations

import contextlib
import datetime
import io
import math
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from mlrepro.errors import PipelineError
from mlrepro.spec.yamlio import line_of, parse_yaml

dvc_serialize = pytest.importorskip("dvc.utils.serialize")


@contextlib.contextmanager
def pure_ruamel() -> Iterator[None]:
    """ruamel without its C parser, as DVC runs where ruamel.yaml.clib is absent."""
    import ruamel.yaml.main as ruamel_main

    saved = ruamel_main.CParser
    ruamel_main.CParser = None
    try:
        yield
    finally:
        ruamel_main.CParser = saved


def dvc_reads(text: str) -> Any:
    """DVC's value for ``text``, or the exception class when DVC refuses it."""
    with pure_ruamel():
        try:
            return dvc_serialize.parse_yaml(text, "params.yaml")
        except dvc_serialize.ParseError:
            return dvc_serialize.ParseError


def ours_reads(text: str) -> Any:
    try:
        return parse_yaml(text, "params.yaml") or {}  # DVC reads an empty document as {}
    except PipelineError:
        return dvc_serialize.ParseError


def same(a: Any, b: Any) -> bool:
    """Equality that tells ``true`` from ``1``, ``1`` from ``1.0`` and NaN from NaN."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


# scalars whose type depends on the YAML version or the resolver: the corners DVC's
# reading has (YAML 1.2: `yes` is a string, `010` is 10, `1_000` an int)
TRICKY = [
    "yes", "no", "on", "off", "y", "n", "true", "True", "TRUE", "false", "~", "null", "Null",
    "010", "0o17", "0x1F", "0b101", "1_000", "1e3", "1.0e+3", "1E3", ".5", "-.5", "+1",
    "-0", "0.", ".inf", "-.Inf", ".NaN", "2024-01-01", "2024-01-01 10:00:00", "12:30:45",
    "1:20", "=", "<<", "'quoted'", '"dq\\t"', "a b", "[1, 2]", "{a: 1}", "!!str 1",
    "!!int '7'", "&x 1", "*x", "|", ">", "- x", "a: b", "#c", "@x", "`x", "%x", "0777",
]  # fmt: skip
scalar_text = st.one_of(
    st.sampled_from(TRICKY),
    # ":" included: where the C parser refuses a colon (an empty key, or a colon
    # inside a flow collection) the Python parser decides, as in DVC
    st.text(alphabet="0123456789._-+eEoxXbn~ ytrufalsI:", min_size=1, max_size=8),
)


@st.composite
def documents(draw: st.DrawFn) -> str:
    lines = []
    for i in range(draw(st.integers(1, 5))):
        form = draw(st.sampled_from(["map", "list", "nested", "flow"]))
        value = draw(scalar_text)
        if form == "map":
            lines.append(f"k{i}: {value}")
        elif form == "list":
            lines.append(f"k{i}:\n  - {value}\n  - {draw(scalar_text)}")
        elif form == "nested":
            lines.append(f"k{i}:\n  inner: {value}")
        else:
            lines.append(f"k{i}: [{draw(scalar_text)}, {draw(scalar_text)}]")
    head = draw(st.sampled_from(["", "---\n", "%YAML 1.1\n---\n", "%YAML 1.2\n---\n"]))
    return head + "\n".join(lines) + "\n"


@pytest.mark.filterwarnings("ignore::ruamel.yaml.error.MantissaNoDotYAML1_1Warning")
@settings(max_examples=100)
@given(documents())
@example("%YAML 1.1\n---\na: yes\nb: 010\nc: 0b11\n")
@example("a: yes\nb: 010\nc: 1_000\nd: 0o17\n")
@example("")
@example("# only a comment\n")
@example("a: 1\na: 2\n")  # a duplicate key: refused
@example("a: [1, 2\n")
def test_documents_read_as_dvc_reads_them(text: str) -> None:
    expected = dvc_reads(text)
    got = ours_reads(text)
    assert same(got, expected), (text, got, expected)


@pytest.mark.parametrize("text", [": 1\n", "a:\n  - :\n", "lr: 0.1\n:\n"])
def test_an_empty_key_reads_as_dvc_reads_it(text: str) -> None:
    expected = dvc_reads(text)
    assert expected is not dvc_serialize.ParseError
    assert same(ours_reads(text), expected)


@pytest.mark.parametrize(
    "text",
    [
        "cmd: [echo 12:30]\n",
        "deps: [http://example.com/data.csv]\n",
        "times: [2024-01-01 10:00:00]\n",
        "urls: {train: s3://bucket/train}\n",
        "a: [-:]\n",
    ],
)
def test_a_colon_in_a_flow_collection_reads_as_dvc_reads_it(text: str) -> None:
    expected = dvc_reads(text)
    assert expected is not dvc_serialize.ParseError
    assert same(ours_reads(text), expected)


def _dumped(value: Any) -> str:
    stream = io.StringIO()
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False  # block style, as people write dvc.yaml
    yaml.dump(value, stream)
    return stream.getvalue()


yaml_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**64), 2**64),
        st.floats(allow_nan=False),
        st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=10),
        st.dates(),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.text("abc_-. 1", min_size=1, max_size=6), inner, max_size=3),
    ),
    max_leaves=12,
)


@settings(max_examples=100)
@given(st.dictionaries(st.text("abc_-. 1", min_size=1, max_size=6), yaml_values, max_size=4))
def test_dumped_data_reads_back_as_dvc_reads_it(data: dict[str, Any]) -> None:
    text = _dumped(data)
    got = ours_reads(text)
    assert same(got, dvc_reads(text)), text
    assert got == (data or {})


def test_yaml_12_scalars() -> None:
    value = parse_yaml("a: yes\nb: 010\nc: 1_000\nd: 2024-01-01\ne: ~\nf: .inf\n", "p.yaml")
    assert value == {
        "a": "yes",
        "b": 10,
        "c": 1000,
        "d": datetime.date(2024, 1, 1),
        "e": None,
        "f": math.inf,
    }


def test_a_yaml_11_directive_takes_the_python_parser() -> None:
    assert parse_yaml("%YAML 1.1\n---\na: yes\nb: 010\n", "p.yaml") == {"a": True, "b": 8}
    # a % inside a value is no directive
    assert parse_yaml("a: '%YAML 1.1'\nb: yes\n", "p.yaml") == {"a": "%YAML 1.1", "b": "yes"}


def test_an_empty_document_is_none() -> None:
    assert parse_yaml("", "p.yaml") is None
    assert parse_yaml("# nothing\n", "p.yaml") is None
    assert parse_yaml("0\n", "p.yaml") == 0


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("a: 1\nb: [1, 2\n", 3),
        ("a: 1\n  b: 2\n", 2),
        ("a: 1\na: 2\n", 2),
        ("a: 'unclosed\n", 2),
        ("stages:\n  x:\n    cmd: a\n   deps: b\n", 4),
    ],
)
def test_errors_name_the_file_and_line(text: str, line: int) -> None:
    with pytest.raises(PipelineError) as info:
        parse_yaml(text, "sub/dvc.yaml")
    err = info.value
    assert err.path == "sub/dvc.yaml"
    assert err.line == line
    assert err.what.startswith("invalid YAML: ")
    assert str(err).startswith(f"sub/dvc.yaml:{line}: invalid YAML: ")
    assert err.hint is not None


TEXT = """\
stages:
  train:
    cmd: python train.py
    deps:
      - data.csv
      - train.py
    outs:
      - model.pkl:
          cache: false
vars:
  - params.yaml
"""


@pytest.mark.parametrize(
    ("keypath", "line"),
    [
        (("stages",), 1),
        (("stages", "train"), 2),
        (("stages", "train", "cmd"), 3),
        (("stages", "train", "deps", 1), 6),
        (("stages", "train", "outs", 0, "model.pkl", "cache"), 9),
        (("vars", 0), 11),
        # a missing step: the deepest line reached
        (("stages", "train", "params"), 2),
        (("stages", "train", "deps", 7), 4),
        (("stages", "train", "cmd", "x"), 3),
        (("nothing",), None),
        ((), None),
    ],
)
def test_line_of_a_key_path(keypath: tuple[Any, ...], line: int | None) -> None:
    assert line_of(TEXT, keypath) == line


def test_line_of_invalid_yaml_is_none() -> None:
    assert line_of("a: [1\n", ("a",)) is None


@pytest.mark.parametrize("broken", ["a: [1, 2\n", "%YAML 1.1\n---\na: [1\n", "a: 1\na: 2\n"])
def test_a_refused_document_leaves_the_next_one_read_as_before(broken: str) -> None:
    """A loader that raised keeps its parser's state: the next file, read by the same
    process (status reads several params files), must not inherit it."""
    nxt = "k0: yes\nk2:\n  - yes\n  - :\ncmd: [echo 12:30]\n"
    fresh = ours_reads(nxt)
    assert ours_reads(broken) is dvc_serialize.ParseError
    assert same(ours_reads(nxt), fresh)
    assert same(fresh, dvc_reads(nxt))
