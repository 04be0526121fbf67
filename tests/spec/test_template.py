"""DVC's ``${...}`` templating (``mlrepro.spec.template``) against DVC's own functions.

DVC (a test dependency) is the oracle: its expression parser, its string rendering
of values and its interpolation are called directly on the same generated inputs as
mlrepro's.
"""

from __future__ import annotations

import datetime
import string
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from mlrepro.spec import template
from mlrepro.spec.template import (
    Context,
    KeyNotFound,
    Ref,
    TemplateError,
    UnsupportedValue,
    check_syntax,
    has_interpolation,
    is_map_or_seq,
    to_context,
    unref,
)

dvc_interpolate = pytest.importorskip("dvc.parsing.interpolate")
dvc_context = pytest.importorskip("dvc.parsing.context")

EXPR_ALPHABET = "ab01 .[]\t-_$"


def dvc_parse(s: str) -> str | None:
    try:
        return str(dvc_interpolate.parse_expr(s))
    except dvc_interpolate.ParseError:
        return None


def ours_parse(s: str) -> str | None:
    try:
        return template.parse_expr(s)
    except template.TemplateError:
        return None


@given(st.text(alphabet=EXPR_ALPHABET, max_size=12))
@example("a[0] .b")
@example("a\tb")
@example(" ")
@example("a[ 0 ]  [1]")
@settings(max_examples=1500)
def test_expression_syntax_matches_dvc(s: str) -> None:
    assert ours_parse(s) == dvc_parse(s)


scalars = st.one_of(
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=False, allow_infinity=True),
    st.text(alphabet=string.ascii_letters + " '\"-=$", max_size=8),
    st.none(),
)
keys = st.text(alphabet=string.ascii_lowercase + "_-", min_size=1, max_size=5)
cmd_dicts = st.recursive(
    st.dictionaries(
        keys,
        st.one_of(
            scalars,
            st.lists(st.one_of(st.booleans(), st.integers(), st.text(max_size=4)), max_size=3),
        ),
        max_size=4,
    ),
    lambda inner: st.dictionaries(keys, inner, max_size=3),
    max_leaves=10,
)


@given(st.one_of(scalars, cmd_dicts))
@settings(max_examples=500)
def test_value_rendering_matches_dvc(value: object) -> None:
    try:
        expected = dvc_interpolate.to_str(value)
    except dvc_interpolate.ParseError:
        with pytest.raises(template.TemplateError):
            template.to_str(value)
        return
    assert template.to_str(value) == expected


def test_context_values_render_like_dvc_nodes() -> None:
    # DVC names stages generated from context values with str(): True, not true.
    assert template.to_str(template.Ref(True)) == "True"
    assert template.to_str(True) == "true"


# -- interpolation in a context, against DVC's Context ---------------------------------

ctx_keys = st.sampled_from(["a", "b", "lr", "x_1", "dir"])
ctx_scalars = st.one_of(
    st.booleans(),
    st.integers(-100, 100),
    st.floats(-10, 10, allow_nan=False),
    st.text(alphabet="ab -_/'", max_size=5),
    st.none(),
)
ctx_data = st.dictionaries(
    ctx_keys,
    st.recursive(
        ctx_scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=3), st.dictionaries(ctx_keys, inner, max_size=3)
        ),
        max_leaves=8,
    ),
    max_size=4,
)


def expressions(data: Any, prefix: str = "") -> list[str]:
    """Every path into ``data`` in DVC's syntax (``a.b``, ``a[0]``, ``a.0``)."""
    out = []
    if isinstance(data, dict):
        for k, v in data.items():
            here = f"{prefix}.{k}" if prefix else k
            out.append(here)
            out.extend(expressions(v, here))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            for here in (f"{prefix}[{i}]", f"{prefix}.{i}"):
                out.append(here)
                out.extend(expressions(v, here))
    return out


