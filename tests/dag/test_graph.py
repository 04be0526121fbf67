"""The stage graph (mlrepro.dag.graph): edges from dependencies to the outputs they
equal, lie inside or contain; the output sanity rules; cycles."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlrepro.dag.graph import OutputTrie, build_edges, build_trie
from mlrepro.errors import PipelineError
from mlrepro.spec.model import Out, Stage

ROOT = "/repo"
PART = st.sampled_from(["a", "b", "c", "ab"])
PATH = st.lists(PART, min_size=1, max_size=4).map("/".join)


def stage(name: str, deps: tuple[str, ...] = (), outs: tuple[str, ...] = (), **kw: Any) -> Stage:
    return Stage(
        dvcfile=kw.pop("dvcfile", "dvc.yaml"),
        name=name,
        cmd="true",
        wdir=".",
        deps=deps,
        outs=tuple(Out(o) for o in outs),
        **kw,
    )


def related(a: str, b: str) -> bool:
    """Equal, or one inside the other, by component."""
    pa, pb = a.split("/"), b.split("/")
    n = min(len(pa), len(pb))
    return pa[:n] == pb[:n]


@st.composite
def disjoint_outputs(draw: st.DrawFn) -> list[str]:
    """Output paths none of which equals or contains another."""
    chosen: list[str] = []
    for p in draw(st.lists(PATH, max_size=8)):
        if not any(related(p, q) for q in chosen):
            chosen.append(p)
    return chosen


@given(outs=disjoint_outputs(), dep=PATH)
def test_overlapping_finds_exactly_the_related_outputs(outs: list[str], dep: str) -> None:
    stages = [stage(f"s{i}", outs=(o,)) for i, o in enumerate(outs)]
    trie = build_trie(ROOT, stages)
    found = sorted(path for _, path in trie.overlapping(dep))
    assert found == sorted(o for o in outs if related(o, dep))
    prefix = trie.owner_of_prefix(dep)
    inside = [o for o in outs if dep == o or dep.startswith(o + "/")]
    assert (prefix[1] if prefix else None) == (inside[0] if inside else None)


def test_component_comparison_is_not_string_prefix() -> None:
    trie = build_trie(ROOT, [stage("p", outs=("data",))])
    assert trie.overlapping("data2") == []
    assert trie.overlapping("dat") == []
    assert [p for _, p in trie.overlapping("data/x.csv")] == ["data"]
    assert [p for _, p in trie.overlapping(".")] == ["data"]  # the root holds everything


@given(outs=disjoint_outputs(), deps=st.lists(PATH, max_size=4))
def test_edges_join_each_stage_to_the_producers_of_what_it_reads(
    outs: list[str], deps: list[str]
) -> None:
    producers = [stage(f"p{i}", outs=(o,)) for i, o in enumerate(outs)]
    # the consumer's own output is outside every path drawn (no self-cycles)
    consumer = stage("z", deps=tuple(deps), outs=("zz/out",))
    edges = build_edges(ROOT, [consumer, *producers])
    expected = sorted({("z", p.id) for p in producers for d in deps if related(p.outs[0].path, d)})
    assert edges == expected


def test_a_params_file_that_a_stage_writes_makes_an_edge() -> None:
    writer = stage("gen", outs=("conf/params.yaml",))
    reader = stage("train", outs=("model",), params={"conf/params.yaml": ("lr",)})
    assert build_edges(ROOT, [reader, writer]) == [("train", "gen")]


def test_stages_in_other_files_are_named_by_file() -> None:
    writer = stage("gen", outs=("sub/data",), dvcfile="sub/dvc.yaml")
    reader = stage("use", deps=("sub/data/x",), outs=("o",))
    assert build_edges(ROOT, [reader, writer]) == [("use", "sub/dvc.yaml:gen")]


@pytest.mark.parametrize(
    ("stages", "message"),
    [
        ([stage("a", outs=("o",)), stage("b", outs=("o",))], "declared by both stage 'a'"),
        ([stage("a", outs=("d",)), stage("b", outs=("d/f",))], "'d/f' of stage 'b' lies inside"),
        ([stage("a", outs=("d/f",)), stage("b", outs=("d",))], "'d/f' of stage 'a' lies inside"),
        ([stage("a", outs=("d", "d/e"))], "lies inside output 'd' of stage 'a'"),
    ],
)
def test_overlapping_outputs_are_refused(stages: list[Stage], message: str) -> None:
    with pytest.raises(PipelineError) as err:
        build_trie(ROOT, stages)
    assert message in str(err.value)


def test_a_pipeline_file_inside_an_output_is_refused() -> None:
    stages = [stage("a", outs=("gen",)), stage("b", outs=("x",), dvcfile="gen/dvc.yaml")]
    with pytest.raises(PipelineError, match=r"'gen/dvc\.yaml' lies inside output 'gen'"):
        build_edges(ROOT, stages)


def test_a_stage_reading_its_own_output_is_a_cycle() -> None:
    with pytest.raises(PipelineError, match="stage 'a' depends on its own output") as err:
        build_edges(ROOT, [stage("a", deps=("o/x",), outs=("o",))])
    assert err.value.stage == "a"


def test_a_longer_cycle_is_named_in_order() -> None:
    stages = [
        stage("a", deps=("c_out",), outs=("a_out",)),
        stage("b", deps=("a_out",), outs=("b_out",)),
        stage("c", deps=("b_out",), outs=("c_out",)),
        stage("d", deps=("c_out",), outs=("d_out",)),  # downstream of the cycle, not in it
    ]
    with pytest.raises(PipelineError) as err:
        build_edges(ROOT, stages)
    what = err.value.what
    assert what.startswith("dependency cycle: ")
    cycle = what.removeprefix("dependency cycle: ").split(" -> ")
    assert cycle[0] == cycle[-1] and sorted(cycle[:-1]) == ["a", "b", "c"]
    assert "d" not in cycle


def test_a_trie_can_be_queried_incrementally() -> None:
    trie = OutputTrie(ROOT)
    s = stage("a", outs=("x/y",))
    trie.add(s, "x/y")
    assert trie.overlapping("x") == [(s, "x/y")]
    assert trie.owner_of_prefix("x") is None
    assert trie.owner_of_prefix("x/y/z") == (s, "x/y")
