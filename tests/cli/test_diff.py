"""``mlrepro diff`` (mlrepro/cli/diff.py) through the real CLI: its default revisions
(``HEAD`` and the workspace), its three output forms, ``--precision`` (tables only: JSON
is never rounded), ``--targets``, and its errors (docs/cli.md, "mlrepro diff").

What the four parts of a diff hold is tests/ops/test_diff.py's subject."""

from __future__ import annotations

import json

import pytest

from tests.ops.conftest import Proj


def changed_since_head(proj: Proj) -> str:
    """params.yaml lr 0.1 -> 0.25 and metrics.json acc 0.123456789 -> 0.2, uncommitted."""
    proj.params({"lr": 0.1})
    proj.write("metrics.json", '{"acc": 0.123456789}')
    proj.pipeline(
        {"m": {"cmd": "true", "metrics": [{"metrics.json": {"cache": False}}], "params": ["lr"]}}
    )
    proj.commit("one")
    proj.params({"lr": 0.25})
    proj.write("metrics.json", '{"acc": 0.2}')
    return proj.git("rev-parse", "HEAD").strip()


PARAMS_TABLE = [
    "Params:",
    "Path         Param    HEAD    workspace",
    "params.yaml  lr       0.1     0.25",
]


def test_by_default_head_is_compared_with_the_workspace_rounded_to_5_places(
    proj: Proj,
) -> None:
    changed_since_head(proj)
    proc = proj.ok("diff")
    assert proc.stdout.splitlines() == [
        "Metrics:",
        "Path          Metric    HEAD     workspace    Change    Relative",
        "metrics.json  acc       0.12346  0.2          0.07654   +62.00%",
        "",
        *PARAMS_TABLE,
    ]
    assert proj.ok("diff", "HEAD", "workspace").stdout == proc.stdout
    # 0 means the default, as for metrics show
    assert proj.ok("diff", "--precision", "0").stdout == proc.stdout


def test_precision_rounds_the_tables_but_never_the_json(proj: Proj) -> None:
    changed_since_head(proj)
    two = proj.ok("diff", "--precision", "2").stdout.splitlines()
    assert two[2] == "metrics.json  acc       0.12    0.2          0.08      +62.00%"
    doc = json.loads(proj.ok("diff", "--json", "--precision", "2").stdout)
    assert doc["metrics"][0]["old"] == 0.123456789
    assert doc["metrics"][0]["change"] == pytest.approx(0.076543211)


def test_json_is_versioned_and_names_both_sides(proj: Proj) -> None:
    commit = changed_since_head(proj)
    doc = json.loads(proj.ok("diff", "--json").stdout)
    assert doc["version"] == 1
    assert doc["old"] == {"rev": "HEAD", "commit": commit}
    assert doc["new"] == {"rev": "workspace", "commit": None}
    assert doc["params"] == [{"path": "params.yaml", "key": "lr", "old": 0.1, "new": 0.25}]
    assert doc["metrics"][0]["relative"] == pytest.approx(0.62)
    assert (doc["data"], doc["stages"], doc["notes"]) == ([], [], [])


def test_markdown_is_the_pull_request_comment(proj: Proj) -> None:
    changed_since_head(proj)
    lines = proj.ok("diff", "--md").stdout.splitlines()
    assert lines[0] == "### mlrepro diff: `HEAD` → `workspace`"
    assert "#### Metrics" in lines and "#### Params" in lines
    assert "| params.yaml | lr      | 0.1    | 0.25        |" in lines


def test_targets_keep_only_changes_under_the_paths(proj: Proj) -> None:
    changed_since_head(proj)
    assert proj.ok("diff", "--targets", "params.yaml").stdout.splitlines() == PARAMS_TABLE


def test_no_differences_is_said_and_exits_0(proj: Proj) -> None:
    changed_since_head(proj)
    assert proj.ok("diff", "HEAD", "HEAD").stdout == "No differences between HEAD and HEAD.\n"


def test_an_unknown_revision_is_one_error_line_and_a_hint(proj: Proj) -> None:
    changed_since_head(proj)
    proc = proj.fails("diff", "nosuch")
    assert proc.stdout == ""
    assert proc.stderr.splitlines() == [
        "error: unknown revision 'nosuch'",
        "hint: name a commit, branch or tag that exists here (see `git log --oneline`)",
    ]


def test_a_precision_that_is_not_a_number_is_a_usage_error(proj: Proj) -> None:
    proc = proj.fails("diff", "--precision", "x", code=2)
    assert proc.stdout == ""
    assert proc.stderr.splitlines() == [
        "error: invalid value for '--precision': 'x' is not a valid integer.",
        "hint: run 'mlrepro diff --help' for its usage",
    ]
