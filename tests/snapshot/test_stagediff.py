"""Stage diffs between two pipelines: typed kinds, in the order they are listed."""

from __future__ import annotations

import dataclasses

import pytest

from mlrepro.snapshot.stagediff import StageChange, StageChangeKind, stage_diff
from mlrepro.spec.model import Pipeline, Stage


def pipeline(*stages: Stage) -> Pipeline:
    return Pipeline(root="/r", stages=stages, edges=())


def stage(name: str, cmd: str, *deps: str) -> Stage:
    return Stage(dvcfile="dvc.yaml", name=name, cmd=cmd, wdir=".", deps=deps)


def test_kinds_are_the_strings_diff_json_writes_in_listing_order() -> None:
    assert [k.value for k in StageChangeKind] == ["added", "removed", "renamed", "modified"]


def test_changes_come_typed_sorted_and_frozen() -> None:
    old = pipeline(
        stage("a", "x"), stage("b", "y", "in.txt"), stage("old", "z"), stage("gone", "g")
    )
    new = pipeline(stage("a", "x2"), stage("b", "y", "in.txt"), stage("new", "z"), stage("c", "c"))
    changes = stage_diff(old, new)
    assert isinstance(changes, tuple)
    assert [(c.stage, c.kind, c.fields, c.renamed_from) for c in changes] == [
        ("c", StageChangeKind.ADDED, (), None),
        ("gone", StageChangeKind.REMOVED, (), None),
        ("new", StageChangeKind.RENAMED, (), "old"),
        ("a", StageChangeKind.MODIFIED, ("cmd",), None),
    ]
    with pytest.raises(dataclasses.FrozenInstanceError):
        changes[0].kind = StageChangeKind.REMOVED  # type: ignore[misc]
    assert stage_diff(None, None) == ()
    assert StageChange("s", StageChangeKind.ADDED).kind == "added"
