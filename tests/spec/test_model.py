"""The resolved pipeline's value objects (``mlrepro.spec.model``).

A stage's id is the address DVC prints (``name`` in the root dvc.yaml, else
``file:name``); outputs default to DVC's flags; the objects are frozen. The ids are
also checked against what the loader builds from a real project.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from mlrepro.spec.model import Out, Pipeline, Stage
from mlrepro.spec.resolve import DvcFile


def test_out_defaults_are_dvcs() -> None:
    assert Out("model.pkl") == Out("model.pkl", cache=True, persist=False, push=True, remote=None)


def test_stage_ids() -> None:
    assert Stage("dvc.yaml", "train", "python t.py", ".").id == "train"
    assert Stage("dvc.yaml", "fit@eu", "x", ".").id == "fit@eu"
    assert Stage("sub/dvc.yaml", "train", "x", "sub").id == "sub/dvc.yaml:train"
    assert Stage("a/b/dvc.yaml", "g@1-x", "x", "a/b").id == "a/b/dvc.yaml:g@1-x"


def test_all_outs_in_section_order() -> None:
    stage = Stage(
        "dvc.yaml",
        "s",
        "x",
        ".",
        outs=(Out("o1"), Out("o2")),
        metrics=(Out("m.json", cache=False),),
        plots=(Out("p.csv"),),
    )
    assert stage.all_outs == (Out("o1"), Out("o2"), Out("m.json", cache=False), Out("p.csv"))
    assert Stage("dvc.yaml", "t", "x", ".").all_outs == ()


def test_values_are_frozen() -> None:
    stage = Stage("dvc.yaml", "s", "x", ".")
    with pytest.raises(dataclasses.FrozenInstanceError):
        stage.name = "t"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        Out("o").cache = False  # type: ignore[misc]
    # separate stages never share their params mapping
    assert Stage("dvc.yaml", "a", "x", ".").params is not Stage("dvc.yaml", "b", "x", ".").params


def test_pipeline_by_id() -> None:
    a = Stage("dvc.yaml", "a", "x", ".")
    b = Stage("sub/dvc.yaml", "b", "y", "sub", deps=("o",))
    pipeline = Pipeline("/root", (a, b), (("sub/dvc.yaml:b", "a"),), ("dvc.yaml", "sub/dvc.yaml"))
    assert pipeline.by_id() == {"a": a, "sub/dvc.yaml:b": b}
    assert pipeline.metrics == () and pipeline.params == ()


def test_ids_of_loaded_stages(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "dvc.yaml").write_text("stages:\n  top:\n    cmd: x\n")
    (tmp_path / "sub" / "dvc.yaml").write_text(
        "stages:\n  gen:\n    foreach: [a, b]\n    do:\n      cmd: echo ${item}\n"
    )
    top = DvcFile(str(tmp_path), "dvc.yaml").load()
    sub = DvcFile(str(tmp_path), "sub/dvc.yaml").load()
    assert [s.id for s in top + sub] == ["top", "sub/dvc.yaml:gen@a", "sub/dvc.yaml:gen@b"]
    assert [s.wdir for s in top + sub] == [".", "sub", "sub"]
