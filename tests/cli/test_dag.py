"""``mlrepro dag`` (mlrepro/cli/dag.py) through the real CLI: the text form's aligned
``<-`` column, targets by id or by an unambiguous name, stages of pipeline files in
subfolders, an empty pipeline, and which format wins when several are given
(docs/cli.md, "mlrepro dag").

The four formats on a typical pipeline are checked by tests/cli/test_cli.py."""

from __future__ import annotations

import json

from tests.ops.conftest import Proj

ROOT = """\
stages:
  prepare:
    cmd: x
    outs: [p]
  train:
    cmd: y
    deps: [p, sub/q]
    outs: [m]
  bare:
    cmd: echo
"""
SUB = """\
stages:
  train:
    cmd: w
    outs: [q]
  solo:
    cmd: v
    deps: [q]
"""


def two_files(proj: Proj) -> None:
    proj.write("dvc.yaml", ROOT)
    proj.write("sub/dvc.yaml", SUB)


def test_text_is_run_order_with_an_aligned_column_of_what_each_needs(proj: Proj) -> None:
    two_files(proj)
    assert proj.ok("dag").stdout.splitlines() == [
        "bare",
        "prepare",
        "sub/dvc.yaml:train",
        "sub/dvc.yaml:solo   <- sub/dvc.yaml:train",
        "train               <- prepare, sub/dvc.yaml:train",
    ]


def test_a_target_is_an_id_or_a_name_only_one_stage_has(proj: Proj) -> None:
    two_files(proj)
    # "train" is the root stage's id, although sub/dvc.yaml has a stage named train too
    assert proj.ok("dag", "train").stdout.splitlines() == [
        "prepare",
        "sub/dvc.yaml:train",
        "train               <- prepare, sub/dvc.yaml:train",
    ]
    by_name = json.loads(proj.ok("dag", "solo", "--json").stdout)
    by_id = json.loads(proj.ok("dag", "sub/dvc.yaml:solo", "--json").stdout)
    assert (
        by_name
        == by_id
        == {
            "version": 1,
            "stages": ["sub/dvc.yaml:train", "sub/dvc.yaml:solo"],
            "edges": [["sub/dvc.yaml:solo", "sub/dvc.yaml:train"]],
        }
    )


def test_an_ambiguous_name_is_a_usage_error_naming_the_candidates(proj: Proj) -> None:
    proj.write("a/dvc.yaml", "stages:\n  x:\n    cmd: w\n")
    proj.write("b/dvc.yaml", "stages:\n  x:\n    cmd: v\n")
    proc = proj.fails("dag", "x", code=2)
    assert proc.stdout == ""
    assert proc.stderr.splitlines() == [
        "error: stage name 'x' is ambiguous: a/dvc.yaml:x, b/dvc.yaml:x",
        "hint: name the stage as file:name",
    ]
    assert proj.ok("dag", "a/dvc.yaml:x", "b/dvc.yaml:x").stdout == "a/dvc.yaml:x\nb/dvc.yaml:x\n"


def test_an_empty_pipeline_prints_nothing_as_text_and_empty_graphs_otherwise(
    proj: Proj,
) -> None:
    proj.write("dvc.yaml", "stages: {}\n")
    assert proj.ok("dag").stdout == ""
    assert json.loads(proj.ok("dag", "--json").stdout) == {
        "version": 1,
        "stages": [],
        "edges": [],
    }
    assert proj.ok("dag", "--dot").stdout == "strict digraph {\n}\n"
    assert proj.ok("dag", "--mermaid").stdout == "flowchart TD\n"


def test_the_last_format_given_wins(proj: Proj) -> None:
    two_files(proj)
    assert proj.ok("dag", "--json", "--dot").stdout.startswith("strict digraph {")
    assert json.loads(proj.ok("dag", "--dot", "--json").stdout)["version"] == 1
    assert proj.ok("dag", "--dot", "--mermaid").stdout.startswith("flowchart TD")
