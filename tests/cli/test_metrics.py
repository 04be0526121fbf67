"""``metrics show -A`` and ``metrics history`` reports on long histories (issue 14, item 6).

Real repositories, the real CLI: commits without the metrics file are summed up in one
line, ``history -n N`` tells only of its N commits, the history table fits 100 columns
whatever the metric names, and the chart's labels stay inside the PNG.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.ops.conftest import Proj, make_repo
from tests.render.pixels import BAND, text_ink_columns


@pytest.fixture
def proj(tmp_path: Path) -> Proj:
    return make_repo(tmp_path / "repo", tmp_path / "tool.py", tmp_path / "outside")


def head(proj: Proj) -> str:
    return proj.git("rev-parse", "HEAD").strip()


def empty_then_metrics(proj: Proj, empty: int, metrics: list[float]) -> tuple[list[str], list[str]]:
    """``empty`` commits whose pipeline names ``m.json`` but that lack it, then a commit per
    value; returns both lists of commit ids, oldest first."""
    proj.pipeline({}, metrics=["m.json"])
    without = []
    for i in range(empty):
        proj.write("notes.txt", f"{i}")
        proj.commit(f"empty {i}")
        without.append(head(proj))
    with_file = []
    for value in metrics:
        proj.write("m.json", json.dumps({"acc": value}))
        proj.commit(f"acc {value}")
        with_file.append(head(proj))
    return without, with_file


def warnings(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("warning:")]


def test_show_all_commits_names_the_commits_without_metrics_in_one_line(proj: Proj) -> None:
    without, _ = empty_then_metrics(proj, 7, [0.5])
    proc = proj.ok("metrics", "show", "-A")
    newest_first = [sha[:7] for sha in reversed(without)]
    assert warnings(proc.stderr) == [
        f"warning: no metrics file in 7 commits: {', '.join(newest_first[:5])} and 2 more"
    ]
    # the table still has a row for each of them, as DVC's has
    rows = [line.split() for line in proc.stdout.splitlines()[1:]]
    assert {r[0] for r in rows if r[2:] == ["-"]} == set(without)


def test_history_limit_tells_only_of_its_own_commits(proj: Proj) -> None:
    proj.write("dvc.yaml", "stages: [\n")  # a pipeline that does not load, long ago
    proj.commit("broken")
    broken = head(proj)
    without, with_file = empty_then_metrics(proj, 3, [0.5, 0.6])
    # the last 2 commits: both have the file, nothing to tell
    proc = proj.ok("metrics", "history", "-n", "2")
    assert warnings(proc.stderr) == []
    assert json.loads(proj.ok("metrics", "history", "-n", "2", "--json").stdout)["notes"] == []
    # the last 4: two without the file; older ones are neither read nor named
    proc = proj.ok("metrics", "history", "-n", "4")
    assert warnings(proc.stderr) == [
        f"warning: no metrics file in 2 commits: {without[2][:7]}, {without[1][:7]}"
    ]
    for sha in (broken, without[0]):
        assert sha[:7] not in proc.stderr
    # the whole history names them all, the broken pipeline on its own line
    proc = proj.ok("metrics", "history")
    assert warnings(proc.stderr)[0] == "warning: no metrics file in 3 commits: " + ", ".join(
        sha[:7] for sha in reversed(without)
    )
    assert warnings(proc.stderr)[1].startswith(f"warning: {broken[:7]}: dvc.yaml:")
    assert len(warnings(proc.stderr)) == 2
    assert len(with_file) == 2


LONG_KEY = "validation_" * 10 + "loss"  # 114 characters: too wide even for a table of its own


def three_files(proj: Proj) -> None:
    files = ["eval/live/metrics.json", "results/training_summary.json", "scores.json"]
    proj.pipeline({}, metrics=files)
    for i in range(4):
        proj.write(
            files[0],
            json.dumps(
                {
                    "train": {"avg_prec": 0.9 + i / 100, "roc_auc": 0.95 + i / 1000},
                    "test": {"avg_prec": 0.8 + i / 100, "roc_auc": 0.9 + i / 1000},
                    LONG_KEY: 10.5 + i,
                }
            ),
        )
        proj.write(
            files[1],
            json.dumps({"epochs_completed_total": 10 + i, "wall_clock_seconds": 12345678.1 + i}),
        )
        proj.write(files[2], json.dumps({"f1": 0.5 + i / 10}))
        proj.commit(f"run {i}")


def full_key(name: str) -> str:
    """A header as the key it names; one cut in the middle must be LONG_KEY's two ends."""
    if "…" not in name:
        return name
    start, _, end = name.partition("…")
    assert LONG_KEY.startswith(start) and LONG_KEY.endswith(end) and len(start) > 20, name
    return LONG_KEY


def test_history_table_fits_100_columns(proj: Proj) -> None:
    three_files(proj)
    text = proj.ok("metrics", "history").stdout
    assert max(len(line) for line in text.splitlines()) <= 100
    # read every block back: a file's title, then Commit, Date and its keys
    doc = json.loads(proj.ok("metrics", "history", "--json").stdout)
    expected = {
        (row["commit"][:7], column): value
        for row in doc["rows"]
        for column, value in row["values"].items()
    }
    found: dict[tuple[str, str], float] = {}
    for block in text.split("\n\n"):
        title, header, *rows = block.splitlines()
        assert header.split()[:2] == ["Commit", "Date"]
        names = [full_key(name) for name in header.split()[2:]]
        for row in rows:
            commit, _date, *cells = row.split()
            for name, cell in zip(names, cells, strict=True):
                if cell != "-":
                    found[commit, f"{title}:{name}"] = float(cell)
    assert found.keys() == expected.keys()
    for key, value in expected.items():
        assert found[key] == pytest.approx(value, abs=1e-5), key


def test_history_plot_keeps_its_labels_inside_the_png(proj: Proj) -> None:
    three_files(proj)
    png = proj.root.parent / "chart.png"
    proj.ok("metrics", "history", "--plot", str(png))
    width, columns = text_ink_columns(png.read_bytes())
    assert columns, "the chart has labels"
    assert min(columns) >= BAND and max(columns) < width - BAND
