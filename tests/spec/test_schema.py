"""The ``dvc.yaml`` schema (``mlrepro.spec.schema``), checked on the raw file.

DVC is the oracle: its own compiled schema (``dvc.schema.COMPILED_MULTI_STAGE_SCHEMA``,
the one ``dvc.dvcfile`` validates a pipeline file with) judges the same generated
documents, which mix valid and wrong values for every field. mlrepro must accept and
refuse the same ones, and name the path of the first problem.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from mlrepro.spec.schema import (
    SchemaViolation,
    any_of,
    is_bool,
    is_str,
    list_of,
    mapping,
    str_keys,
    validate_dvcyaml,
)

dvc_schema = pytest.importorskip("dvc.schema")
voluptuous = pytest.importorskip("voluptuous")


def dvc_accepts(data: Any) -> bool:
    try:
        dvc_schema.COMPILED_MULTI_STAGE_SCHEMA(data)
    except voluptuous.Invalid:
        return False
    return True


def ours_accepts(data: Any) -> bool:
    try:
        validate_dvcyaml(data)
    except SchemaViolation:
        return False
    return True


ANY = ["x", "", 1, 1.5, True, None, [], ["a"], [1], {}, {"a": "b"}, {1: "a"}]
OUT_ENTRIES = [
    "o",
    {"o": {}},
    {"o": {"cache": False, "persist": True, "push": False, "remote": "r"}},
    {"o": {"checkpoint": True, "desc": "d", "type": "t", "labels": ["l"], "meta": {"k": 1}}},
    {"o": {"cache": "no"}},
    {"o": {"labels": "l"}},
    {"o": {"x": "step"}},
    {"o": None},
    {"o": []},
    {1: {}},
    {"o": {}, "p": {"persist": True}},
    1,
]
PLOT_ENTRIES = [
    "p.csv",
    {"p.csv": {"x": "a", "y": "b", "template": "t", "header": False, "title": "t"}},
    {"p.csv": [{"x": "a"}, {"y": "b"}]},
    {"p.csv": []},
    {"p.csv": {"header": "no"}},
    {"p.csv": {"cache": False, "x_label": "x", "y_label": "y"}},
    {"p.csv": {"z": 1}},
    {"p.csv": None},
]
STAGE_FIELDS: dict[str, list[Any]] = {
    "cmd": ["python train.py", ["a", "b"], [], [1], 1, None, {"a": 1}],
    "wdir": ["sub", "${d}", 1, None],
    "deps": [["a", "b"], [], ["${x}"], "a", [1], None, [["a"]]],
    "params": [["lr"], [{"p.yaml": ["a"]}], [{"p.yaml": None}], [1], "lr", [["lr"]], []],
    "vars": [["p.yaml"], [{"a": 1}], ["p.yaml:a,b", {}], [1], "p.yaml", [[]]],
    "frozen": [True, False, "yes", 1, None],
    "always_changed": [True, "true", 0],
    "meta": [{"a": 1}, None, "x", [1]],
    "desc": ["d", 1, None],
    "outs": [[e] for e in OUT_ENTRIES] + [[], "o", None],
    "metrics": [[e] for e in OUT_ENTRIES[:6]] + [["m.json", "n.json"], "m"],
    "plots": [[e] for e in PLOT_ENTRIES] + [[], "p"],
    "matrix": [{"x": [1, 2]}, {"x": "${m}"}, {"x": 1}, {1: [1]}, [], {}, "${m}"],
    "foreach": [[1, 2], {"a": 1}, "${l}", 1],
    "do": [{"cmd": "x"}, {"deps": ["a"]}, "x"],
    "unknown": [1, "x"],
}
TOP_FIELDS: dict[str, list[Any]] = {
    "vars": [["params.yaml"], [{"a": 1}], "params.yaml", [1], []],
    "params": [["p.yaml"], [{"p.yaml": ["a"]}], "p.yaml", []],
    "metrics": [["m.json"], [{"m.json": {}}], "m.json"],
    "plots": [
        ["p.csv"],
        [{"id": {"x": "a", "y": ["b", "c"]}}],
        [{"id": {"y": {"p.csv": ["a"], "q.csv": "b"}, "x": {"p.csv": "a"}}}],
        [{"id": None}],
        [{}],
        [{"id": {"header": True}}],
        [{"id": {"x": 1}}],
        [{"id": {"y": {"p.csv": [1]}}}],
        "p.csv",
    ],
    "artifacts": [
        {"model": {"path": "m.pkl", "type": "model", "desc": "d", "labels": ["a"]}},
        {"model": {"type": "model"}},
        {"model": {"path": "m.pkl", "extra": 1}},
        {"model": "m.pkl"},
        {1: {"path": "m"}},
        [],
    ],
    "datasets": [[{"name": "d", "type": "dvc"}], "anything", None],
    "live": [{"dir": "logs"}],
}


@st.composite
def stages(draw: st.DrawFn) -> dict[str, Any]:
    names = draw(st.lists(st.sampled_from(list(STAGE_FIELDS)), max_size=5, unique=True))
    stage: dict[str, Any] = {}
    for name in names:
        values = STAGE_FIELDS[name] if draw(st.integers(0, 4)) else ANY
        stage[name] = draw(st.sampled_from(values))
    if draw(st.integers(0, 3)) and "foreach" not in stage and "do" not in stage:
        stage.setdefault("cmd", "x")
    return stage


@st.composite
def documents(draw: st.DrawFn) -> Any:
    if not draw(st.integers(0, 20)):
        return draw(st.sampled_from(ANY))  # not a mapping at all
    doc: dict[Any, Any] = {}
    for name in draw(st.lists(st.sampled_from(list(TOP_FIELDS)), max_size=3, unique=True)):
        doc[name] = draw(st.sampled_from(TOP_FIELDS[name]))
    if draw(st.integers(0, 5)):
        names = draw(st.lists(st.sampled_from(["a", "b", "c@d", "", 1]), max_size=3, unique=True))
        defs = {}
        for name in names:
            definition = draw(stages())
            if "do" in definition and isinstance(definition["do"], dict):
                definition["do"] = {**draw(stages()), **definition["do"]}
            defs[name] = definition
        doc["stages"] = defs if draw(st.integers(0, 10)) else draw(st.sampled_from(ANY))
    return doc


@settings(max_examples=100)
@given(documents())
@example({"stages": {"a": {"cmd": "x", "plots": [{"p.csv": [{"x": "a"}, {"y": "b"}]}]}}})
@example({"stages": {"a": {"foreach": [1], "do": {"cmd": "x"}, "desc": "d"}}})
@example({"stages": {"a": {"foreach": [1], "matrix": {"x": [1]}, "do": {"cmd": "x"}}}})
@example({"stages": {"a": {"do": {"cmd": "x"}}}})
@example({"stages": {"a": {"matrix": "${m}", "cmd": "x"}}})
@example({"plots": [{}]})
@example({"stages": None})
@example({})
def test_documents_are_judged_as_dvc_judges_them(doc: Any) -> None:
    assert ours_accepts(doc) == dvc_accepts(doc), doc


@pytest.mark.parametrize(
    ("doc", "path", "message"),
    [
        ({"stage": {}}, ("stage",), "unknown key 'stage' (allowed: "),
        ({"stages": {"a": {"deps": ["x"]}}}, ("stages", "a"), "missing required key 'cmd'"),
        (
            {"stages": {"a": {"cmd": "x", "deps": ["ok", 3]}}},
            ("stages", "a", "deps", 1),
            "expected a string, got int",
        ),
        (
            {"stages": {"a": {"cmd": "x", "outs": [{"o": {"cache": "no"}}]}}},
            ("stages", "a", "outs", 0, "o", "cache"),
            "expected true or false, got string",
        ),
        (
            {"stages": {"a": {"cmd": "x", "frozen": None}}},
            ("stages", "a", "frozen"),
            "expected true or false, got null",
        ),
        (
            {"stages": {"a": {"foreach": [1], "do": {"cmd": "x"}, "wdir": "w"}}},
            ("stages", "a", "wdir"),
            "unknown key 'wdir' in a foreach stage (allowed: do, foreach)",
        ),
        (
            {"stages": {"a": {"cmd": 1}}},
            ("stages", "a", "cmd"),
            "expected a string or a list of strings, got int",
        ),
        ({"stages": {1: {"cmd": "x"}}}, ("stages", 1), "key 1 must be a string"),
        ({"plots": [{}]}, ("plots", 0), "expected a path or {id: properties}, got mapping"),
        ([1], (), "expected a mapping, got list"),
    ],
)
def test_a_violation_names_its_path(doc: Any, path: tuple[Any, ...], message: str) -> None:
    with pytest.raises(SchemaViolation) as info:
        validate_dvcyaml(doc)
    assert info.value.path == path
    assert info.value.message.startswith(message)
    assert str(info.value) == info.value.message
    assert not dvc_accepts(doc)


def test_the_deepest_failing_alternative_is_reported() -> None:
    check = any_of(is_str, str_keys(mapping({"cache": is_bool})), expected="a path or flags")
    check("o", ())
    check({"o": {"cache": True}}, ())
    with pytest.raises(SchemaViolation) as info:
        check({"o": {"cache": 1}}, ("outs", 0))
    assert info.value.path == ("outs", 0, "o", "cache")
    with pytest.raises(SchemaViolation) as info:
        check(5, ("outs", 0))
    assert (info.value.path, info.value.message) == (
        ("outs", 0),
        "expected a path or flags, got int",
    )


def test_combinators() -> None:
    list_of(is_str)([], ("deps",))
    with pytest.raises(SchemaViolation, match="expected a list, got string"):
        list_of(is_str)("a", ("deps",))
    with pytest.raises(SchemaViolation, match="expected a non-empty mapping"):
        str_keys(is_str, non_empty=True)({}, ())
    strict = mapping({"a": is_str}, required=("a",), what=" in x")
    strict({"a": "1"}, ())
    with pytest.raises(SchemaViolation, match="unknown key 'b' in x"):
        strict({"a": "1", "b": 2}, ())
    with pytest.raises(SchemaViolation, match="missing required key 'a' in x"):
        strict({}, ())
