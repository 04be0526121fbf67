"""What ``repro`` reports: typed actions and events that equal the strings written out,
frozen outcomes, and the missing-dependency error with its fields and dvc.yaml line."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from mlrepro.engine.outcome import (
    UNFINISHED,
    Action,
    Event,
    MissingDependencyError,
    ReproResult,
    StageOutcome,
    stage_line,
)
from mlrepro.errors import MlreproError
from mlrepro.ops.repro import repro
from mlrepro.spec.model import Stage
from mlrepro.workspace.project import Project
from tests.ops.conftest import GIT_ENV, Proj


def test_actions_are_the_strings_json_and_the_cli_compare() -> None:
    assert [a.value for a in Action] == [
        "ran",
        "restored",
        "up-to-date",
        "failed",
        "blocked",
        "interrupted",
        "would-run",
        "would-restore",
    ]
    for a in Action:
        assert a == a.value and str(a) == a.value and f"{a}" == a.value
        assert json.dumps(a) == json.dumps(a.value)
    assert {Action.FAILED, Action.BLOCKED, Action.INTERRUPTED} == UNFINISHED


def test_events_are_the_strings_the_cli_dispatched_on() -> None:
    assert {e.value for e in Event} == {
        "start",
        "command",
        "line",
        "restored",
        "skipped",
        "done",
        "failed",
    }
    assert Event("line") is Event.LINE and Event.LINE == "line"


def test_outcomes_and_results_are_frozen() -> None:
    done = StageOutcome("a", Action.RAN, duration=1.0)
    result = ReproResult((done, StageOutcome("b", Action.FAILED, message="boom")))
    with pytest.raises(dataclasses.FrozenInstanceError):
        done.action = Action.FAILED  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.outcomes = ()  # type: ignore[misc]
    assert [o.id for o in result.failed] == ["b"]
    assert not result.interrupted
    assert result.count(Action.RAN) == 1 and result.count(Action.RESTORED) == 0


def _stage(name: str, dvcfile: str = "dvc.yaml") -> Stage:
    return Stage(dvcfile=dvcfile, name=name, cmd="true", wdir=".", deps=("data.csv",))


def test_missing_dependency_error_carries_its_fields(tmp_path: Path) -> None:
    (tmp_path / "dvc.yaml").write_text(
        "stages:\n  prepare:\n    cmd: true\n  train:\n    cmd: true\n    deps: [data.csv]\n"
    )
    exc = MissingDependencyError.of(str(tmp_path), _stage("train"), "data.csv")
    assert isinstance(exc, MlreproError)
    assert (exc.stage, exc.dependency, exc.dvcfile, exc.line) == (
        "train",
        "data.csv",
        "dvc.yaml",
        4,
    )
    assert exc.message == "dvc.yaml:4: stage 'train': dependency 'data.csv' does not exist"
    assert exc.hint == "create it, or add a stage that writes it"


def test_a_generated_stage_is_placed_at_its_group(tmp_path: Path) -> None:
    (tmp_path / "dvc.yaml").write_text(
        "stages:\n  train:\n    foreach: [a, b]\n    do:\n      cmd: echo ${item}\n"
    )
    assert stage_line(str(tmp_path), _stage("train@b")) == 2


def test_without_its_dvc_yaml_the_error_names_the_file_alone(tmp_path: Path) -> None:
    exc = MissingDependencyError.of(str(tmp_path), _stage("train", "sub/dvc.yaml"), "x")
    assert exc.line is None and exc.stage == "sub/dvc.yaml:train"
    assert exc.message == "sub/dvc.yaml: stage 'train': dependency 'x' does not exist"


# -- through the real CLI ----------------------------------------------------------


def _line_of(text: str, key: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if line.strip() == f"{key}:")


def test_repro_names_the_dvc_yaml_line_of_a_stage_whose_dependency_is_missing(
    proj: Proj,
) -> None:
    proj.pipeline(
        {
            "prepare": {"cmd": proj.cmd(["write", "a.txt", "a"]), "outs": ["a.txt"]},
            "train": {
                "cmd": proj.cmd(["cat", "model.txt", "data/x.csv"]),
                "deps": ["data/x.csv"],
                "outs": ["model.txt"],
            },
        }
    )
    line = _line_of(proj.read("dvc.yaml"), "train")
    err = proj.fails("repro").stderr
    assert f"dvc.yaml:{line}: stage 'train': dependency 'data/x.csv' does not exist" in err
    assert "hint: create it, or add a stage that writes it" in err
    assert "prepare" in proj.locked_stages()  # the other stage ran and is recorded


def test_a_missing_dependency_of_a_foreach_member_points_at_its_group(proj: Proj) -> None:
    proj.pipeline(
        {
            "train": {
                "foreach": ["a", "b"],
                "do": {
                    "cmd": proj.cmd(["cat", "out/${item}.txt", "data/${item}.csv"]),
                    "deps": ["data/${item}.csv"],
                    "outs": ["out/${item}.txt"],
                },
            }
        }
    )
    proj.write("data/a.csv", "1\n")
    line = _line_of(proj.read("dvc.yaml"), "train")
    err = proj.fails("repro", "--keep-going").stderr
    assert f"dvc.yaml:{line}: stage 'train@b': dependency 'data/b.csv' does not exist" in err


def test_a_stage_of_a_nested_dvc_yaml_names_that_file(proj: Proj) -> None:
    proj.write(
        "sub/dvc.yaml",
        "stages:\n  fit:\n    cmd: cat in.csv > out.txt\n    deps: [in.csv]\n    outs: [out.txt]\n",
    )
    err = proj.fails("repro").stderr
    assert "sub/dvc.yaml:2: stage 'fit': dependency 'sub/in.csv' does not exist" in err


def test_the_runner_emits_typed_events(proj: Proj, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in GIT_ENV.items():
        monkeypatch.setenv(name, value)
    proj.pipeline(
        {
            "a": {"cmd": proj.cmd(["write", "a.txt", "a"]), "outs": ["a.txt"]},
            "b": {"cmd": proj.cmd(["fail", "3"]), "deps": ["a.txt"], "outs": ["b.txt"]},
        }
    )
    seen: list[tuple[object, str]] = []
    project = Project(str(proj.root))
    try:
        result = repro(project, on_event=lambda event, sid, text: seen.append((event, sid)))
    finally:
        project.close()
    assert all(isinstance(event, Event) for event, _ in seen)
    assert (Event.START, "a") in seen and (Event.DONE, "a") in seen
    assert (Event.COMMAND, "b") in seen and (Event.FAILED, "b") in seen
    assert [(o.id, o.action) for o in result.outcomes] == [("a", Action.RAN), ("b", Action.FAILED)]
    assert all(type(o.action) is Action for o in result.outcomes)
