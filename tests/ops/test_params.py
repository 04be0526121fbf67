"""``params diff`` as a use case: a frozen result, nothing printed."""

from __future__ import annotations

from mlrepro.ops.params import ParamsDiff, params_diff
from mlrepro.snapshot.values import Delta
from mlrepro.workspace.project import Project
from tests.ops.conftest import Proj


def test_params_diff_of_head_and_the_workspace(proj: Proj) -> None:
    proj.pipeline({"train": {"cmd": "true", "params": ["lr"]}})
    proj.params({"lr": 0.1, "epochs": 3})
    proj.commit("params")
    proj.params({"lr": 0.2, "epochs": 4})
    project = Project.find(str(proj.root))
    try:
        result = params_diff(project)
        assert isinstance(result, ParamsDiff)
        assert (result.old.rev.label, result.new.rev.label) == ("HEAD", "workspace")
        assert result.deltas == (
            Delta("params.yaml", "epochs", 3, 4, 1),
            Delta("params.yaml", "lr", 0.1, 0.2, 0.2 - 0.1),
        )
        assert result.warnings == ()
        only_deps = params_diff(project, deps_only=True)
        assert [d.key for d in only_deps.deltas] == ["lr"]
    finally:
        project.close()
