"""``mlrepro diff`` as text, Markdown and versioned JSON (docs/cli.md, "mlrepro diff")."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlrepro.ops.diff import FullDiff
from mlrepro.render.diff import DIFF_JSON_VERSION, to_json, to_markdown, to_text
from mlrepro.snapshot.datadiff import ChangeKind, DataChange, Side
from mlrepro.snapshot.revisions import Revision
from mlrepro.snapshot.stagediff import StageChange, StageChangeKind
from mlrepro.snapshot.values import Delta

OLD = Revision("HEAD~1", "4f1c" + "0" * 36)
NEW = Revision("HEAD", "9a2e" + "1" * 36)
X1, X2 = "xxh3-128:" + "a" * 32, "xxh3-128:" + "b" * 32
S1, S2 = "sha256:" + "c" * 64, "sha256:" + "d" * 64


def full() -> FullDiff:
    return FullDiff(
        OLD,
        NEW,
        params=(Delta("params.yaml", "round", 1, 2, 1),),
        metrics=(
            Delta("metrics.json", "acc", 0.522474, 0.547531, 0.025057),
            Delta("metrics.json", "new", None, 3),
            Delta("metrics.json", "flag", True, False),
        ),
        data=(
            DataChange(
                "data",
                ChangeKind.MODIFIED,
                Side(X1, None, 204_800_000, 50_000, True),
                Side(X2, None, 204_800_000, 50_000, True),
            ),
            DataChange(
                "data/d007/f.bin",
                ChangeKind.MODIFIED,
                Side(X1, S1, 4096),
                Side(X2, S2, 4096),
                folder="data",
            ),
            DataChange("metrics.json", ChangeKind.ADDED, None, Side(X2, S2, 45)),
        ),
        stages=(
            StageChange("report", StageChangeKind.ADDED),
            StageChange("train@cnn", StageChangeKind.MODIFIED, ("cmd", "params")),
            StageChange("fit", StageChangeKind.RENAMED, renamed_from="train"),
        ),
        notes=("params.yaml at HEAD~1: not found",),
    )


def test_text_has_a_table_per_kind_then_notes() -> None:
    assert to_text(full()) == (
        "Metrics:\n"
        "Path          Metric    HEAD~1    HEAD     Change    Relative\n"
        "metrics.json  acc       0.52247   0.54753  0.02506   +4.80%\n"
        "metrics.json  new       -         3        -         -\n"
        "metrics.json  flag      True      False    -         -\n"
        "\n"
        "Params:\n"
        "Path         Param    HEAD~1    HEAD\n"
        "params.yaml  round    1         2\n"
        "\n"
        "Data:\n"
        "Path             Change    HEAD~1                   HEAD\n"
        "data/            modified  195.3 MiB (50000 files)  195.3 MiB (50000 files)\n"
        "data/d007/f.bin  modified  4.0 KiB                  4.0 KiB\n"
        "metrics.json     added     -                        45 B\n"
        "\n"
        "Stages:\n"
        "Stage      Change    What\n"
        "report     added     -\n"
        "train@cnn  modified  cmd, params\n"
        "fit        renamed   from train\n"
        "\n"
        "note: params.yaml at HEAD~1: not found\n"
    )


def test_precision_rounds_metrics_but_never_params() -> None:
    d = FullDiff(
        OLD,
        NEW,
        params=(Delta("params.yaml", "lr", 0.123456789, 0.2, None),),
        metrics=(Delta("m.json", "acc", 0.123456789, 0.2, 0.076543211),),
    )
    text = to_text(d, precision=2)
    assert "m.json  acc       0.12      0.2     0.08      +62.00%" in text.splitlines()
    assert "params.yaml  lr       0.123456789  0.2" in text.splitlines()


def test_no_differences() -> None:
    d = FullDiff(OLD, Revision("workspace", None))
    assert to_text(d) == "No differences between HEAD~1 and workspace.\n"
    assert to_markdown(d) == (
        "### mlrepro diff: `HEAD~1` → `workspace`\n\n"
        "No differences in params, metrics, data or stages.\n\n"
    )


def test_markdown_is_the_pull_request_comment() -> None:
    d = FullDiff(
        OLD,
        NEW,
        params=(Delta("params.yaml", "round", 1, 2, 1),),
        stages=(StageChange("report", StageChangeKind.ADDED),),
        notes=("one", "two"),
    )
    assert to_markdown(d) == (
        "### mlrepro diff: `HEAD~1` → `HEAD`\n\n"
        "#### Params\n\n"
        "| Path        | Param   | HEAD~1   | HEAD   |\n"
        "|-------------|---------|----------|--------|\n"
        "| params.yaml | round   | 1        | 2      |\n\n"
        "#### Stages\n\n"
        "| Stage   | Change   | What   |\n"
        "|---------|----------|--------|\n"
        "| report  | added    | -      |\n\n"
        "<details><summary>Notes</summary>\n\n"
        "- one\n"
        "- two\n"
        "\n</details>\n"
    )


def test_json_has_the_documented_versioned_shape() -> None:
    doc = json.loads(to_json(full()))
    assert DIFF_JSON_VERSION == 1
    assert doc == {
        "version": 1,
        "old": {"rev": "HEAD~1", "commit": OLD.commit},
        "new": {"rev": "HEAD", "commit": NEW.commit},
        "params": [{"path": "params.yaml", "key": "round", "old": 1, "new": 2}],
        "metrics": [
            {
                "path": "metrics.json",
                "key": "acc",
                "old": 0.522474,
                "new": 0.547531,
                "change": 0.025057,
                "relative": pytest.approx((0.547531 - 0.522474) / 0.522474),
            },
            {
                "path": "metrics.json",
                "key": "new",
                "old": None,
                "new": 3,
                "change": None,
                "relative": None,
            },
            {
                "path": "metrics.json",
                "key": "flag",
                "old": True,
                "new": False,
                "change": None,
                "relative": None,
            },
        ],
        "data": [
            {
                "path": "data",
                "change": "modified",
                "folder": None,
                "old": {"digest": X1, "sha256": None, "size": 204_800_000, "nfiles": 50_000},
                "new": {"digest": X2, "sha256": None, "size": 204_800_000, "nfiles": 50_000},
            },
            {
                "path": "data/d007/f.bin",
                "change": "modified",
                "folder": "data",
                "old": {"digest": X1, "sha256": S1, "size": 4096},
                "new": {"digest": X2, "sha256": S2, "size": 4096},
            },
            {
                "path": "metrics.json",
                "change": "added",
                "folder": None,
                "old": None,
                "new": {"digest": X2, "sha256": S2, "size": 45},
            },
        ],
        "stages": [
            {"stage": "report", "change": "added", "fields": [], "renamed_from": None},
            {
                "stage": "train@cnn",
                "change": "modified",
                "fields": ["cmd", "params"],
                "renamed_from": None,
            },
            {"stage": "fit", "change": "renamed", "fields": [], "renamed_from": "train"},
        ],
        "notes": ["params.yaml at HEAD~1: not found"],
    }


def test_relative_change_is_absent_for_zero_old() -> None:
    d = FullDiff(OLD, NEW, metrics=(Delta("m.json", "loss", 0, 1.5, 1.5),))
    assert json.loads(to_json(d))["metrics"][0]["relative"] is None
    assert to_text(d).splitlines()[2] == "m.json  loss      0         1.5     1.5       -"


@pytest.mark.parametrize(
    ("size", "shown"),
    [
        (0, "0 B"),
        (1023, "1023 B"),
        (1024, "1.0 KiB"),
        (1536, "1.5 KiB"),
        (5 * 1024**2, "5.0 MiB"),
        (3 * 1024**3, "3.0 GiB"),
        (2048 * 1024**3, "2048.0 GiB"),
    ],
)
def test_sizes_are_binary_units(size: int, shown: str) -> None:
    d = FullDiff(OLD, NEW, data=(DataChange("f", ChangeKind.ADDED, None, Side(X1, S1, size)),))
    assert to_text(d).splitlines()[2].split("  ")[-1].strip() == shown


def test_odd_data_names_are_quoted_as_git_does_in_text_but_exact_in_json() -> None:
    name = "data/caf\udce9\nx.txt"  # a byte that is not UTF-8, and a newline
    d = FullDiff(OLD, NEW, data=(DataChange(name, ChangeKind.DELETED, Side(X1, S1, 3), None),))
    assert to_text(d).splitlines()[2].startswith('"data/caf\\351\\nx.txt"  deleted')
    assert '"data/caf\\351\\nx.txt"' in to_markdown(d)
    assert "\n| " + '"data/caf' in to_markdown(d)  # the row stays on one line


names = st.text(st.characters(codec="utf-8"), min_size=1, max_size=20)


def _columns(md: str) -> list[int]:
    rows = [line for line in md.splitlines() if line.startswith("|")]
    # a cell's `|` is escaped as `\|` in GitHub Markdown: count the unescaped ones
    return [line.replace("\\|", "").count("|") - 1 for line in rows]


@given(names)
def test_any_data_name_keeps_its_markdown_row_on_one_line(name: str) -> None:
    d = FullDiff(OLD, NEW, data=(DataChange(name, ChangeKind.ADDED, None, Side(X1, S1, 1)),))
    body = to_markdown(d).split("#### Data\n\n", 1)[1].split("\n\n", 1)[0]
    assert len(body.splitlines()) == 3  # header, rule, one row


@given(names)
def test_any_name_keeps_the_markdown_table_column_count(name: str) -> None:
    d = FullDiff(
        OLD,
        NEW,
        metrics=(Delta(name, name, 1, 2, 1),),
        data=(DataChange(name, ChangeKind.ADDED, None, Side(X1, S1, 1)),),
    )
    md = to_markdown(d)
    assert _columns(md) == [6, 6, 6, 4, 4, 4]
