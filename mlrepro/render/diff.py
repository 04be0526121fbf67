"""``mlrepro diff`` as text, Markdown (the pull-request comment) and versioned JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from mlrepro.ops.diff import FullDiff, relative
from mlrepro.render.metrics import DEFAULT_PRECISION, cell
from mlrepro.render.names import shown_path
from mlrepro.render.progress import human_size
from mlrepro.render.table import MISSING, markdown, plain
from mlrepro.snapshot.datadiff import DataChange, Side
from mlrepro.snapshot.stagediff import StageChange
from mlrepro.snapshot.values import Delta

DIFF_JSON_VERSION = 1


def _relative(d: Delta) -> str:
    r = relative(d)
    return MISSING if r is None else f"{r:+.2%}"


def _side_size(s: Side | None) -> str:
    if s is None:
        return MISSING
    return human_size(s.size) + (f" ({s.nfiles} files)" if s.isdir else "")


def _data_rows(changes: Sequence[DataChange]) -> list[list[str]]:
    rows = []
    for c in changes:
        side = c.new or c.old
        path = shown_path(c.path + ("/" if side is not None and side.isdir else ""))
        rows.append([path, c.kind, _side_size(c.old), _side_size(c.new)])
    return rows


def _stage_rows(changes: Sequence[StageChange]) -> list[list[str]]:
    rows = []
    for s in changes:
        detail = ", ".join(s.fields) if s.fields else ""
        if s.renamed_from:
            detail = f"from {s.renamed_from}"
        rows.append([s.stage, s.kind, detail or MISSING])
    return rows


def _sections(d: FullDiff, precision: int) -> list[tuple[str, list[str], list[list[str]]]]:
    a, b = d.old.label, d.new.label
    return [
        (
            "Metrics",
            ["Path", "Metric", a, b, "Change", "Relative"],
            [
                [
                    m.path,
                    m.key,
                    cell(m.old, precision),
                    cell(m.new, precision),
                    cell(m.diff, precision),
                    _relative(m),
                ]
                for m in d.metrics
            ],
        ),
        (
            "Params",
            ["Path", "Param", a, b],
            [[p.path, p.key, cell(p.old, None), cell(p.new, None)] for p in d.params],
        ),
        ("Data", ["Path", "Change", a, b], _data_rows(d.data)),
        ("Stages", ["Stage", "Change", "What"], _stage_rows(d.stages)),
    ]


def to_text(d: FullDiff, precision: int = DEFAULT_PRECISION) -> str:
    parts = []
    for title, headers, rows in _sections(d, precision):
        if rows:
            parts.append(f"{title}:\n" + plain(headers, rows))
    if not parts:
        parts.append(f"No differences between {d.old.label} and {d.new.label}.\n")
    if d.notes:
        parts.append("".join(f"note: {n}\n" for n in d.notes))
    return "\n".join(parts)


def to_markdown(d: FullDiff, precision: int = DEFAULT_PRECISION) -> str:
    """The pull-request comment: a title, one table per kind of change, then notes."""
    parts = [f"### mlrepro diff: `{d.old.label}` → `{d.new.label}`\n\n"]
    if d.empty:
        parts.append("No differences in params, metrics, data or stages.\n\n")
    for title, headers, rows in _sections(d, precision):
        if rows:
            parts.append(f"#### {title}\n\n" + markdown(headers, rows))
    if d.notes:
        parts.append("<details><summary>Notes</summary>\n\n")
        parts += [f"- {n}\n" for n in d.notes]
        parts.append("\n</details>\n")
    return "".join(parts)


def _side_json(s: Side | None) -> dict[str, Any] | None:
    if s is None:
        return None
    out: dict[str, Any] = {"digest": s.digest, "sha256": s.sha256, "size": s.size}
    if s.isdir:
        out["nfiles"] = s.nfiles
    return out


def to_json(d: FullDiff) -> str:
    def rev(r: Any) -> dict[str, Any]:
        return {"rev": r.label, "commit": r.commit}

    doc = {
        "version": DIFF_JSON_VERSION,
        "old": rev(d.old),
        "new": rev(d.new),
        "params": [{"path": p.path, "key": p.key, "old": p.old, "new": p.new} for p in d.params],
        "metrics": [
            {
                "path": m.path,
                "key": m.key,
                "old": m.old,
                "new": m.new,
                "change": m.diff,
                "relative": relative(m),
            }
            for m in d.metrics
        ],
        "data": [
            {
                "path": c.path,
                "change": c.kind.value,
                "folder": c.folder,
                "old": _side_json(c.old),
                "new": _side_json(c.new),
            }
            for c in d.data
        ],
        "stages": [
            {
                "stage": s.stage,
                "change": s.kind.value,
                "fields": list(s.fields),
                "renamed_from": s.renamed_from,
            }
            for s in d.stages
        ],
        "notes": list(d.notes),
    }
    return json.dumps(doc, indent=2, sort_keys=False)
