"""What status, repro and checkout share (mlrepro.dag.workstate): the graph's
producer/consumer maps, memoised workspace states, the project's data inputs, and the
path checks run when the state is loaded. In-process, in real git repositories."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mlrepro.dag.workstate import WorkState, check_stage_paths, git_tracked
from mlrepro.errors import PipelineError
from mlrepro.spec.model import Out, Stage
from mlrepro.workspace.project import Project
from tests.ops.conftest import Proj


def load(proj: Proj) -> WorkState:
    project = Project(str(proj.root))
    ws = WorkState.load(project)
    return ws


def stage(*outs: str, deps: tuple[str, ...] = ()) -> Stage:
    return Stage("dvc.yaml", "s", "true", ".", deps=deps, outs=tuple(Out(o) for o in outs))


def test_producers_and_consumers_mirror_the_edges(proj: Proj) -> None:
    proj.pipeline(
        {
            "a": {"cmd": "x", "outs": ["a.txt"]},
            "b": {"cmd": "x", "deps": ["a.txt"], "outs": ["b.txt"]},
            "c": {"cmd": "x", "deps": ["a.txt", "b.txt"], "outs": ["c.txt"]},
        }
    )
    ws = load(proj)
    try:
        assert ws.producers == {"a": [], "b": ["a"], "c": ["a", "b"]}
        assert ws.consumers == {"a": ["b", "c"], "b": ["c"], "c": []}
        assert set(ws.by_id) == {"a", "b", "c"}
    finally:
        ws.project.close()


def test_data_inputs_are_untracked_existing_deps_no_stage_makes(proj: Proj) -> None:
    proj.write("raw/images/1.png", "png")
    proj.write("raw/labels.csv", "l")
    proj.write("code/train.py", "print()")
    proj.write("tracked_dir/t.txt", "t")
    proj.commit("code")
    proj.write("loose.csv", "x")
    proj.pipeline(
        {
            "prep": {
                "cmd": "x",
                # raw/images lies inside raw: part of it, not an input of its own
                "deps": ["raw", "raw/images", "code/train.py", "tracked_dir", "missing.csv"],
                "outs": ["prep.out"],
            },
            "train": {"cmd": "x", "deps": ["prep.out", "loose.csv", "../up"], "outs": ["m"]},
        }
    )
    ws = load(proj)
    try:
        # raw/ and tracked_dir/ were committed with the code, so only loose.csv qualifies
        assert ws.data_inputs() == ["loose.csv"]
    finally:
        ws.project.close()


def test_a_nested_dep_is_part_of_its_untracked_parent(proj: Proj) -> None:
    proj.write("raw/images/1.png", "png")
    proj.write("raw/labels.csv", "l")
    proj.pipeline({"prep": {"cmd": "x", "deps": ["raw/images", "raw"], "outs": ["o"]}})
    ws = load(proj)
    try:
        assert ws.data_inputs() == ["raw"]
    finally:
        ws.project.close()


def test_git_tracked_counts_folders_holding_tracked_files(proj: Proj) -> None:
    proj.write("a/b/c.txt", "c")
    proj.write("d.txt", "d")
    proj.commit("files")
    proj.write("e/new.txt", "untracked")
    found = git_tracked(str(proj.root), ["a", "a/b", "a/b/c.txt", "d.txt", "e", "a/x"])
    assert found == {"a", "a/b", "a/b/c.txt", "d.txt"}


def test_dep_artifacts_describe_missing_files_and_folders(proj: Proj) -> None:
    proj.write("f.txt", "hello")
    proj.write("d/1.txt", "1")
    proj.write("d/sub/2.txt", "22")
    proj.pipeline({"s": {"cmd": "x", "deps": ["f.txt", "d", "gone"], "outs": ["o"]}})
    ws = load(proj)
    try:
        missing = ws.dep_artifact("gone")
        assert (missing.path, missing.digest) == ("gone", None)
        f = ws.dep_artifact("f.txt")
        assert f.digest is not None and f.digest.startswith("xxh3-128:")
        assert (f.size, f.isdir) == (5, False)
        d = ws.dep_artifact("d")
        assert d.isdir and d.nfiles == 2 and d.size == 3
    finally:
        ws.project.close()


def test_states_are_memoised_until_forgotten(proj: Proj) -> None:
    proj.write("d/sub/f.txt", "one")
    proj.pipeline({"s": {"cmd": "x", "deps": ["d"], "outs": ["o"]}})
    ws = load(proj)
    try:
        before = {p: ws.state(p) for p in ("d", "d/sub", "d/sub/f.txt")}
        proj.write("d/sub/f.txt", "two, longer")
        # memoised: the rewrite is not seen until it is forgotten
        assert ws.state("d/sub/f.txt") == before["d/sub/f.txt"]
        ws.forget("d/sub/f.txt")
        after = ws.state("d/sub/f.txt")
        assert after.xxh != before["d/sub/f.txt"].xxh and after.size == len("two, longer")
        # forgetting a file drops its parent folders too, not its siblings' prefixes
        assert ws.state("d").xxh != before["d"].xxh
        assert ws.state("d/sub").xxh != before["d/sub"].xxh
    finally:
        ws.project.close()


def test_params_values_come_from_the_tracked_keys(proj: Proj) -> None:
    proj.params({"lr": 0.5, "epochs": 3, "extra": "no"})
    proj.pipeline({"s": {"cmd": "x", "params": ["lr", "epochs"], "outs": ["o"]}})
    ws = load(proj)
    try:
        assert ws.param_values(ws.by_id["s"]) == {"params.yaml": {"epochs": 3, "lr": 0.5}}
    finally:
        ws.project.close()


@pytest.mark.parametrize("out", ["/abs/o", "..", "../o", ".", "https://host/o"])
def test_outputs_outside_the_repository_are_refused(tmp_path: Path, out: str) -> None:
    with pytest.raises(PipelineError, match="is outside the repository"):
        check_stage_paths(str(tmp_path), stage(out))


def test_an_output_through_a_symlink_leading_out_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    (tmp_path / "elsewhere").mkdir()
    os.symlink(tmp_path / "elsewhere", root / "link")
    with pytest.raises(PipelineError, match="through a symbolic link"):
        check_stage_paths(str(root), stage("link/o"))
    os.symlink(root / "inner", root / "ok")  # a link that stays inside is fine
    check_stage_paths(str(root), stage("ok/o"))


def test_a_path_holding_a_credential_is_refused_without_echoing_it(tmp_path: Path) -> None:
    dep = "https://user:Sup3rSecretPw@example.com/data.csv"
    with pytest.raises(PipelineError) as err:
        check_stage_paths(str(tmp_path), stage("o", deps=(dep,)))
    assert "holds a credential" in str(err.value)
    assert "Sup3rSecretPw" not in str(err.value)


def test_loading_checks_every_stages_paths(proj: Proj) -> None:
    proj.pipeline({"s": {"cmd": "x", "outs": ["../escape"]}})
    with pytest.raises(PipelineError, match="outside the repository"):
        load(proj)
