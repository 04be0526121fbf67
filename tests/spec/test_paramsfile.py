"""Reading params and vars files (``mlrepro.spec.paramsfile``).

Files are parsed once per content (issue 15: a 34 MB params.yaml was parsed twice per
command), and a rewrite is always seen, even one that keeps size and mtime. Each
format is read as DVC reads it: DVC's own parsers (``dvc.utils.serialize``: JSON,
TOML through tomlkit, Python through ``ast``) are the oracle on generated files;
Python files are read, never run.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from mlrepro.errors import PipelineError
from mlrepro.spec.paramsfile import load_params_file, parse_params_bytes

dvc_serialize = pytest.importorskip("dvc.utils.serialize")

values = st.integers(min_value=0, max_value=10**6)


@settings(max_examples=50, deadline=None)
@given(first=values, second=values)
def test_a_rewrite_that_keeps_size_and_mtime_is_read(first: int, second: int) -> None:
    scratch = Path(tempfile.mkdtemp(prefix="mlrepro-params-"))
    path = scratch / "params.yaml"
    a, b = f"lr: {first:07d}\n", f"lr: {second:07d}\n"  # the same size, always
    path.write_text(a)
    stamp = os.stat(path).st_mtime_ns
    assert load_params_file(str(path), "params.yaml") == {"lr": first}
    path.write_text(b)
    os.utime(path, ns=(stamp, stamp))
    assert load_params_file(str(path), "params.yaml") == {"lr": second}
    shutil.rmtree(scratch)


def test_the_same_bytes_are_parsed_once(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    path.write_text("train:\n  lr: 0.1\n")
    one = load_params_file(str(path), "params.yaml")
    assert load_params_file(str(path), "params.yaml") is one
    copy = tmp_path / "other.yaml"
    copy.write_text(path.read_text())
    assert load_params_file(str(copy), "other.yaml") == one


def test_a_yaml_11_directive_is_honoured(tmp_path: Path) -> None:
    # ruamel's C parser ignores the directive; such a file takes the Python parser
    path = tmp_path / "params.yaml"
    path.write_text("%YAML 1.1\n---\na: yes\nb: 010\n")
    assert load_params_file(str(path), "params.yaml") == {"a": True, "b": 8}
    path.write_text("a: yes\nb: 010\n")
    assert load_params_file(str(path), "params.yaml") == {"a": "yes", "b": 10}


# -- each format as DVC reads it ---------------------------------------------------------

keys = st.text("abcxyz_", min_size=1, max_size=5)
scalars = st.one_of(
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=8),
)


def same(a: Any, b: Any) -> bool:
    """Equality that tells ``true`` from ``1`` and ``1`` from ``1.0``."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return bool(a == b)


json_values = st.recursive(
    st.one_of(st.none(), scalars),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(keys, inner, max_size=3)),
    max_leaves=10,
)


@settings(max_examples=75)
@given(json_values, st.sampled_from(["params.json", "conf/P.JSON"]))
@example(0, "params.json")
@example([], "params.json")
@example(None, "params.json")
def test_json_is_read_as_dvc_reads_it(value: Any, name: str) -> None:
    text = json.dumps(value, ensure_ascii=False, indent=1)
    assert same(parse_params_bytes(text.encode(), name), dvc_serialize.parse_json(text, name))
    # a metrics file may hold a bare value, 0 included
    assert same(parse_params_bytes(text.encode(), name, raw=True), value)


# TOML: tables of scalars and arrays of one type, as a person writes them
toml_arrays = st.one_of(
    st.lists(st.integers(-(2**63), 2**63 - 1), max_size=3),
    st.lists(st.text("abc é", max_size=4), max_size=3),
    st.lists(st.booleans(), max_size=3),
)
toml_tables = st.recursive(
    st.dictionaries(keys, st.one_of(scalars, toml_arrays), max_size=4),
    lambda inner: st.dictionaries(keys, st.one_of(scalars, toml_arrays, inner), max_size=3),
    max_leaves=12,
)


@settings(max_examples=75)
@given(toml_tables)
def test_toml_is_read_as_dvc_reads_it(table: dict[str, Any]) -> None:
    import tomlkit

    text = tomlkit.dumps(table)
    ours = parse_params_bytes(text.encode(), "params.toml")
    dvc = dvc_serialize.parse_toml(text, "params.toml")
    assert same(ours, dvc)  # key order too: it is the order of `--key value` in a cmd
    assert ours == table


