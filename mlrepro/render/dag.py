"""Rendering the stage graph: text, JSON, Graphviz DOT and Mermaid.

Edges are drawn in data-flow direction (producer -> consumer), as DVC's
``dag --dot`` does; the JSON keeps the contract's ``[dependent, producer]``.
"""

from __future__ import annotations

import json
from typing import Any

from mlrepro.dag.select import Subgraph
from mlrepro.render.names import mermaid_text

DAG_JSON_VERSION = 1


def to_json(g: Subgraph) -> str:
    doc: dict[str, Any] = {
        "version": DAG_JSON_VERSION,
        "stages": list(g.order),
        "edges": [list(e) for e in g.edges],
    }
    return json.dumps(doc, indent=2, ensure_ascii=False)


def _quote_dot(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_dot(g: Subgraph) -> str:
    lines = ["strict digraph {"]
    lines += [f"\t{_quote_dot(n)};" for n in g.order]
    lines += [f"\t{_quote_dot(b)} -> {_quote_dot(a)};" for a, b in g.edges]
    lines.append("}")
    return "\n".join(lines)


def to_mermaid(g: Subgraph) -> str:
    ids = {n: f"node{i}" for i, n in enumerate(g.order)}
    lines = ["flowchart TD"]
    for n in g.order:
        lines.append(f'\t{ids[n]}["{mermaid_text(n)}"]')
    lines += [f"\t{ids[b]}-->{ids[a]}" for a, b in g.edges]
    return "\n".join(lines)


def to_text(g: Subgraph) -> str:
    """One stage per line in run order, each with the stages it needs."""
    needs: dict[str, list[str]] = {n: [] for n in g.order}
    for a, b in g.edges:
        needs[a].append(b)
    width = max((len(n) for n in g.order), default=0)
    out = []
    for n in g.order:
        deps = needs[n]
        out.append(f"{n.ljust(width)}  <- {', '.join(deps)}" if deps else n)
    return "\n".join(out)
