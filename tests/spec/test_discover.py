"""Finding the project root and every ``dvc.yaml`` (``mlrepro.spec.discover``).

DVC is the oracle for which pipeline files a project has (``tests/oracle``: DVC's
``collect_files`` honours ``.dvcignore``, git's ignore rules, sub-projects and the
outputs of files already loaded); the walk's order is depth first, in name order.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from mlrepro.errors import NotInRepositoryError, PipelineError
from mlrepro.spec.discover import find_root, relpath_in_root, walk_pipeline_files
from tests.oracle.dvc_oracle import Accepted, run_oracle
from tests.spec.gittrees import build, isolated
from tests.spec.helpers import Files


def one_stage(name: str, extra: str = "") -> str:
    return f"stages:\n  {name}:\n    cmd: x\n{extra}"


TREE: dict[str, str] = {
    "dvc.yaml": one_stage("root", "    outs:\n    - out\n"),
    "a/dvc.yaml": one_stage("a"),
    "a/b/dvc.yaml": one_stage("ab"),
    "a-b/dvc.yaml": one_stage("a_b"),
    ".hidden/dvc.yaml": one_stage("hidden"),
    ".dvcignore": "ignored/\nsub/skip\n",
    "ignored/dvc.yaml": one_stage("ignored"),
    "sub/skip/dvc.yaml": one_stage("skip"),
    "sub/keep/dvc.yaml": one_stage("keep"),
    ".gitignore": "gitignored/\n",
    "gitignored/dvc.yaml": one_stage("gitignored"),
    "subproject/.dvc/config": "",
    "subproject/dvc.yaml": one_stage("subproject"),
    "out/dvc.yaml": one_stage("in_an_output"),
}


def test_the_walk_finds_the_files_dvc_collects(
    project: Callable[[Files], Path], tmp_path: Path
) -> None:
    with isolated(tmp_path / "home"):  # no global excludes file of this machine
        check_the_tree(project(TREE))


def check_the_tree(root: Path) -> None:
    os.symlink("a", root / "link-to-a")  # a symlinked folder is not entered, as in DVC
    loaded: list[str] = []

    def load(rel: str) -> list[str]:
        loaded.append(rel)
        return ["out"] if rel == "dvc.yaml" else []

    found = walk_pipeline_files(str(root), load)
    # depth first, in name order
    assert (
        found
        == loaded
        == [
            "dvc.yaml",
            ".hidden/dvc.yaml",
            "a/dvc.yaml",
            "a/b/dvc.yaml",
            "a-b/dvc.yaml",
            "sub/keep/dvc.yaml",
        ]
    )
    dvc = run_oracle(root)
    assert isinstance(dvc, Accepted), dvc
    assert sorted(found) == sorted({s["dvcfile"] for s in dvc.data["stages"]})


def test_an_output_folder_is_not_entered(tmp_path: Path) -> None:
    (tmp_path / "data" / "deep").mkdir(parents=True)
    for rel in ("dvc.yaml", "data/dvc.yaml", "data/deep/dvc.yaml", "z/dvc.yaml"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("stages: {}\n")
    outs = {"dvc.yaml": ["data/deep"], "data/dvc.yaml": [], "z/dvc.yaml": []}
    assert walk_pipeline_files(str(tmp_path), lambda rel: outs[rel]) == [
        "dvc.yaml",
        "data/dvc.yaml",
        "z/dvc.yaml",
    ]


def test_a_dvc_yaml_folder_is_no_pipeline_file(tmp_path: Path) -> None:
    (tmp_path / "dvc.yaml").mkdir()
    (tmp_path / "dvc.yaml" / "dvc.yaml").write_text("stages: {}\n")
    assert walk_pipeline_files(str(tmp_path), lambda rel: []) == ["dvc.yaml/dvc.yaml"]


def test_find_root_is_the_git_work_tree(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    assert find_root(str(deep)) == str(tmp_path)
    assert find_root(str(tmp_path)) == str(tmp_path)
    # a linked work tree or a submodule has a .git file
    (deep / ".git").write_text("gitdir: ../../.git/worktrees/b\n")
    assert find_root(str(deep)) == str(deep)


def test_find_root_defaults_to_the_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    assert find_root() == str(tmp_path)


def test_outside_a_work_tree(tmp_path: Path) -> None:
    if any((p / ".git").exists() for p in tmp_path.parents):
        pytest.skip("the temporary folder lies inside a git work tree")
    with pytest.raises(NotInRepositoryError, match="is not inside a git work tree") as info:
        find_root(str(tmp_path))
    assert info.value.hint is not None and "git init" in info.value.hint


def test_relpath_in_root(tmp_path: Path) -> None:
    root = str(tmp_path)
    assert relpath_in_root(root, str(tmp_path / "a" / "b.csv")) == "a/b.csv"
    assert relpath_in_root(root, root) == "."
    assert relpath_in_root(root, str(tmp_path / "a" / ".." / "c")) == "c"
    with pytest.raises(PipelineError, match="is outside the project root"):
        relpath_in_root(root, str(tmp_path.parent / "elsewhere"))


def test_a_line_with_a_cr_hides_the_output_and_not_the_folder(tmp_path: Path) -> None:
    """Before issue 15's reader, ``/b<CR>c`` was two lines, and the walk skipped ``b/``."""
    with isolated(tmp_path / "home"):
        build(tmp_path / "repo", {"b": {}, "b\rc": None}, {"": b"/b\rc\n"})
        assert sorted(walk_pipeline_files(str(tmp_path / "repo"), lambda rel: [])) == [
            "b/dvc.yaml",
            "dvc.yaml",
        ]
