"""Run order (``mlrepro.dag.select``): producers first, every stage once, deterministic.

It drives only the pure graph functions.
"""

from __future__ import annotations

import heapq
import random

from hypothesis import given
from hypothesis import strategies as st

from mlrepro.dag.select import topological_order, upstream
from mlrepro.spec.model import Pipeline, Stage

NAME = st.text("abcdefgh@:-_.0123456789é", min_size=1, max_size=6)


@st.composite
def dags(draw: st.DrawFn) -> tuple[list[str], list[tuple[str, str]]]:
    """Stage ids and (consumer, producer) edges; acyclic by construction."""
    ids = draw(st.lists(NAME, max_size=14, unique=True))
    # a hidden creation order: a stage only consumes stages created before it
    rank = {sid: i for i, sid in enumerate(draw(st.permutations(ids)))}
    pairs = [(a, b) for a in ids for b in ids if rank[b] < rank[a]]
    edges = draw(st.lists(st.sampled_from(pairs), max_size=30)) if pairs else []
    return ids, edges


@given(dags())
def test_every_producer_comes_before_its_consumers(
    dag: tuple[list[str], list[tuple[str, str]]],
) -> None:
    ids, edges = dag
    order = topological_order(ids, edges)
    assert sorted(order) == sorted(ids)  # every stage exactly once
    pos = {sid: i for i, sid in enumerate(order)}
    for consumer, producer in edges:
        assert pos[producer] < pos[consumer]


@given(dags(), st.randoms(use_true_random=False))
def test_order_is_deterministic(
    dag: tuple[list[str], list[tuple[str, str]]], rnd: random.Random
) -> None:
    ids, edges = dag
    ids2, edges2 = list(ids), list(edges) + list(edges)  # duplicate edges change nothing
    rnd.shuffle(ids2)
    rnd.shuffle(edges2)
    assert topological_order(ids2, edges2) == topological_order(ids, edges)


@given(dags())
def test_ties_go_to_the_smallest_id(dag: tuple[list[str], list[tuple[str, str]]]) -> None:
    """The lexicographically smallest valid order, which is what makes it stable across runs."""
    ids, edges = dag
    needs = {sid: {p for c, p in edges if c == sid} for sid in ids}
    done: set[str] = set()
    expected = []
    while len(expected) < len(ids):
        ready = [s for s in ids if s not in done and needs[s] <= done]
        nxt = heapq.nsmallest(1, ready)[0]
        expected.append(nxt)
        done.add(nxt)
    assert topological_order(ids, edges) == expected


def pipeline_of(ids: list[str], edges: list[tuple[str, str]]) -> Pipeline:
    stages = tuple(Stage(dvcfile="dvc.yaml", name=sid, cmd="true", wdir=".") for sid in ids)
    return Pipeline(root="/nonexistent", stages=stages, edges=tuple(sorted(set(edges))))


@given(dags(), st.data())
def test_upstream_selects_exactly_what_the_targets_need(
    dag: tuple[list[str], list[tuple[str, str]]], data: st.DataObject
) -> None:
    ids, edges = dag
    pipeline = pipeline_of(ids, edges)
    if not ids:
        assert upstream(pipeline, None).order == ()
        return
    targets = data.draw(st.lists(st.sampled_from(ids), min_size=1, max_size=3))
    wanted = set(targets)
    stack = list(targets)
    while stack:
        n = stack.pop()
        for c, p in edges:
            if c == n and p not in wanted:
                wanted.add(p)
                stack.append(p)
    sub = upstream(pipeline, targets)
    assert set(sub.order) == wanted and len(sub.order) == len(wanted)
    assert set(sub.edges) == {(c, p) for c, p in edges if c in wanted and p in wanted}
    assert list(sub.order) == topological_order(sorted(wanted), list(sub.edges))
    everything = upstream(pipeline, None)
    assert list(everything.order) == topological_order(ids, edges)
