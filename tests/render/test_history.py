"""``metrics history`` as a table, versioned JSON, CSV and a chart (docs/cli.md,
"mlrepro metrics history")."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from mlrepro.git.api import CommitInfo
from mlrepro.ops.history import History, HistoryRow
from mlrepro.render.history import HISTORY_JSON_VERSION, to_csv, to_json, to_text, write_plot


def commit(n: int, day: int) -> CommitInfo:
    sha = f"{n}" * 7 + "a" * 33
    return CommitInfo(sha, (), "Alice", "a@x", f"2026-11-{day:02d}T10:00:00+00:00", f"change {n}")


def documented() -> History:
    return History(
        columns=("acc", "loss"),
        rows=(  # oldest first
            HistoryRow(commit(3, 25), {"acc": 0.5, "loss": 0.5}),
            HistoryRow(commit(2, 26), {"acc": 0.7, "loss": 0.3}),
            HistoryRow(commit(1, 27), {"acc": 0.812345678}),
        ),
        notes=("no metrics file in 1 commit: 4444444",),
    )


def test_text_is_newest_first_as_git_log() -> None:
    assert to_text(documented(), precision=5) == (
        "Commit    Date        acc      loss\n"
        "1111111   2026-11-27  0.81235  -\n"
        "2222222   2026-11-26  0.7      0.3\n"
        "3333333   2026-11-25  0.5      0.5\n"
    )
    assert to_text(documented(), precision=2).splitlines()[1] == ("1111111   2026-11-27  0.81   -")


def test_no_rows() -> None:
    assert to_text(History(), precision=5) == "No metrics in these commits.\n"
    assert to_csv(History()) == "commit,date\n"
    assert json.loads(to_json(History())) == {
        "version": 1,
        "metrics": [],
        "rows": [],
        "notes": [],
    }


def test_a_wide_table_is_split_by_file_and_fits() -> None:
    columns = [f"eval/{f}.json:{k}" for f in ("train", "test") for k in ("accuracy", "loss")]
    columns += [f"eval/test.json:metric_{i:02d}" for i in range(8)]
    values = {c: 0.123456 for c in columns}
    h = History(
        columns=tuple(columns),
        rows=(HistoryRow(commit(1, 27), values),),
        files={c: tuple(c.split(":")) for c in columns},  # type: ignore[misc]
    )
    text = to_text(h, precision=5, width=100)
    assert all(len(line) <= 100 for line in text.splitlines())
    blocks = text.split("\n\n")
    assert blocks[0] == (
        "eval/train.json\n"
        "Commit    Date        accuracy    loss\n"
        "1111111   2026-11-27  0.12346     0.12346"
    )
    assert len(blocks) == 3  # the second file split further, to fit
    assert all(b.startswith("eval/test.json\nCommit    Date  ") for b in blocks[1:])
    headers = [name for b in blocks[1:] for name in b.splitlines()[1].split()[2:]]
    assert headers == ["accuracy", "loss", *(f"metric_{i:02d}" for i in range(8))]


def test_json_has_the_documented_versioned_shape() -> None:
    doc = json.loads(to_json(documented()))
    assert HISTORY_JSON_VERSION == 1
    assert doc == {
        "version": 1,
        "metrics": ["acc", "loss"],
        "rows": [
            {
                "commit": commit(n, d).sha,
                "date": commit(n, d).date,
                "author": "Alice",
                "subject": f"change {n}",
                "values": v,
            }
            for n, d, v in [
                (1, 27, {"acc": 0.812345678}),  # never rounded
                (2, 26, {"acc": 0.7, "loss": 0.3}),
                (3, 25, {"acc": 0.5, "loss": 0.5}),
            ]
        ],
        "notes": ["no metrics file in 1 commit: 4444444"],
    }


def test_csv_has_full_commit_ids_and_empty_cells_for_missing_values() -> None:
    text = to_csv(documented())
    assert list(csv.reader(io.StringIO(text))) == [
        ["commit", "date", "acc", "loss"],
        [commit(1, 27).sha, commit(1, 27).date, "0.812345678", ""],
        [commit(2, 26).sha, commit(2, 26).date, "0.7", "0.3"],
        [commit(3, 25).sha, commit(3, 25).date, "0.5", "0.5"],
    ]


def test_csv_quotes_an_odd_column_name() -> None:
    h = History(columns=('m,"x"',), rows=(HistoryRow(commit(1, 1), {'m,"x"': 1}),))
    assert to_csv(h).splitlines()[0] == 'commit,date,"m,""x"""'


def test_write_plot_by_extension(tmp_path: Path) -> None:
    write_plot(documented(), str(tmp_path / "h.svg"))
    write_plot(documented(), str(tmp_path / "h.PNG"))
    svg = (tmp_path / "h.svg").read_text(encoding="utf-8")
    assert svg.lstrip().startswith(("<svg", "<?xml")) and svg.rstrip().endswith("</svg>")
    assert ">acc<" in svg and ">loss<" in svg
    assert (tmp_path / "h.PNG").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert [p.name for p in sorted(tmp_path.iterdir())] == ["h.PNG", "h.svg"]  # no temp left