@st.composite
def templates(draw: st.DrawFn, data: dict[str, Any]) -> str:
    known = expressions(data) or ["a"]
    pieces = []
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["text", "ref", "ref", "missing", "escaped"]))
        if kind == "text":
            pieces.append(draw(st.text(alphabet="ab -${}\\", max_size=4)))
        elif kind == "ref":
            pieces.append("${" + draw(st.sampled_from(known)) + "}")
        elif kind == "missing":
            pieces.append("${" + draw(st.sampled_from(["nope", "a.nope", "a[9]", "lr.x"])) + "}")
        else:
            pieces.append("\\${" + draw(st.sampled_from(known)) + "}")
    return "".join(pieces)


def dvc_resolves(data: dict[str, Any], src: str, field: str | None) -> Any:
    try:
        return ("ok", dvc_context.Context(data).resolve_str(src, key=field))
    except (dvc_interpolate.ParseError, dvc_context.ContextError):
        return ("refused", None)


def ours_resolves(data: dict[str, Any], src: str, field: str | None) -> Any:
    context = Context()
    context.merge(to_context(data, "params.yaml"), "params.yaml")
    try:
        return ("ok", context.resolve_str(src, field=field))
    except TemplateError:
        return ("refused", None)


@settings(max_examples=100)
@given(st.data(), ctx_data, st.sampled_from([None, "cmd", "deps", "outs", "foreach"]))
def test_interpolation_matches_dvc(data: st.DataObject, values: dict[str, Any], field: Any) -> None:
    src = data.draw(templates(values))
    got = ours_resolves(values, src, field)
    expected = dvc_resolves(values, src, field)
    assert got == expected, (src, values, field)
    assert [type(v) for v in got] == [type(v) for v in expected]


@settings(max_examples=100)
@given(ctx_data, ctx_data)
def test_merging_matches_dvc(first: dict[str, Any], second: dict[str, Any]) -> None:
    ours = Context()
    ours.merge(first, "params.yaml")
    dvc = dvc_context.Context(first)
    try:
        dvc.merge_update(dvc_context.Context(second))
    except dvc_context.ContextError:
        with pytest.raises(TemplateError, match="cannot redefine"):
            ours.merge(second, "vars[0]")
        return
    ours.merge(second, "vars[0]")
    assert ours.data == dvc.value


# -- the module's own rules -----------------------------------------------------------


def test_an_exact_reference_keeps_the_type() -> None:
    context = Context()
    context.merge({"n": 3, "on": True, "d": {"x": [1, 2]}, "none": None}, "p")
    assert context.resolve_str("${n}", field="cmd") == 3
    assert context.resolve_str("${on}", field="deps") is True
    assert context.resolve_str("${none}", field="deps") is None
    assert context.resolve_str("${d.x}", field=None) == [1, 2]
    assert context.resolve_str("${d.x}", field=None, unwrap=False) == Ref([1, 2])
    # inside a larger string: rendered, booleans as DVC writes them
    assert context.resolve_str("n=${n} on=${on} none=${none}", field="cmd") == (
        "n=3 on=true none=None"
    )


def test_only_cmd_takes_a_mapping_inside_a_string() -> None:
    context = Context()
    context.merge({"opts": {"lr": 0.1, "fast": True, "slow": False, "tags": ["a b", "c"]}}, "p")
    assert context.resolve_str("train ${opts}", field="cmd") == (
        "train --lr 0.1 --fast --tags 'a b' c"
    )
    with pytest.raises(TemplateError, match="cannot interpolate data of type 'dict'"):
        context.resolve_str("train ${opts}", field="deps")
    with pytest.raises(TemplateError, match="cannot interpolate data of type 'list'"):
        context.resolve_str("x ${opts.tags}", field="cmd")


def test_an_escaped_reference_is_left_as_text() -> None:
    context = Context()
    context.merge({"a": 1}, "p")
    assert context.resolve_str("\\${a} ${a}", field="cmd") == "${a} 1"
    assert not has_interpolation("\\${a}")
    assert has_interpolation({"k": ["x", "${a}"]})
    assert has_interpolation({"${a}": "x"})
    assert not has_interpolation({"k": [1, None, "plain $a {a}"]})


