"""``metrics show``, ``metrics diff`` and ``params diff`` in DVC's shapes (docs/cli.md,
"mlrepro metrics show", "mlrepro metrics diff", "mlrepro params diff")."""

from __future__ import annotations

import json

import pytest

from mlrepro.render.metrics import cell, diff_json, diff_table, show_json, show_table
from mlrepro.snapshot.revisions import Revision
from mlrepro.snapshot.values import Delta, FileError, RevisionValues

WS = Revision("workspace", None)


@pytest.mark.parametrize(
    ("value", "precision", "shown"),
    [
        (None, 5, "-"),
        (1.23456789, 5, "1.23457"),
        (1.23456789, 0, "1.23457"),  # 0 also means 5, as in DVC
        (1.23456789, 2, "1.23"),
        (1.23456789, None, "1.23456789"),  # params are never rounded
        (3, 2, "3"),
        (True, 2, "True"),
        ([64, 32], None, "[64, 32]"),
        ("text", 5, "text"),
    ],
)
def test_cell(value: object, precision: int | None, shown: str) -> None:
    assert cell(value, precision) == shown


def test_metrics_diff_markdown_as_documented() -> None:
    deltas = [
        Delta("metrics.json", "acc", 0.925, 0.95, 0.95 - 0.925),
        Delta("metrics.json", "nested.f1", 0.8, 0.812345678, 0.012345678),
    ]
    assert diff_table(deltas, "HEAD~1", "HEAD", kind="Metric", md=True) == (
        "| Path         | Metric    | HEAD~1   | HEAD    | Change   |\n"
        "|--------------|-----------|----------|---------|----------|\n"
        "| metrics.json | acc       | 0.925    | 0.95    | 0.025    |\n"
        "| metrics.json | nested.f1 | 0.8      | 0.81235 | 0.01235  |\n"
        "\n"
    )


def test_params_diff_plain_has_no_change_column_and_no_rounding() -> None:
    deltas = [
        Delta("params.yaml", "layers", [64, 32], [64, 32, 16]),
        Delta("params.yaml", "lr", 0.01, 0.001, -0.009),
        Delta("params2.yaml", "seed", 42, None),
    ]
    assert diff_table(deltas, "HEAD~2", "HEAD~1", kind="Param", precision=None) == (
        "Path          Param    HEAD~2    HEAD~1\n"
        "params.yaml   layers   [64, 32]  [64, 32, 16]\n"
        "params.yaml   lr       0.01      0.001\n"
        "params2.yaml  seed     42        -\n"
    )


def test_no_path_drops_the_path_column() -> None:
    out = diff_table([Delta("m.json", "acc", 1, 2, 1)], "a", "b", kind="Metric", no_path=True)
    assert out == "Metric    a    b    Change\nacc       1    2    1\n"


def test_empty_diff_prints_nothing_but_markdown_keeps_its_header() -> None:
    assert diff_table([], "HEAD", "workspace", kind="Metric") == ""
    assert diff_table([], "HEAD", "workspace", kind="Metric", md=True) == (
        "| Path   | Metric   | HEAD   | workspace   | Change   |\n"
        "|--------|----------|--------|-------------|----------|\n\n"
    )
    assert diff_json([]) == "{}"


def test_diff_json_is_unrounded_with_diff_only_for_numbers() -> None:
    deltas = [
        Delta("metrics.json", "acc", 0.925, 0.9512345678, 0.0262345678),
        Delta("metrics.json", "name", "a", "b"),
        Delta("other.json", "flag", False, True, 1),
    ]
    out = diff_json(deltas)
    assert "\n" not in out  # one line
    assert json.loads(out) == {
        "metrics.json": {
            "acc": {"old": 0.925, "new": 0.9512345678, "diff": 0.0262345678},
            "name": {"old": "a", "new": "b"},
        },
        "other.json": {"flag": {"old": False, "new": True, "diff": 1}},
    }


def values() -> RevisionValues:
    return RevisionValues(
        WS,
        files={
            "metrics.json": {"acc": 0.95, "loss": 0.3},
            "scores.yaml": {"auc": 0.75},
            "eval.toml": {"eval.rmse": 1.234567891},
        },
        raw={
            "metrics.json": {"acc": 0.95, "loss": 0.3},
            "scores.yaml": {"auc": 0.75},
            "eval.toml": {"eval": {"rmse": 1.234567891}},
        },
        errors=(FileError("workspace", "missing.json", "no such file", missing=True),),
        paths=("metrics.json", "missing.json", "scores.yaml", "eval.toml"),
    )


def test_show_table_as_documented_with_unreadable_files_in_place() -> None:
    assert show_table([values()], with_revision=False) == (
        "Path          acc    auc    eval.rmse    loss\n"
        "metrics.json  0.95   -      -            0.3\n"
        "missing.json  -      -      -            -\n"
        "scores.yaml   -      0.75   -            -\n"
        "eval.toml     -      -      1.23457      -\n"
    )


def test_show_table_with_revisions_skips_a_failed_revision_and_shows_bare_values() -> None:
    main = RevisionValues(Revision("main", "c" * 40), files={"n.txt": 7}, paths=("n.txt",))
    broken = RevisionValues(Revision("v1", "d" * 40), failed="dvc.yaml: bad")
    assert show_table([main, broken], with_revision=True, md=True) == (
        "| Revision   | Path   |    |\n"
        "|------------|--------|----|\n"
        "| main       | n.txt  | 7  |\n"
        "\n"
    )


def test_show_json_is_dvcs_shape() -> None:
    out = show_json([values()], with_revision=False)
    assert "\n" not in out
    assert json.loads(out) == {
        "": {
            "data": {
                "metrics.json": {"data": {"acc": 0.95, "loss": 0.3}},
                "missing.json": {"error": {"type": "FileError", "msg": "no such file"}},
                "scores.yaml": {"data": {"auc": 0.75}},
                "eval.toml": {"data": {"eval": {"rmse": 1.234567891}}},  # never rounded
            }
        }
    }
    assert list(json.loads(out)[""]["data"]) == [
        "metrics.json",
        "missing.json",
        "scores.yaml",
        "eval.toml",
    ]


def test_show_json_keys_revisions_and_reports_a_failed_one() -> None:
    broken = RevisionValues(Revision("v1", "d" * 40), failed="dvc.yaml:3: bad")
    doc = json.loads(show_json([values(), broken], with_revision=True))
    assert list(doc) == ["workspace", "v1"]
    assert doc["v1"] == {"error": {"type": "PipelineError", "msg": "dvc.yaml:3: bad"}}


def test_markdown_rows_keep_the_header_column_count_for_any_key() -> None:
    out = diff_table([Delta("m.json", "f1|macro", 1, 2, 1)], "a", "b", kind="Metric", md=True)
    counts = {line.replace("\\|", "").count("|") for line in out.splitlines() if line}
    assert counts == {6}
