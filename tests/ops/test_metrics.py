"""``metrics show`` and ``metrics diff`` as use cases: frozen results, nothing printed."""

from __future__ import annotations

import dataclasses
import json

import pytest

from mlrepro.ops.metrics import MetricsDiff, MetricsShown, metrics_diff, metrics_show
from mlrepro.snapshot.values import Delta
from mlrepro.workspace.project import Project
from tests.ops.conftest import Proj


def two_commits(proj: Proj) -> None:
    proj.pipeline({"m": {"cmd": "true", "metrics": [{"m.json": {"cache": False}}]}})
    proj.write("m.json", json.dumps({"acc": 0.5, "loss": 0.5}))
    proj.commit("first")
    proj.git("tag", "v1")
    proj.write("m.json", json.dumps({"acc": 0.75, "loss": 0.5}))
    proj.commit("second")


def test_show_reads_the_workspace_and_hides_it_when_it_equals_the_branch(proj: Proj) -> None:
    two_commits(proj)
    project = Project.find(str(proj.root))
    try:
        shown = metrics_show(project)
        assert isinstance(shown, MetricsShown) and not shown.many
        assert [r.rev.label for r in shown.revisions] == ["workspace"]
        assert shown.revisions[0].files == {"m.json": {"acc": 0.75, "loss": 0.5}}
        assert shown.warnings == ()
        with pytest.raises(dataclasses.FrozenInstanceError):
            shown.many = True  # type: ignore[misc]

        both = metrics_show(project, all_branches=True, all_tags=True)
        assert both.many
        assert [r.rev.label for r in both.revisions] == ["main", "v1"]  # clean workspace hidden
        proj.write("m.json", json.dumps({"acc": 0.8, "loss": 0.5}))
        dirty = metrics_show(project, all_branches=True)
        assert [r.rev.label for r in dirty.revisions] == ["workspace", "main"]
    finally:
        project.close()


def test_diff_returns_the_deltas_and_the_warnings(proj: Proj) -> None:
    two_commits(proj)
    project = Project.find(str(proj.root))
    try:
        result = metrics_diff(project, "v1")
        assert isinstance(result, MetricsDiff)
        assert (result.old.rev.label, result.new.rev.label) == ("v1", "workspace")
        assert result.deltas == (Delta("m.json", "acc", 0.5, 0.75, 0.25),)
        assert len(metrics_diff(project, "v1", "HEAD", all_keys=True).deltas) == 2
        proj.write("m.json", "{not json")
        broken = metrics_diff(project)
        assert broken.deltas == (
            Delta("m.json", "acc", 0.75, None),
            Delta("m.json", "loss", 0.5, None),
        )
        assert len(broken.warnings) == 1 and broken.warnings[0].startswith("m.json at workspace")
    finally:
        project.close()
