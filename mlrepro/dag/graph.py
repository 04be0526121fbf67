"""The stage graph: which stage's outputs each stage depends on.

Same rule as DVC: stage A depends on stage B when a dependency of A (a
``deps`` path or a params file) equals an output of B, lies inside it or
contains it, comparing paths by component. Building the graph also enforces
DVC's sanity rules: no two stages declare the same output, no output lies
inside another, no ``dvc.yaml`` lies inside an output, and no cycles.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from mlrepro.errors import PipelineError
from mlrepro.spec import paths
from mlrepro.spec.model import Stage


@dataclass(slots=True)
class _Node:
    children: dict[str, _Node] = field(default_factory=dict)
    owner: tuple[Stage, str] | None = None  # (stage, output path) ending here


class OutputTrie:
    """Outputs keyed by path components, for prefix queries both ways."""

    def __init__(self, root: str) -> None:
        self.root = root
        self._top = _Node()

    def _walk(self, key: tuple[str, ...]) -> Iterable[_Node]:
        node = self._top
        for part in key:
            nxt = node.children.get(part)
            if nxt is None:
                return
            node = nxt
            yield node

    def add(self, stage: Stage, out_path: str) -> None:
        key = paths.parts(self.root, out_path)
        node = self._top
        for part in key:
            if node.owner is not None:
                _overlap(node.owner, (stage, out_path))
            node = node.children.setdefault(part, _Node())
        if node.owner is not None:
            other = node.owner[0]
            raise PipelineError(
                f"output '{out_path}' is declared by both stage '{other.id}' "
                f"and stage '{stage.id}'",
                path=stage.dvcfile,
                stage=stage.name,
                hint="each output must be written by exactly one stage: rename one of them",
            )
        if node.children:
            _overlap((stage, out_path), next(iter(_owners(node))))
        node.owner = (stage, out_path)

    def overlapping(self, dep_path: str) -> list[tuple[Stage, str]]:
        """Owners of outputs equal to, containing, or inside ``dep_path``."""
        key = paths.parts(self.root, dep_path)
        found: list[tuple[Stage, str]] = []
        node: _Node | None = None
        reached = 0
        for node in self._walk(key):
            reached += 1
            if node.owner is not None:
                found.append(node.owner)
        if node is not None and reached == len(key):
            found.extend(o for o in _owners(node) if o is not node.owner)
        return found

    def owner_of_prefix(self, path: str) -> tuple[Stage, str] | None:
        for node in self._walk(paths.parts(self.root, path)):
            if node.owner is not None:
                return node.owner
        return None


def _owners(node: _Node) -> Iterable[tuple[Stage, str]]:
    stack = [node]
    while stack:
        n = stack.pop()
        if n.owner is not None:
            yield n.owner
        stack.extend(n.children.values())


def _overlap(parent: tuple[Stage, str], child: tuple[Stage, str]) -> None:
    (ps, pp), (cs, cp) = parent, child
    raise PipelineError(
        f"output '{cp}' of stage '{cs.id}' lies inside output '{pp}' of stage '{ps.id}'",
        path=cs.dvcfile,
        stage=cs.name,
        hint="outputs must not overlap: track the directory as a whole or its files separately",
    )


def build_trie(root: str, stages: Iterable[Stage]) -> OutputTrie:
    trie = OutputTrie(root)
    for stage in stages:
        for out in stage.all_outs:
            trie.add(stage, out.path)
    return trie


def build_edges(
    root: str, stages: list[Stage], trie: OutputTrie | None = None
) -> list[tuple[str, str]]:
    """Sorted unique (from_id, to_id) edges; raises PipelineError on a cycle."""
    trie = trie or build_trie(root, stages)
    for stage in stages:
        owner = trie.owner_of_prefix(stage.dvcfile)
        if owner is not None:
            raise PipelineError(
                f"pipeline file '{stage.dvcfile}' lies inside output '{owner[1]}' "
                f"of stage '{owner[0].id}'",
                path=stage.dvcfile,
                hint="move the dvc.yaml out of the output directory",
            )
    edges: set[tuple[str, str]] = set()
    for stage in stages:
        for dep in (*stage.deps, *stage.params):
            for other, _ in trie.overlapping(dep):
                edges.add((stage.id, other.id))
    ordered = sorted(edges)
    _check_acyclic([s.id for s in stages], ordered, {s.id: s for s in stages})
    return ordered


def _check_acyclic(ids: list[str], edges: list[tuple[str, str]], by_id: dict[str, Stage]) -> None:
    succ: dict[str, list[str]] = {i: [] for i in ids}
    for a, b in edges:
        succ[a].append(b)
    white, grey, black = 0, 1, 2
    color = dict.fromkeys(ids, white)
    for start in ids:
        if color[start] != white:
            continue
        color[start] = grey
        stack: list[tuple[str, int]] = [(start, 0)]
        path = [start]
        while stack:
            node, i = stack[-1]
            if i < len(succ[node]):
                stack[-1] = (node, i + 1)
                nxt = succ[node][i]
                if color[nxt] == grey:
                    cycle = [*path[path.index(nxt) :], nxt]
                    stage = by_id[nxt]
                    if len(cycle) == 2:
                        what = f"stage '{nxt}' depends on its own output"
                    else:
                        what = "dependency cycle: " + " -> ".join(cycle)
                    raise PipelineError(
                        what,
                        path=stage.dvcfile,
                        stage=stage.name,
                        hint="a stage may not use its own outputs, "
                        "directly or through other stages",
                    )
                if color[nxt] == white:
                    color[nxt] = grey
                    stack.append((nxt, 0))
                    path.append(nxt)
            else:
                color[node] = black
                stack.pop()
                path.pop()
