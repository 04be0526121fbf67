"""Where an artifact came from and what used it, at any revision, from its lock file.

A revision's ``mlrepro.lock`` says, for every stage, the command, the digests of
the dependencies it ran on, the param values and the digests of what it wrote.
That is a graph: artifacts (files and folders) and stage runs, linked by
"was input of" and "produced". Upstream of an artifact is its producing stage,
that stage's inputs, their producers, and so on down to raw data (data inputs)
and source files (dependencies no stage produces). Downstream is every stage
that used it and everything those produced.

Nodes carry both digests: the xxh3-128 the cache is addressed by, and the
sha256 auditors check (a source file's sha256 is computed from its bytes at
that revision). A stage node carries its run key, the same SHA-256 the run-cache
and the audit log use for that run, so audit entries join on it.
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from mlrepro.audit.entry import redact_value
from mlrepro.dag.runkey import run_key
from mlrepro.errors import MlreproError
from mlrepro.snapshot.revisions import Revision, Revisions
from mlrepro.store.digest import bare, tag_sha, tag_xxh
from mlrepro.store.objects import CorruptObjectError, MissingObjectError
from mlrepro.store.tree import MalformedTreeError, Tree
from mlrepro.workspace.lockfile import Artifact, StageRecord

LINEAGE_VERSION = 1


class NodeType(StrEnum):
    ARTIFACT = "artifact"
    STAGE = "stage"


class ArtifactKind(StrEnum):
    OUTPUT = "output"  # a stage's
    DATA = "data"  # a data input, recorded in the lock
    SOURCE = "source"  # a dependency nothing produces nor records: code, config
    PART = "part"  # a file inside a tracked folder


class Relation(StrEnum):
    """What an edge (from, to) says."""

    PRODUCED = "produced"  # stage -> artifact
    INPUT_OF = "input_of"  # artifact -> stage
    PART_OF = "part_of"  # file -> the folder holding it
    CONTAINS = "contains"  # folder -> a path inside it that a stage used


Edge = tuple[str, str, Relation]  # (from, to, relation)


@dataclass(frozen=True, slots=True)
class Node:
    id: str  # "artifact:<path>" or "stage:<stage id>"
    type: NodeType
    # artifacts
    path: str | None = None
    kind: ArtifactKind | None = None
    digest: str | None = None
    sha256: str | None = None
    size: int | None = None
    nfiles: int | None = None
    # stages
    stage: str | None = None
    cmd: Any = None
    params: dict[str, dict[str, Any]] | None = None
    run_key: str | None = None
    # audit entries of this run (who, when, where): see with_runs
    runs: tuple[dict[str, Any], ...] | None = None

    def to_json(self) -> dict[str, Any]:
        if self.type is NodeType.STAGE:
            return {
                "id": self.id,
                "type": "stage",
                "stage": self.stage,
                "cmd": self.cmd,
                "params": self.params,
                "run_key": self.run_key,
                "runs": list(self.runs or ()),
            }
        out: dict[str, Any] = {
            "id": self.id,
            "type": "artifact",
            "path": self.path,
            "kind": self.kind.value if self.kind is not None else None,
            "digest": self.digest,
            "sha256": self.sha256,
            "size": self.size,
        }
        if self.nfiles is not None:
            out["nfiles"] = self.nfiles
        return out


@dataclass(frozen=True, slots=True)
class Lineage:
    rev: Revision
    target: str
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: tuple[Edge, ...] = ()  # in the order the walk found them
    notes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "version": LINEAGE_VERSION,
            "rev": self.rev.label,
            "commit": self.rev.commit,
            "target": f"artifact:{self.target}",
            "nodes": [n.to_json() for _, n in sorted(self.nodes.items())],
            "edges": [{"from": a, "to": b, "relation": r.value} for a, b, r in sorted(self.edges)],
            "notes": list(self.notes),
        }


def _aid(path: str) -> str:
    return f"artifact:{path}"


def _sid(stage: str) -> str:
    return f"stage:{stage}"


def _inside(path: str, folder: str) -> bool:
    return path.startswith(folder.rstrip("/") + "/")


class _Builder:
    def __init__(self, revs: Revisions, rev: Revision, target: str) -> None:
        self.revs = revs
        self.rev = rev
        self.lock = revs.lock(rev)
        self.target = target
        # the graph as it is found; frozen into a Lineage by result()
        self.nodes: dict[str, Node] = {}
        self.edges: dict[Edge, None] = {}  # an ordered set
        self.notes: list[str] = []
        # path -> (stage id, artifact) of every output
        self.produced: dict[str, tuple[str, Artifact]] = {
            a.path: (sid, a) for sid, rec in self.lock.stages.items() for a in rec.outs
        }
        try:
            pipeline = revs.pipeline(rev)
            self.stages = pipeline.by_id()
        except MlreproError as exc:
            self.stages = {}
            self.notes.append(f"pipeline at {rev.label} not loaded ({exc.message}): no run keys")

    def result(self) -> Lineage:
        return Lineage(self.rev, self.target, self.nodes, tuple(self.edges), tuple(self.notes))

    def edge(self, a: str, b: str, relation: Relation) -> None:
        self.edges[a, b, relation] = None

    # -- nodes ------------------------------------------------------------------

    def artifact(self, path: str) -> Node:
        """The node of ``path``: an output, a file inside an output folder, data, or source."""
        nid = _aid(path)
        if nid in self.nodes:
            return self.nodes[nid]
        if path in self.produced or path in self.lock.data:
            kind, a = (
                (ArtifactKind.OUTPUT, self.produced[path][1])
                if path in self.produced
                else (ArtifactKind.DATA, self.lock.data[path])
            )
            node = Node(
                nid,
                NodeType.ARTIFACT,
                path,
                kind,
                a.digest,
                a.sha256,
                a.size,
                nfiles=a.nfiles if a.isdir else None,
            )
        elif (folder := self._folder_of(path)) is not None:
            node = self._part(path, folder)
        else:
            node = self._source(path)
        self.nodes[nid] = node
        return node

    def _folder_of(self, path: str) -> Artifact | None:
        for candidate in (*(a for _, a in self.produced.values()), *self.lock.data.values()):
            if candidate.isdir and _inside(path, candidate.path):
                return candidate
        return None

    def _part(self, path: str, folder: Artifact) -> Node:
        node = Node(_aid(path), NodeType.ARTIFACT, path, ArtifactKind.PART)
        self.edge(_aid(path), _aid(folder.path), Relation.PART_OF)
        self.artifact(folder.path)
        if self.revs.store is None or folder.digest is None:
            self.notes.append(f"{folder.path}: tree not readable (no cache)")
            return node
        try:
            tree = Tree.from_bytes(self.revs.store.read_bytes(bare(folder.digest)))
        except (MissingObjectError, CorruptObjectError, MalformedTreeError) as exc:
            self.notes.append(f"{folder.path}: tree not readable ({exc.message})")
            return node
        rel = path[len(folder.path.rstrip("/")) + 1 :]
        entry = next((e for e in tree.entries if e.path == rel), None)
        if entry is None:
            self.notes.append(f"{path}: not in {folder.path} at {self.rev.label}")
            return node
        return replace(
            node,
            digest=tag_xxh(entry.xxh),
            sha256=tag_sha(entry.sha),
            size=entry.size,
        )

    def _source(self, path: str) -> Node:
        """A dependency no stage produces and not recorded as data: code or config."""
        node = Node(_aid(path), NodeType.ARTIFACT, path, ArtifactKind.SOURCE)
        try:
            data = self.revs.tracked(self.rev, path)
        except MlreproError:
            data = None
        if data is None:
            return node
        import xxhash

        return replace(
            node,
            digest=tag_xxh(xxhash.xxh3_128_hexdigest(data)),
            sha256=tag_sha(hashlib.sha256(data).hexdigest()),
            size=len(data),
        )

    def stage(self, sid: str, record: StageRecord) -> Node:
        nid = _sid(sid)
        if nid not in self.nodes:
            stage = self.stages.get(sid)
            key = run_key(stage, list(record.deps), record.params) if stage else None
            # a lineage record is shared like an audit entry: credentials masked alike
            self.nodes[nid] = Node(
                nid,
                NodeType.STAGE,
                stage=sid,
                cmd=redact_value(record.cmd),
                params=redact_value(record.params),
                run_key=key,
            )
        return self.nodes[nid]

    # -- walks --------------------------------------------------------------------

    def producer(self, path: str) -> tuple[str, str] | None:
        """(stage id, output path) that made ``path`` (itself, or the folder holding it)."""
        if path in self.produced:
            return self.produced[path][0], path
        for out, (sid, a) in self.produced.items():
            if a.isdir and _inside(path, out):
                return sid, out
        return None

    def _walk(self, start: str, step: Callable[[str], list[str]]) -> None:
        """Breadth-first from ``start``: each path once, its node made, ``step`` giving
        the paths to visit next."""
        queue = deque([start])
        seen: set[str] = set()
        while queue:
            path = queue.popleft()
            if path not in seen:
                seen.add(path)
                self.artifact(path)
                queue.extend(step(path))

    def upstream(self, start: str) -> None:
        self._walk(start, self._up)

    def downstream(self, start: str) -> None:
        self._walk(start, self._down)

    def _up(self, path: str) -> list[str]:
        """Link ``path`` to the stage that made it and that stage to its inputs."""
        made = self.producer(path)
        if made is None:
            return []
        sid, out = made
        record = self.lock.stages[sid]
        self.stage(sid, record)
        self.edge(_sid(sid), _aid(out), Relation.PRODUCED)
        if out != path:
            self.artifact(out)
        for dep in record.deps:
            dnode = self.artifact(dep.path)
            if (
                dnode.kind is ArtifactKind.SOURCE
                and dep.digest
                and dnode.digest not in (None, dep.digest)
            ):
                self.notes.append(
                    f"{dep.path} at {self.rev.label} is not what stage {sid} ran on ({dep.digest})"
                )
            self.edge(_aid(dep.path), _sid(sid), Relation.INPUT_OF)
        return [dep.path for dep in record.deps]

    def _down(self, path: str) -> list[str]:
        """Link ``path`` to every stage that used it (or a folder holding it, or a file
        inside it) and those stages to what they produced."""
        produced: list[str] = []
        for sid, record in sorted(self.lock.stages.items()):
            uses = [
                d.path
                for d in record.deps
                if d.path == path or _inside(path, d.path) or _inside(d.path, path)
            ]
            if not uses:
                continue
            self.stage(sid, record)
            for dep in uses:
                self.artifact(dep)
                self.edge(_aid(dep), _sid(sid), Relation.INPUT_OF)
                if dep != path:
                    rel = Relation.PART_OF if _inside(path, dep) else Relation.CONTAINS
                    self.edge(_aid(path), _aid(dep), rel)
            for o in record.outs:
                self.artifact(o.path)
                self.edge(_sid(sid), _aid(o.path), Relation.PRODUCED)
                produced.append(o.path)
        return produced


def lineage(revs: Revisions, rev: Revision, path: str, *, direction: str = "upstream") -> Lineage:
    """The lineage of ``path`` at ``rev``; ``direction``: upstream, downstream or both."""
    b = _Builder(revs, rev, path)
    known = (
        path in b.produced
        or path in b.lock.data
        or b.producer(path) is not None
        or b._folder_of(path) is not None
        or any(
            d.path == path or _inside(path, d.path) or _inside(d.path, path)
            for r in b.lock.stages.values()
            for d in r.deps
        )
    )
    if not known:
        raise MlreproError(
            f"'{path}' is not an output, data input or dependency in mlrepro.lock at {rev.label}",
            hint="name a path the lock file records (see `mlrepro status` or the lock file)",
        )
    if direction in ("upstream", "both"):
        b.upstream(path)
    if direction in ("downstream", "both"):
        b.downstream(path)
    return b.result()


def with_runs(graph: Lineage, entries: list[tuple[str, dict[str, Any]]]) -> Lineage:
    """The lineage with each stage node given the audit entries of its run (joined on
    the run key): who ran or restored it, when, where, on which commit, with which
    environment."""
    by_key: dict[str, list[dict[str, Any]]] = {}
    for eid, e in entries:
        d = e.get("details") or {}
        key = d.get("run_key")
        if e.get("action") in ("stage.run", "stage.restore") and key:
            env = e.get("env") or {}
            by_key.setdefault(key, []).append(
                {
                    "entry": eid,
                    "action": e.get("action"),
                    "status": d.get("status"),
                    "time": e.get("time"),
                    "actor": e.get("actor"),
                    "host": e.get("host"),
                    "git": e.get("git"),
                    "env": {k: v for k, v in env.items() if k != "packages"},
                }
            )

    def joined(node: Node) -> Node:
        if node.type is not NodeType.STAGE or not node.run_key:
            return node
        runs = sorted(by_key.get(node.run_key, []), key=lambda r: str(r["time"]))
        return replace(node, runs=tuple(runs))

    return replace(graph, nodes={nid: joined(n) for nid, n in graph.nodes.items()})
