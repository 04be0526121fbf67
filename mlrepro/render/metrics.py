"""``metrics show``, ``metrics diff`` and ``params diff`` in DVC's shapes.

Tables: ``Path | Metric | <old rev> | <new rev> | Change`` (``Param`` and no
Change for params), revisions named as the user typed them; ``metrics show``:
``[Revision] | Path | <every metric key, sorted>``, a row per file in the
revision's order (DVC's), unreadable files in their place. Floats in metrics
tables are rounded to ``precision`` decimal places (5 by default, and 0 also
means 5, as in DVC); params are never rounded; JSON is never rounded. JSON has
DVC's shapes and is one line.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from mlrepro.render.table import MISSING, markdown, plain
from mlrepro.snapshot.values import Delta, RevisionValues

DEFAULT_PRECISION = 5


def cell(value: Any, precision: int | None) -> str:
    if value is None:
        return MISSING
    if isinstance(value, float) and precision is not None:
        return str(round(value, precision or DEFAULT_PRECISION))
    return str(value)


def _table(headers: list[str], rows: list[list[str]], md: bool) -> str:
    return markdown(headers, rows) if md else plain(headers, rows)


def diff_table(
    deltas: Sequence[Delta],
    old: str,
    new: str,
    *,
    kind: str,  # "Metric" or "Param"
    md: bool = False,
    no_path: bool = False,
    precision: int | None = DEFAULT_PRECISION,
) -> str:
    change = kind == "Metric"
    headers = ([] if no_path else ["Path"]) + [kind, old, new] + (["Change"] if change else [])
    rows = []
    for d in deltas:
        row = ([] if no_path else [d.path]) + [
            d.key,
            cell(d.old, precision),
            cell(d.new, precision),
        ]
        if change:
            row.append(cell(d.diff, precision))
        rows.append(row)
    return _table(headers, rows, md)


def diff_json(deltas: Sequence[Delta]) -> str:
    doc: dict[str, dict[str, Any]] = {}
    for d in deltas:
        entry: dict[str, Any] = {"old": d.old, "new": d.new}
        if d.has_diff:
            entry["diff"] = d.diff
        doc.setdefault(d.path, {})[d.key] = entry
    return json.dumps(doc)


def show_table(
    results: Sequence[RevisionValues],
    *,
    with_revision: bool,
    md: bool = False,
    precision: int | None = DEFAULT_PRECISION,
) -> str:
    keys: set[str] = set()
    for r in results:
        for value in r.files.values():
            keys |= set(value) if isinstance(value, dict) else {""}
    columns = sorted(keys)
    headers = (["Revision"] if with_revision else []) + ["Path", *columns]
    rows = []
    for r in results:
        if r.failed is not None:
            continue
        for path in r.order():  # DVC's order, unreadable files in their place
            value = r.files.get(path)
            flat = value if isinstance(value, dict) else ({"": value} if value is not None else {})
            row = [r.rev.label] if with_revision else []
            row.append(path)
            row += [cell(flat.get(k), precision) for k in columns]
            rows.append(row)
    return _table(headers, rows, md)


def show_json(results: Sequence[RevisionValues], *, with_revision: bool) -> str:
    doc: dict[str, Any] = {}
    for r in results:
        key = r.rev.label if with_revision else ""
        if r.failed is not None:
            doc[key] = {"error": {"type": "PipelineError", "msg": r.failed}}
            continue
        errors = {e.path: e.message for e in r.errors}
        data: dict[str, Any] = {
            p: {"data": r.raw[p]}
            if p in r.raw
            else {"error": {"type": "FileError", "msg": errors[p]}}
            for p in r.order()
        }
        doc[key] = {"data": data}
    return json.dumps(doc)
