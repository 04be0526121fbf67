"""``mlrepro metrics history``: a row per commit that changed the metrics, and a chart."""

from __future__ import annotations

import csv
import io
import json
import struct
import xml.etree.ElementTree as ET

from tests.ops.conftest import Proj


def build(proj: Proj) -> list[str]:
    """Six commits: the metric changes at 1, 3, 4 and 6; 2 and 5 touch other files."""
    proj.pipeline({"m": {"cmd": "true", "metrics": [{"m.json": {"cache": False}}]}})
    shas = []
    for i, (acc, other) in enumerate(
        [(0.5, None), (None, "a"), (0.6, None), (0.65, None), (None, "b"), (0.7, None)]
    ):
        if acc is not None:
            proj.write("m.json", json.dumps({"acc": acc, "loss": 1 - acc}))
        if other is not None:
            proj.write("notes.txt", other)
        proj.commit(f"c{i + 1}")
        shas.append(proj.git("rev-parse", "HEAD").strip())
    return shas


def test_rows_only_where_metrics_changed(proj: Proj) -> None:
    shas = build(proj)
    doc = json.loads(proj.ok("metrics", "history", "--json").stdout)
    assert doc["version"] == 1
    assert doc["metrics"] == ["acc", "loss"]
    assert [r["commit"] for r in doc["rows"]] == [shas[5], shas[3], shas[2], shas[0]]
    assert [r["values"]["acc"] for r in doc["rows"]] == [0.7, 0.65, 0.6, 0.5]
    assert doc["rows"][0]["subject"] == "c6"
    only_acc = json.loads(proj.ok("metrics", "history", "acc", "--json").stdout)
    assert only_acc["metrics"] == ["acc"]
    ranged = json.loads(
        proj.ok("metrics", "history", "--rev-range", f"{shas[1]}..{shas[4]}", "--json").stdout
    )
    assert [r["values"]["acc"] for r in ranged["rows"]] == [0.65, 0.6]


def test_limit_counts_commits_not_rows(proj: Proj) -> None:
    shas = build(proj)
    doc = json.loads(proj.ok("metrics", "history", "-n", "2", "--json").stdout)
    # commits 5 and 6: 5 is the first seen (its metrics, from commit 4), then 6 changes them
    assert [r["commit"] for r in doc["rows"]] == [shas[5], shas[4]]


def test_text_and_csv(proj: Proj) -> None:
    shas = build(proj)
    text = proj.ok("metrics", "history").stdout.splitlines()
    assert text[0].split() == ["Commit", "Date", "acc", "loss"]
    assert text[1].split()[0] == shas[5][:7] and text[1].split()[2] == "0.7"
    rows = list(csv.reader(io.StringIO(proj.ok("metrics", "history", "--csv").stdout)))
    assert rows[0] == ["commit", "date", "acc", "loss"]
    assert [r[0] for r in rows[1:]] == [shas[5], shas[3], shas[2], shas[0]]


def test_plots_png_and_svg(proj: Proj) -> None:
    build(proj)
    png = proj.root.parent / "h.png"
    svg = proj.root.parent / "h.svg"
    proj.ok("metrics", "history", "--plot", str(png))
    proj.ok("metrics", "history", "--plot", str(svg))
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (720, 360)  # one panel per metric
    tree = ET.fromstring(svg.read_text())
    circles = tree.findall(".//{http://www.w3.org/2000/svg}circle")
    assert len(circles) == 8  # 4 rows x 2 metrics
    proc = proj.fails("metrics", "history", "--plot", str(proj.root.parent / "h.gif"), code=2)
    assert ".svg or .png" in proc.stderr


def test_a_metric_named_with_its_file_is_kept_when_there_is_one_file(proj: Proj) -> None:
    build(proj)
    doc = json.loads(proj.ok("metrics", "history", "m.json:acc", "--json").stdout)
    assert doc["metrics"] == ["acc"]
    assert [r["values"] for r in doc["rows"]] == [{"acc": a} for a in (0.7, 0.65, 0.6, 0.5)]
