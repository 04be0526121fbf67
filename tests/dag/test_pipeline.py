"""Loading a whole project (mlrepro.dag.pipeline): every dvc.yaml, the graph across
files, project-level metrics and params, graph errors located at their line, and the
canonical stage list. (The stage list's agreement with DVC is the differential suite's
job, tests/spec; this checks what load_pipeline adds on top of the spec layer.)"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from mlrepro.dag.pipeline import (
    STAGE_LIST_SCHEMA_VERSION,
    load_pipeline,
    pipeline_json,
    stage_list_json,
)
from mlrepro.errors import PipelineError


def write(root: Path, rel: str, text: str) -> None:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text, encoding="utf-8")


ROOT_DVC = """\
metrics: [m.json]
params: [p.yaml]
stages:
  b:
    cmd: echo b
    deps: [a_out]
    outs: [b_out]
  a:
    cmd: echo a
    outs: [a_out]
    params: [lr]
"""
SUB_DVC = """\
metrics: [m.json, sub_m.json]
stages:
  s:
    cmd: x
    deps: [../b_out]
    outs: [o]
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    write(tmp_path, "dvc.yaml", ROOT_DVC)
    write(tmp_path, "sub/dvc.yaml", SUB_DVC)
    write(tmp_path, "params.yaml", "lr: 1\n")
    return tmp_path


def test_every_pipeline_file_is_loaded_and_joined(project: Path) -> None:
    p = load_pipeline(project)
    assert p.root == str(project.resolve())
    assert p.dvcfiles == ("dvc.yaml", "sub/dvc.yaml")
    assert sorted(s.id for s in p.stages) == ["a", "b", "sub/dvc.yaml:s"]
    # the stage in sub/ reads ../b_out, which is b's output: an edge across files
    assert p.edges == (("b", "a"), ("sub/dvc.yaml:s", "b"))


def test_project_metrics_and_params_are_collected_once_in_order(project: Path) -> None:
    p = load_pipeline(project)
    # paths are as each file declares them (relative to that file), duplicates dropped
    assert p.params == ("p.yaml",)
    assert p.metrics[0] == "m.json" and len(p.metrics) == len(set(p.metrics))
    assert any(m.endswith("sub_m.json") for m in p.metrics)


def test_a_relative_root_gives_the_same_pipeline(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project / "sub")
    assert load_pipeline("..") == load_pipeline(project)


def test_a_pipeline_file_inside_an_output_is_not_loaded(tmp_path: Path) -> None:
    write(tmp_path, "dvc.yaml", "stages:\n  gen:\n    cmd: x\n    outs: [gen]\n")
    write(tmp_path, "gen/dvc.yaml", "stages:\n  inner:\n    cmd: y\n    outs: [z]\n")
    p = load_pipeline(tmp_path)
    assert p.dvcfiles == ("dvc.yaml",)
    assert [s.id for s in p.stages] == ["gen"]


def test_a_cycle_is_reported_at_the_line_of_the_stage(tmp_path: Path) -> None:
    write(
        tmp_path,
        "dvc.yaml",
        "stages:\n"
        "  first:\n    cmd: x\n    outs: [f]\n"
        "  loop:\n    cmd: y\n    deps: [l/in]\n    outs: [l]\n",
    )
    with pytest.raises(PipelineError) as err:
        load_pipeline(tmp_path)
    e = err.value
    assert (e.path, e.stage, e.line) == ("dvc.yaml", "loop", 5)
    assert "depends on its own output" in str(e) and "dvc.yaml:5" in str(e)


def test_a_foreach_stage_error_is_located_at_its_template(tmp_path: Path) -> None:
    write(
        tmp_path,
        "dvc.yaml",
        "stages:\n"
        "  ok:\n    cmd: x\n    outs: [shared]\n"
        "  per:\n"
        "    foreach: [u, v]\n"
        "    do:\n      cmd: y ${item}\n      outs:\n        - shared/${item}\n",
    )
    with pytest.raises(PipelineError) as err:
        load_pipeline(tmp_path)
    assert err.value.stage is not None and err.value.stage.startswith("per@")
    assert err.value.line == 5  # the `per:` line; `per@u` has no line of its own


def test_the_stage_list_is_canonical_and_versioned(project: Path) -> None:
    doc = stage_list_json(project)
    assert doc["schema_version"] == STAGE_LIST_SCHEMA_VERSION == 1
    assert [s["id"] for s in doc["stages"]] == ["a", "b", "sub/dvc.yaml:s"]  # sorted by id
    assert doc["edges"] == [["b", "a"], ["sub/dvc.yaml:s", "b"]]
    a = doc["stages"][0]
    assert a["params"] == {"params.yaml": ["lr"]}
    assert a["outs"] == [
        {"path": "a_out", "cache": True, "persist": False, "push": True, "remote": None}
    ]
    s = doc["stages"][2]
    assert (s["wdir"], s["deps"], s["outs"][0]["path"]) == ("sub", ["b_out"], "sub/o")
    # plain JSON, and the same document from the loaded pipeline
    assert json.loads(json.dumps(doc)) == doc == pipeline_json(load_pipeline(project))


def test_outputs_are_listed_sorted_whatever_the_declared_order(tmp_path: Path) -> None:
    write(tmp_path, "dvc.yaml", "stages:\n  s:\n    cmd: x\n    outs: [z, a, m]\n")
    doc = stage_list_json(tmp_path)
    assert [o["path"] for o in doc["stages"][0]["outs"]] == ["a", "m", "z"]


def test_no_pipeline_file_is_an_empty_pipeline(tmp_path: Path) -> None:
    p = load_pipeline(tmp_path)
    assert (p.stages, p.edges, p.dvcfiles) == ((), (), ())
    assert stage_list_json(os.fspath(tmp_path))["stages"] == []
