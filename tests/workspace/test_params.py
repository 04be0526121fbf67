"""Current values of tracked params (mlrepro.workspace.params): dotted keys into nested
mappings and lists, whole files, and the errors for what is missing. Real files; the
parser of each format is the spec layer's (tests/spec/test_paramsfile.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from ruamel.yaml import YAML

from mlrepro.errors import PipelineError
from mlrepro.workspace.params import ParamsReader, lookup

KEY = st.text("abcxyz_", min_size=1, max_size=5)
LEAF = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-1000, 1000),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=5),
)
TREE = st.recursive(
    st.dictionaries(KEY, LEAF, max_size=3),
    lambda inner: (
        st.dictionaries(KEY, inner | LEAF, max_size=3)
        | st.lists(inner | LEAF, min_size=1, max_size=3)
    ),
    max_leaves=10,
).filter(lambda t: isinstance(t, dict))


def paths_in(node: Any, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    """Every (path, value) reachable in ``node``, lists addressed by index."""
    found: list[tuple[tuple[str, ...], Any]] = []
    items = node.items() if isinstance(node, dict) else enumerate(node)
    for k, v in items:
        path = (*prefix, str(k))
        found.append((path, v))
        if isinstance(v, dict | list):
            found.extend(paths_in(v, path))
    return found


@given(tree=TREE)
def test_lookup_reaches_every_value_by_its_dotted_key(tree: dict[str, Any]) -> None:
    for path, value in paths_in(tree):
        assert lookup(tree, ".".join(path)) == value


@given(tree=TREE, key=st.lists(KEY | st.integers(-5, 5).map(str), min_size=1, max_size=4))
def test_lookup_of_an_absent_key_is_missing_not_an_error(
    tree: dict[str, Any], key: list[str]
) -> None:
    dotted = ".".join(key)
    present = dict(paths_in(tree))
    result = lookup(tree, dotted)
    if tuple(key) in present:
        assert result == present[tuple(key)]
    elif not any(k.startswith("-") for k in key):
        assert result is lookup({}, "x")  # the one "missing" marker


def test_negative_list_indexes_count_from_the_end() -> None:
    data = {"layers": [10, 20, 30]}
    assert lookup(data, "layers.-1") == 30
    assert lookup(data, "layers.-3") == 10
    missing = lookup({}, "x")
    assert lookup(data, "layers.-4") is missing
    assert lookup(data, "layers.3") is missing
    assert lookup(data, "layers.x") is missing
    assert lookup({"a": 1}, "a.b") is missing  # not into a scalar


@given(tree=TREE)
@example(tree={"_": "0E0"})  # a string a YAML 1.1 writer would leave unquoted
def test_the_reader_gives_the_same_values_from_yaml_and_json(tree: dict[str, Any]) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        # written by a YAML 1.2 writer, as params files are read: PyYAML (1.1) leaves a
        # string such as "0E0" unquoted, which YAML 1.2 (and DVC) reads as the float 0.0
        with Path(d, "p.yaml").open("w", encoding="utf-8") as f:
            YAML(typ="safe", pure=True).dump(tree, f)
        Path(d, "p.json").write_text(json.dumps(tree), encoding="utf-8")
        reader = ParamsReader(d)
        assert reader.values("p.yaml", None, stage="s") == tree
        assert reader.values("p.json", None, stage="s") == tree
        keys = tuple(".".join(p) for p, _ in paths_in(tree))
        if keys:
            picked = reader.values("p.yaml", keys, stage="s")
            assert picked == {k: lookup(tree, k) for k in keys}


def test_the_tracked_keys_are_read_by_dotted_path(tmp_path: Path) -> None:
    (tmp_path / "params.yaml").write_text(
        "train:\n  lr: 0.01\n  layers: [64, 32]\nseed: 7\nunused: x\n", encoding="utf-8"
    )
    reader = ParamsReader(str(tmp_path))
    got = reader.values("params.yaml", ("train.lr", "train.layers.1", "seed"), stage="s")
    assert got == {"train.lr": 0.01, "train.layers.1": 32, "seed": 7}
    # the whole file: top-level keys only, as strings
    (tmp_path / "nums.yaml").write_text("1: one\nfalse: no\n", encoding="utf-8")
    assert reader.values("nums.yaml", None, stage="s") == {"1": "one", "False": "no"}


def test_a_file_is_read_once_per_reader(tmp_path: Path) -> None:
    p = tmp_path / "params.yaml"
    p.write_text("lr: 1\n", encoding="utf-8")
    reader = ParamsReader(str(tmp_path))
    assert reader.values("params.yaml", ("lr",), stage="s") == {"lr": 1}
    p.write_text("lr: 2\n", encoding="utf-8")
    assert reader.values("params.yaml", ("lr",), stage="s") == {"lr": 1}
    assert ParamsReader(str(tmp_path)).values("params.yaml", ("lr",), stage="s") == {"lr": 2}


def test_a_missing_file_or_key_names_it_and_the_stage(tmp_path: Path) -> None:
    reader = ParamsReader(str(tmp_path))
    with pytest.raises(PipelineError) as err:
        reader.values("params.yaml", ("lr",), stage="train")
    assert "params file 'params.yaml' does not exist" in str(err.value)
    assert err.value.stage == "train"
    (tmp_path / "params.yaml").write_text("lr: 1\nopt: {name: adam}\n", encoding="utf-8")
    reader = ParamsReader(str(tmp_path))
    with pytest.raises(PipelineError, match=r"param 'opt\.beta' is missing from 'params\.yaml'"):
        reader.values("params.yaml", ("lr", "opt.beta"), stage="train")


def test_a_file_that_is_not_a_mapping_is_refused(tmp_path: Path) -> None:
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n", encoding="utf-8")
    with pytest.raises(PipelineError, match="must hold a mapping") as err:
        ParamsReader(str(tmp_path)).values("list.yaml", None, stage="s")
    assert err.value.path == "list.yaml"


def test_an_empty_file_tracked_whole_has_no_values(tmp_path: Path) -> None:
    (tmp_path / "empty.yaml").write_text("", encoding="utf-8")
    assert ParamsReader(str(tmp_path)).values("empty.yaml", None, stage="s") == {}


@pytest.mark.parametrize("scalar", ["-_", "+_"])
def test_a_sign_and_underscores_is_a_string_or_a_pipeline_error(
    tmp_path: Path, scalar: str
) -> None:
    (tmp_path / "params.yaml").write_text(f"a: {scalar}\n", encoding="utf-8")
    try:
        got = ParamsReader(str(tmp_path)).values("params.yaml", ("a",), stage="s")
    except PipelineError:
        return
    assert got == {"a": scalar}
