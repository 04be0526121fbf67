"""A repository as mlrepro works in it (mlrepro.workspace.project): found from any
folder of a real git work tree, refused when not initialised, and its paths, config,
store and stat cache."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import xxhash

from mlrepro.errors import MlreproError, NotInRepositoryError
from mlrepro.ops.init import init
from mlrepro.workspace.config import Config
from mlrepro.workspace.project import STATE_DIR, Project

GIT_ENV = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}


def git_repo(path: Path) -> Path:
    subprocess.run(["git", "init", "-q", str(path)], check=True, env=GIT_ENV)
    return path


def test_found_from_a_folder_deep_inside(tmp_path: Path) -> None:
    root = git_repo(tmp_path / "repo")
    init(str(root))
    deep = root / "a" / "b"
    deep.mkdir(parents=True)
    project = Project.find(str(deep))
    assert project.root == str(root)
    assert project.state_dir == str(root / STATE_DIR)
    assert project.cache_dir == str(root / ".mlrepro" / "cache")
    assert project.tmp_dir == str(root / ".mlrepro" / "tmp")


def test_found_from_the_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = git_repo(tmp_path / "repo")
    init(str(root))
    (root / "sub").mkdir()
    monkeypatch.chdir(root / "sub")
    assert Project.find().root == str(root)


def test_an_uninitialised_repository_is_refused_unless_allowed(tmp_path: Path) -> None:
    root = git_repo(tmp_path / "repo")
    with pytest.raises(MlreproError, match="is not an mlrepro project") as err:
        Project.find(str(root))
    assert "mlrepro init" in (err.value.hint or "")
    assert Project.find(str(root), require_init=False).root == str(root)


def test_outside_any_git_work_tree_is_refused(tmp_path: Path) -> None:
    with pytest.raises(NotInRepositoryError, match="not inside a git work tree"):
        Project.find(str(tmp_path), require_init=False)


def test_a_nested_repository_is_its_own_project(tmp_path: Path) -> None:
    outer = git_repo(tmp_path / "outer")
    init(str(outer))
    inner = git_repo(outer / "vendor" / "inner")
    (inner / "x").mkdir()
    # the nearest work tree is the project, not the initialised one around it
    with pytest.raises(MlreproError, match="is not an mlrepro project"):
        Project.find(str(inner / "x"))
    init(str(inner))
    assert Project.find(str(inner)).root == str(inner)


def test_the_config_is_read_once_from_the_project(tmp_path: Path) -> None:
    root = git_repo(tmp_path / "repo")
    init(str(root))
    project = Project.find(str(root))
    assert project.config == Config()
    path = root / ".mlrepro" / "config.json"
    path.write_text(json.dumps({"version": 1, "cache": {"type": ["copy"]}}))
    assert project.config == Config()  # read once per project object
    assert Project.find(str(root)).config.link_types == ("copy",)


def test_the_store_and_stat_cache_live_under_the_state_folder(tmp_path: Path) -> None:
    root = git_repo(tmp_path / "repo")
    init(str(root))
    project = Project.find(str(root))
    xxh = project.store.add_bytes(b"hello")
    assert xxh == xxhash.xxh3_128_hexdigest(b"hello")
    assert (root / ".mlrepro" / "cache" / "xxh3-128" / xxh[:2] / xxh[2:]).read_bytes() == b"hello"
    assert project.store is project.store and project.stats is project.stats
    project.stats.preload("")  # opens the stat cache's database
    project.close()
    assert (root / ".mlrepro" / "state" / "stat.db").exists()
    project.close()  # closing twice, or without a stat cache opened, is harmless
    Project(str(root)).close()