def test_an_undefined_variable_names_the_expression() -> None:
    # in its dotted form, as DVC names it ("Could not find 'a.b.3'")
    context = Context()
    context.merge({"a": {"b": [1]}}, "p")
    for expr, named in [("nope", "nope"), ("a.c", "a.c"), ("a.b[3]", "a.b.3"), ("a.b.x", "a.b.x")]:
        with pytest.raises(KeyNotFound) as info:
            context.resolve_str("x ${" + expr + "}", field="cmd")
        assert str(info.value) == f"undefined variable '${{{named}}}'"
        assert info.value.expr == named


def test_resolve_walks_lists_and_mappings_keys_too() -> None:
    context = Context()
    context.merge({"k": "name", "v": 2}, "p")
    resolved = context.resolve({"${k}": ["${v}", {"x": "a-${v}"}], "n": 5}, field="outs")
    assert resolved == {"name": [2, {"x": "a-2"}], "n": 5}


def test_check_syntax_finds_the_first_malformed_expression() -> None:
    check_syntax({"cmd": "echo ${a.b} ${c[0]}", "deps": ["${d}"], "n": 3})
    for bad in ("${}", "${a.}", "${a[0}", "${.a}", "${a..b}"):
        with pytest.raises(TemplateError, match="invalid expression"):
            check_syntax({"outs": ["ok", bad]})
    with pytest.raises(TemplateError):
        check_syntax({"${a[}": "x"})


def test_to_context_keeps_string_keys_and_refuses_other_values() -> None:
    assert to_context({"a": 1, 2: "dropped", "b": {True: 1, "c": [None, 1.5]}}, "p") == {
        "a": 1,
        "b": {"c": [None, 1.5]},
    }
    with pytest.raises(UnsupportedValue) as info:
        to_context({"a": {"when": datetime.date(2024, 1, 1)}}, "'params.yaml'")
    assert info.value.keypath == ("a", "when")
    assert "'date' at 'a.when'" in str(info.value)
    assert to_context(Ref({"x": 1}), "p") == {"x": 1}


def test_merging_refuses_to_redefine_a_value() -> None:
    context = Context()
    context.merge({"a": {"b": 1}}, "'params.yaml'")
    context.merge({"a": {"c": 2}}, "vars[0]")  # mappings merge
    assert context.data == {"a": {"b": 1, "c": 2}}
    with pytest.raises(TemplateError, match=r"cannot redefine 'a.b' from vars\[1\]"):
        context.merge({"a": {"b": 3}}, "vars[1]")


def test_temporarily_sets_reserved_keys_and_restores_the_context() -> None:
    context = Context()
    context.merge({"item": "outer", "x": 1}, "p")
    with context.temporarily({"item": {"v": 2}, "key": "k"}):
        assert context.resolve_str("${item.v}-${key}-${x}", field="cmd") == "2-k-1"
        with pytest.raises(TemplateError, match="attempted to modify reserved key"):
            context.merge({"key": 1}, "vars[0]")
        with pytest.raises(TemplateError, match="reserved keys 'item', 'key'"):
            context.merge({"key": 1, "item": 2}, "vars[0]")
    assert context.data == {"item": "outer", "x": 1}
    assert context.reserved == set()
    context.merge({"key": 1}, "vars[0]")  # no longer reserved


def test_a_clone_is_independent() -> None:
    context = Context()
    context.merge({"a": {"b": 1}, "l": [1]}, "p")
    context.imports["params.yaml"] = ["a"]
    clone = context.clone()
    clone.merge({"a": {"c": 2}}, "vars[0]")
    clone.imports["params.yaml"].append("l")
    assert context.data == {"a": {"b": 1}, "l": [1]}
    assert context.imports == {"params.yaml": ["a"]}
    assert clone.data == {"a": {"b": 1, "c": 2}, "l": [1]}


def test_refs_and_their_values() -> None:
    value = {"a": Ref([1, Ref(2)]), "b": [Ref({"c": 3})]}
    assert unref(value) == {"a": [1, Ref(2)], "b": [{"c": 3}]}
    assert is_map_or_seq(Ref([1])) and is_map_or_seq((1,)) and is_map_or_seq({})
    assert not is_map_or_seq(Ref("x")) and not is_map_or_seq("x")
