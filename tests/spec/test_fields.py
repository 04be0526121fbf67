"""A stage's ``params`` and outputs from their dvc.yaml entries (``mlrepro.spec.fields``).

DVC is the oracle for the merging: its own ``_merge_params``
(``dvc.dependency``) and ``_merge_data`` (``dvc.output``) run on the same generated
entry lists. A file named with no keys is tracked whole, bare keys belong to
``params.yaml`` in the stage's folder, entries naming one output are merged with the
later flags winning; paths come out relative to the project root.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from mlrepro.spec.fields import DEFAULT_PARAMS_FILE, merge_outs, merge_params
from mlrepro.spec.model import Out

dvc_dependency = pytest.importorskip("dvc.dependency")
dvc_output = pytest.importorskip("dvc.output")


class Refused(Exception):
    def __init__(self, what: str, key: str) -> None:
        super().__init__(what)
        self.key = key


def fail(what: str, key: str) -> Refused:
    return Refused(what, key)


param_files = st.sampled_from([DEFAULT_PARAMS_FILE, "p.yaml", "conf/q.json"])
param_keys = st.sampled_from(["lr", "a.b", "epochs", "seed", "z"])
param_entries = st.one_of(
    param_keys,
    st.dictionaries(
        param_files,
        st.one_of(
            st.lists(param_keys, max_size=3),
            st.none(),
            st.sampled_from(["", 0, "lr", {"a": 1}]),  # empty: whole file; others refused
        ),
        max_size=2,
    ),
    st.sampled_from([1, ["lr"], None]),  # neither a key nor a mapping: refused
)


def dvc_params(entries: list[Any]) -> Any:
    try:
        merged = dvc_dependency._merge_params(entries)
    except ValueError:
        return Refused
    return {path: (tuple(sorted(set(keys))) if keys else None) for path, keys in merged.items()}


def ours_params(entries: list[Any]) -> Any:
    try:
        return merge_params(entries, ".", fail)
    except Refused:
        return Refused


@settings(max_examples=100)
@given(st.lists(param_entries, max_size=4))
@example(["lr", {"params.yaml": None}, "epochs"])  # the whole file wins over its keys
@example([{"p.yaml": ["b", "a"]}, {"p.yaml": ["a", "c"]}])
@example([{"p.yaml": []}, {"p.yaml": ["a"]}])
def test_params_merge_as_dvc_merges_them(entries: list[Any]) -> None:
    assert ours_params(entries) == dvc_params(entries), entries


def test_params_paths_are_relative_to_the_root() -> None:
    params = merge_params(["lr", {"../shared.yaml": ["x"], "p.json": None}], "sub/w", fail)
    assert params == {
        "sub/w/params.yaml": ("lr",),
        "sub/shared.yaml": ("x",),
        "sub/w/p.json": None,
    }
    # two spellings of one file are one file
    assert merge_params([{"./p.yaml": ["a"]}, {"p.yaml": ["b"]}], ".", fail) == {
        "p.yaml": ("a", "b")
    }


def test_params_keys_are_sorted_and_unique_numbers_included() -> None:
    assert merge_params([{"p.yaml": ["b", 2, "a", "b", 10]}], ".", fail) == {
        "p.yaml": (10, 2, "a", "b")
    }


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ([3], "params entry 3 must be a key or {file: [keys]}"),
        ([{1: ["a"]}], "params file name 1 must be a string"),
        ([{"p.yaml": "lr"}], "params of 'p.yaml' must be a list of keys, got str"),
    ],
)
def test_params_refusals_name_the_field(entries: list[Any], message: str) -> None:
    with pytest.raises(Refused, match=message.replace("[", r"\[").replace("{", r"\{")) as info:
        merge_params(entries, ".", fail)
    assert info.value.key == "params"


# -- outputs ------------------------------------------------------------------------------

out_paths = st.sampled_from(["o", "model.pkl", "d/m.json"])
out_flags = st.fixed_dictionaries(
    {},
    optional={
        "cache": st.booleans(),
        "persist": st.booleans(),
        "push": st.booleans(),
        "remote": st.sampled_from(["r1", "r2"]),
        "desc": st.just("d"),
    },
)
out_entries = st.one_of(out_paths, st.dictionaries(out_paths, out_flags, max_size=2))


def dvc_outs(entries: list[Any]) -> list[tuple[Any, ...]]:
    merged = dvc_output._merge_data(entries)
    return [
        (
            path,
            flags.get("cache", True),
            flags.get("persist", False),
            flags.get("push", True),
            flags.get("remote"),
        )
        for path, flags in merged.items()
    ]


@settings(max_examples=100)
@given(st.lists(out_entries, max_size=4), st.sampled_from(["outs", "metrics", "plots"]))
@example(["o", {"o": {"cache": False}}, {"o": {"persist": True}}, {"o": {"cache": True}}], "outs")
def test_outputs_merge_as_dvc_merges_them(entries: list[Any], section: str) -> None:
    ours = [
        (o.path, o.cache, o.persist, o.push, o.remote)
        for o in merge_outs(entries, ".", section, fail)
    ]
    assert ours == dvc_outs(entries)


def test_outputs_are_relative_to_the_root_and_urls_kept() -> None:
    outs = list(merge_outs(["m.pkl", "../up", "/abs//x", "s3://b/k"], "sub", "outs", fail))
    assert [o.path for o in outs] == ["sub/m.pkl", "up", "/abs//x", "s3://b/k"]
    assert outs[0] == Out("sub/m.pkl")
    # plot properties are not flags
    (plot,) = merge_outs([{"p.csv": {"x": "step", "cache": False}}], ".", "plots", fail)
    assert plot == Out("p.csv", cache=False)
    # a remote that is not a string is none
    (out,) = merge_outs([{"o": {"remote": 1}}], ".", "outs", fail)
    assert out.remote is None


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ([3], "outs entry 3 must be a path or {path: flags}"),
        ([{"o": True}], "flags of 'o' must be a mapping, got bool"),
        ([{1: {}}], "outs path 1 must be a string"),
        (["remote://r/x"], "names a DVC remote"),
        (["ftp://host/x"], "unsupported URL scheme 'ftp://'"),
        (["d/b\nc"], "has a newline in its name"),
    ],
)
def test_output_refusals_name_the_section(entries: list[Any], message: str) -> None:
    with pytest.raises(Refused) as info:
        list(merge_outs(entries, ".", "outs", fail))
    assert message in str(info.value)
    assert info.value.key == "outs"


def test_a_newline_is_allowed_in_an_uncached_output_or_a_folder_name() -> None:
    # git tracks an uncached output, so no .gitignore line is needed (issue 15)
    (out,) = merge_outs([{"b\nc": {"cache": False}}], ".", "outs", fail)
    assert out == Out("b\nc", cache=False)
    (out,) = merge_outs(["a\nb/c"], ".", "outs", fail)
    assert out.path == "a\nb/c"
