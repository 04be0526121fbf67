"""``metrics history`` as a table, versioned JSON, CSV and a chart."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence

from mlrepro.fsutil import atomic_write
from mlrepro.ops.history import History
from mlrepro.render import chart
from mlrepro.render.metrics import cell
from mlrepro.render.table import abbreviate, blocks, plain

HISTORY_JSON_VERSION = 1
TEXT_WIDTH = 100  # columns: a wider table is split into blocks


def to_text(h: History, precision: int, width: int = TEXT_WIDTH) -> str:
    """One table, or, when that is wider than ``width``, blocks that fit: a block per
    metrics file (titled by the file, columns by key), split further when still too
    wide, each repeating Commit and Date (issue 14: the table fits 100 columns)."""
    if not h.rows:
        return "No metrics in these commits.\n"
    newest_first = list(reversed(h.rows))  # as git log
    lead = [[r.commit.short, r.commit.date[:10]] for r in newest_first]

    def table(columns: Sequence[str], names: Sequence[str]) -> tuple[list[str], list[list[str]]]:
        cells = [[cell(r.values.get(c), precision) for c in columns] for r in newest_first]
        return ["Commit", "Date", *names], [a + b for a, b in zip(lead, cells, strict=True)]

    headers, rows = table(h.columns, h.columns)
    text = plain(headers, rows)
    if max(map(len, text.splitlines())) <= width:
        return text
    by_file: dict[str, list[str]] = {}
    for c in h.columns:
        by_file.setdefault(h.files[c][0] if c in h.files else "", []).append(c)
    titled = len(by_file) > 1  # one file: its columns are already bare keys
    parts = []
    for path, columns in by_file.items():
        names = [h.files[c][1] if titled and c in h.files else c for c in columns]
        for block_headers, block_rows in blocks(*table(columns, names), keep=2, limit=width):
            title = abbreviate(path, width) + "\n" if titled else ""
            parts.append(title + plain(block_headers, block_rows))
    return "\n".join(parts)


def to_json(h: History) -> str:
    return json.dumps(
        {
            "version": HISTORY_JSON_VERSION,
            "metrics": list(h.columns),
            "rows": [
                {
                    "commit": r.commit.sha,
                    "date": r.commit.date,
                    "author": r.commit.author,
                    "subject": r.commit.subject,
                    "values": r.values,
                }
                for r in reversed(h.rows)
            ],
            "notes": list(h.notes),
        },
        indent=2,
    )


def to_csv(h: History) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["commit", "date", *h.columns])
    for r in reversed(h.rows):
        w.writerow([r.commit.sha, r.commit.date, *(r.values.get(c, "") for c in h.columns)])
    return buf.getvalue()


def write_plot(h: History, path: str) -> None:
    labels = [r.commit.short for r in h.rows]  # oldest first, left to right
    series = {c: [r.values.get(c) for r in h.rows] for c in h.columns}
    if path.lower().endswith(".png"):
        data = chart.png(labels, series)
    else:
        data = chart.svg(labels, series).encode("utf-8")
    atomic_write(path, data)
