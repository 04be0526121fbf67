"""Selecting part of the stage graph and ordering it for execution."""

from __future__ import annotations

from dataclasses import dataclass

from mlrepro.errors import UsageError
from mlrepro.spec.model import Pipeline


@dataclass(frozen=True, slots=True)
class Subgraph:
    order: tuple[str, ...]  # stage ids, every stage after the stages it depends on
    edges: tuple[tuple[str, str], ...]  # (dependent, producer)


def topological_order(ids: list[str], edges: list[tuple[str, str]]) -> list[str]:
    """Producers first; ties broken by id so the order is deterministic."""
    import heapq

    pending = {i: 0 for i in ids}
    consumers: dict[str, list[str]] = {i: [] for i in ids}
    for a, b in edges:
        pending[a] += 1
        consumers[b].append(a)
    ready = [i for i, n in pending.items() if n == 0]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        node = heapq.heappop(ready)
        order.append(node)
        for c in consumers[node]:
            pending[c] -= 1
            if pending[c] == 0:
                heapq.heappush(ready, c)
    return order


def resolve_target(pipeline: Pipeline, target: str) -> str:
    """A stage id from what a user typed: an id, or a name in any dvc.yaml."""
    ids = {s.id for s in pipeline.stages}
    if target in ids:
        return target
    matches = sorted(s.id for s in pipeline.stages if s.name == target)
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise UsageError(
            f"stage name '{target}' is ambiguous: {', '.join(matches)}",
            hint="name the stage as file:name",
        )
    raise UsageError(
        f"no stage named '{target}'", hint="`mlrepro stage list` shows the stage names"
    )


def upstream(pipeline: Pipeline, targets: list[str] | None) -> Subgraph:
    """The targets and every stage they depend on (all stages when no target)."""
    ids = [s.id for s in pipeline.stages]
    edges = list(pipeline.edges)
    if targets:
        producers: dict[str, list[str]] = {i: [] for i in ids}
        for a, b in edges:
            producers[a].append(b)
        keep: set[str] = set()
        stack = [resolve_target(pipeline, t) for t in targets]
        while stack:
            n = stack.pop()
            if n not in keep:
                keep.add(n)
                stack.extend(producers[n])
        ids = [i for i in ids if i in keep]
        edges = [(a, b) for a, b in edges if a in keep and b in keep]
    return Subgraph(order=tuple(topological_order(ids, edges)), edges=tuple(sorted(edges)))