# Python: assignments of literals (and of expressions that are not, which are skipped),
# annotated ones, classes as nested mappings, self.x in __init__
py_literals = st.recursive(
    st.one_of(st.none(), scalars),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.lists(inner, max_size=3).map(tuple),
        st.dictionaries(keys, inner, max_size=3),
        st.sets(st.integers(0, 9), max_size=3),
    ),
    max_leaves=8,
)
not_literals = st.sampled_from(["f(1)", "x", "1 + 2", "[i for i in range(3)]", "{**d}", "[x, 1]"])
py_values = st.one_of(py_literals.map(repr), not_literals)


@st.composite
def py_statements(draw: st.DrawFn, depth: int = 0) -> list[str]:
    out = []
    for _ in range(draw(st.integers(0, 4))):
        name = draw(keys)
        form = draw(st.sampled_from(["assign", "annotated", "bare", "multi", "class", "init"]))
        value = draw(py_values)
        if form == "assign":
            out.append(f"{name} = {value}")
        elif form == "annotated":
            out.append(f"{name}: object = {value}")
        elif form == "bare":
            out.append(f"{name}: int")
        elif form == "multi":
            out.append(f"{name} = {name}_b = {value}")  # two targets: skipped
        elif form == "class" and depth < 2:
            body = draw(py_statements(depth + 1)) or ["pass"]
            out.append(f"class {name.upper()}:")
            out.extend("    " + line for line in body)
        elif form == "init":
            out.append("def __init__(self):")
            out.append(f"    self.{name} = {value}")
            out.append(f"    {name}_local = {value}")  # not self.x: skipped
    return out


@settings(max_examples=75)
@given(py_statements())
@example(
    [
        "LR = 0.1",
        "class Train:",
        "    epochs = 3",
        "    def __init__(self):",
        "        self.seed = 7",
    ]
)
def test_python_is_read_as_dvc_reads_it(lines: list[str]) -> None:
    text = "\n".join(lines) + "\n"
    assert same(parse_params_bytes(text.encode(), "params.py"), dvc_serialize.parse_py(text, "p"))


def test_python_files_are_read_never_run(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    path = tmp_path / "params.py"
    path.write_text(f"import pathlib\npathlib.Path({str(marker)!r}).write_text('x')\nlr = 0.5\n")
    assert load_params_file(str(path), "params.py") == {"lr": 0.5}
    assert not marker.exists()


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("params.yaml", b"", {}),
        ("params.yaml", b"0\n", {}),
        ("params.yaml", b"[]\n", {}),
        ("params.yml", b"a: 1\n", {"a": 1}),
        ("params", b"a: 1\n", {"a": 1}),  # no extension: YAML, as in DVC
        ("params.txt", b'{"a": 1}\n', {"a": 1}),
        ("params.json", b"0", {}),
        ("params.json", b"false", {}),
        ("params.toml", b"", {}),
        ("params.py", b"", {}),
        ("params.PY", b"a = 1\n", {"a": 1}),
        ("params.Toml", b"a = 1\n", {"a": 1}),
    ],
)
def test_the_format_is_chosen_by_extension(name: str, data: bytes, expected: Any) -> None:
    assert same(parse_params_bytes(data, name), expected)


@pytest.mark.parametrize(
    ("name", "data", "raw"),
    [("metrics.json", b"0", 0), ("metrics.yaml", b"0\n", 0), ("m.json", b"[]", [])],
)
def test_raw_keeps_a_bare_value(name: str, data: bytes, raw: Any) -> None:
    assert same(parse_params_bytes(data, name, raw=True), raw)


@pytest.mark.parametrize(
    ("name", "data", "message", "line"),
    [
        ("conf/p.json", b'{\n  "a": 1,\n}\n', "invalid JSON: ", 3),
        ("p.toml", b"a = 1\na = 2\n", "invalid TOML: ", None),
        ("p.py", b"x = 1\ndef (:\n", "invalid Python: ", 2),
        ("params.yaml", b"a: [1\n", "invalid YAML: ", 2),
        ("params.yaml", b"a: \xff\n", "is not valid UTF-8 text", None),
        ("p.json", b"\xfe\xff", "is not valid UTF-8 text", None),
    ],
)
def test_errors_name_the_file(
    name: str, data: bytes, message: str, line: int | None, tmp_path: Path
) -> None:
    with pytest.raises(PipelineError) as info:
        parse_params_bytes(data, name)
    assert info.value.path == name
    assert info.value.what.startswith(message)
    assert info.value.line == line
    # the same through a file on disk
    path = tmp_path / os.path.basename(name)
    path.write_bytes(data)
    with pytest.raises(PipelineError):
        load_params_file(str(path), name)


def test_a_missing_file_is_an_os_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_params_file(str(tmp_path / "nope.yaml"), "nope.yaml")
