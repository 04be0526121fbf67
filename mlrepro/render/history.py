"""``metrics history`` as a table, versioned JSON, CSV and a chart."""

from __future__ import annotations

import csv
import io
import json

from mlrepro.fsutil import atomic_write
from mlrepro.ops.history import History
from mlrepro.render import chart
from mlrepro.render.metrics import cell
from mlrepro.render.table import plain

HISTORY_JSON_VERSION = 1


def to_text(h: History, precision: int) -> str:
    if not h.rows:
        return "No metrics in these commits.\n"
    headers = ["Commit", "Date", *h.columns]
    rows = [
        [r.commit.short, r.commit.date[:10]] + [cell(r.values.get(c), precision) for c in h.columns]
        for r in reversed(h.rows)  # newest first, as git log
    ]
    return plain(headers, rows)


def to_json(h: History) -> str:
    return json.dumps(
        {
            "version": HISTORY_JSON_VERSION,
            "metrics": h.columns,
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
            "notes": h.notes,
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
