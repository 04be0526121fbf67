"""Property tests of the loader's parsers against DVC's own functions.

DVC (a test dependency) is the oracle: its expression parser, its string
rendering of values and its .dvcignore matcher are called directly on the
same generated inputs as mlrepro's.
"""

from __future__ import annotations

import string

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from mlrepro.errors import PipelineError
from mlrepro.spec import template
from mlrepro.spec.ignore import parse_patterns, rules_match

dvc_interpolate = pytest.importorskip("dvc.parsing.interpolate")

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


segments = st.sampled_from(["a", "b", "data", "x.csv", "y.txt", "deep", "dvc.yaml"])
rel_paths = st.lists(segments, min_size=1, max_size=4).map("/".join)
pattern_atoms = st.sampled_from(
    [
        "a",
        "b",
        "data",
        "*",
        "*.csv",
        "?",
        "**",
        "x.*",
        "[ab]",
        "deep",
        "dvc.yaml",
        "[!a]",
        "[a",
        "d*a",
        "\\*",
        "",
    ]
)
patterns = st.builds(
    lambda neg, lead, parts, trail: (
        ("!" if neg else "") + ("/" if lead else "") + "/".join(parts) + ("/" if trail else "")
    ),
    st.booleans(),
    st.booleans(),
    st.lists(pattern_atoms, min_size=1, max_size=3),
    st.booleans(),
)


@given(st.lists(patterns, min_size=1, max_size=4), rel_paths, st.booleans())
@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow])
def test_dvcignore_patterns_match_like_dvc(pats: list[str], path: str, is_dir: bool) -> None:
    from dvc.ignore import DvcIgnorePatterns

    try:
        spec = DvcIgnorePatterns(pats, "/root", "/")
    except ValueError:
        # DVC refuses the file; so does mlrepro, naming the line.
        with pytest.raises(PipelineError, match=r"\.dvcignore:\d+"):
            parse_patterns("\n".join(pats))
        return
    # Walking prunes ignored folders, so a path is only ever asked about
    # when none of its parent folders is ignored.
    parts = path.split("/")
    assume(not any(spec.matches("/root", "/".join(parts[:i]), True) for i in range(1, len(parts))))
    expected = spec.matches("/root", path, is_dir)
    got = rules_match(parse_patterns("\n".join(pats)), path, is_dir) is True
    assert got == expected, (pats, path, is_dir)
