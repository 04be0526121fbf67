"""Lineage as an indented tree (text), versioned JSON, Graphviz DOT and Mermaid.

Paths are shown as git shows them (:func:`shown_path`: quoted, with C and octal
escapes, when they hold control characters or bytes that are not UTF-8) in text and
in the labels of DOT and Mermaid; JSON, and the node ids, keep the exact names.
"""

from __future__ import annotations

import json
from typing import Any

from mlrepro.lineage.graph import Lineage, Node, NodeType, Relation
from mlrepro.lineage.index import Hit
from mlrepro.render.names import mermaid_text, shown_path


def _short(digest: str | None) -> str:
    if not digest:
        return "-"
    algo, _, hexpart = digest.partition(":")
    return f"{algo}:{hexpart[:12]}…"


def _path(n: Node) -> str:
    return shown_path(n.path or "")


def _artifact_line(n: Node) -> str:
    size = f"  {n.size} B" if n.size is not None else ""
    files = f" ({n.nfiles} files)" if n.nfiles is not None else ""
    kind = n.kind.value if n.kind is not None else None
    return f"{_path(n)}  [{kind}]  {_short(n.digest)}  {_short(n.sha256)}{size}{files}"


def _stage_lines(n: Node) -> list[str]:
    cmd = n.cmd if isinstance(n.cmd, str) else " && ".join(map(str, n.cmd or []))
    lines = [f"stage {n.stage}  run {_short(n.run_key and 'sha256:' + n.run_key)}", f"  cmd: {cmd}"]
    for f, values in sorted((n.params or {}).items()):
        shown = ", ".join(f"{k}={json.dumps(v)}" for k, v in sorted(values.items()))
        lines.append(f"  params {f}: {shown}")
    for r in n.runs or []:
        who = (r.get("actor") or {}).get("git_email") or (r.get("actor") or {}).get("os_user")
        env = r.get("env") or {}
        commit = str((r.get("git") or {}).get("commit") or "-")[:12]
        packages = str(env.get("packages_sha256"))[:12]
        lines.append(
            f"  {r['action']} {r.get('status') or ''} by {who} on {r.get('host')}"
            f" at {r.get('time')} (commit {commit}, Python {env.get('python')},"
            f" packages {packages}…)"
        )
    return lines


def to_text(g: Lineage, direction: str) -> str:
    out: list[str] = [f"lineage of {shown_path(g.target)} at {g.rev.label}"]
    into: dict[str, list[tuple[str, str]]] = {}  # node -> [(neighbour, relation)]
    upward = (Relation.PRODUCED, Relation.INPUT_OF, Relation.PART_OF)
    for a, b, rel in g.edges:
        if direction in ("upstream", "both") and rel in upward:
            # walk from an artifact to its producer, from a stage to its inputs
            part = rel is Relation.PART_OF
            into.setdefault(a if part else b, []).append((b if part else a, rel))
    seen: set[str] = set()

    def walk(nid: str, depth: int) -> None:
        node = g.nodes[nid]
        pad = "    " * depth
        if nid in seen:
            label = _path(node) if node.type is NodeType.ARTIFACT else f"stage {node.stage}"
            out.append(f"{pad}{label}  (see above)")
            return
        seen.add(nid)
        if node.type is NodeType.ARTIFACT:
            out.append(pad + _artifact_line(node))
        else:
            out.extend(pad + line for line in _stage_lines(node))
        for nxt, _rel in sorted(into.get(nid, [])):
            walk(nxt, depth + 1)

    if direction in ("upstream", "both"):
        out.append("upstream:")
        walk(f"artifact:{g.target}", 1)
    if direction in ("downstream", "both"):
        out.append("downstream (stages that used it, and what they produced):")
        for a, b, rel in sorted(g.edges):
            if rel is Relation.PRODUCED:
                stage = g.nodes[a]
                out.append(f"    stage {stage.stage} -> {_artifact_line(g.nodes[b])}")
    out += [f"note: {n}" for n in g.notes]
    return "\n".join(out) + "\n"


def to_json(g: Lineage) -> str:
    return json.dumps(g.to_json(), indent=2)


def _label(n: Node) -> tuple[str, ...]:
    """A node's label, line by line."""
    if n.type is NodeType.STAGE:
        return (f"stage {n.stage}",)
    return (_path(n), _short(n.sha256))


def to_dot(g: Lineage) -> str:
    lines = ["digraph lineage {", "  rankdir=LR;"]
    for nid, n in sorted(g.nodes.items()):
        shape = "box" if n.type is NodeType.STAGE else "ellipse"
        # a label as people read it: DOT knows no \u escapes (ids may keep them); its
        # lines joined by DOT's line break, \n
        label = '"' + "\\n".join(json.dumps(p, ensure_ascii=False)[1:-1] for p in _label(n)) + '"'
        lines.append(f"  {json.dumps(nid)} [label={label}, shape={shape}];")
    for a, b, rel in sorted(g.edges):
        lines.append(f"  {json.dumps(a)} -> {json.dumps(b)} [label={json.dumps(rel.value)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def to_mermaid(g: Lineage) -> str:
    ids: dict[str, str] = {nid: f"n{i}" for i, nid in enumerate(sorted(g.nodes))}

    def text(n: Node) -> str:
        return "<br/>".join(mermaid_text(p) for p in _label(n))

    lines = ["flowchart LR"]
    for nid, n in sorted(g.nodes.items()):
        a, b = ("[", "]") if n.type is NodeType.STAGE else ("([", "])")
        lines.append(f'  {ids[nid]}{a}"{text(n)}"{b}')
    for x, y, rel in sorted(g.edges):
        lines.append(f"  {ids[x]} -->|{rel.value}| {ids[y]}")
    return "\n".join(lines) + "\n"


def digest_json(hits: list[dict[str, Any]], digest: str) -> str:
    return json.dumps({"version": 1, "digest": digest, "found": hits}, indent=2)


def digest_text(hits: list[Hit], digest: str) -> str:
    """Where ``digest`` was found, one line each: commit, role, stage and path."""
    if not hits:
        return f"{digest}: not found in any lock file searched\n"
    lines = []
    for h in hits:
        who = f"stage {h.stage}" if h.stage else "data input"
        lines.append(f"{h.commit[:12]}  {h.role:<8}  {who}  {shown_path(h.path)}")
    return "\n".join(lines) + "\n"
