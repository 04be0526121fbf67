"""mlrepro.git.process: git commands started at once, collected, stopped; one-shot
output; fast-import's environment; counting packs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mlrepro.git.process import (
    fast_import_env,
    git_all,
    git_collect,
    git_output,
    git_path,
    git_start,
    git_stop,
    pack_count,
    spawn_args,
)
from tests.git.conftest import commit, git


def test_several_commands_answer_in_order_and_a_failed_one_is_none(repo: Path) -> None:
    head = git(repo, "rev-parse", "HEAD")
    answers = git_all(
        str(repo),
        ("rev-parse", "HEAD"),
        ("rev-parse", "--verify", "-q", "no-such-branch"),
        ("log", "-1", "--format=%s"),
    )
    assert answers == [head, None, "init"]


def test_started_commands_overlap_the_callers_work(repo: Path) -> None:
    started = git_start(str(repo), ("rev-parse", "--abbrev-ref", "HEAD"))
    commit(repo, {"b": "b\n"}, "second")  # meanwhile
    assert git_collect(started) == ["main"]


def test_stopped_commands_are_reaped(repo: Path) -> None:
    started = git_start(str(repo), ("log",), ("status",))
    git_stop(started)
    assert all(p is not None and p.returncode is not None for p in started)


def test_outside_a_repository_every_answer_is_none(tmp_path: Path) -> None:
    assert git_all(str(tmp_path), ("rev-parse", "HEAD")) == [None]
    assert git_output(str(tmp_path), "rev-parse", "HEAD") is None
    assert git_output(str(tmp_path / "missing"), "version") is None


def test_one_command_gives_its_raw_bytes(repo: Path) -> None:
    out = git_output(str(repo), "ls-files", "-z")
    assert out == b"README\0"


def test_git_is_started_by_its_full_path_in_the_folder_given(repo: Path) -> None:
    # a full path, and "-C" rather than a working directory: posix_spawn's conditions
    argv = spawn_args(str(repo), "status")
    assert os.path.isabs(argv[0]) and argv[0] == git_path()
    assert argv[1:] == ["-C", str(repo), "status"]


def test_fast_import_keeps_freed_memory_and_the_users_tunables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("GLIBC_TUNABLES", raising=False)
    monkeypatch.setenv("MLREPRO_TEST_KEPT", "yes")
    assert fast_import_env()["GLIBC_TUNABLES"] == "glibc.malloc.trim_threshold=67108864"
    monkeypatch.setenv("GLIBC_TUNABLES", "glibc.malloc.arena_max=2")
    env = fast_import_env()
    assert env["GLIBC_TUNABLES"] == "glibc.malloc.arena_max=2:glibc.malloc.trim_threshold=67108864"
    assert env["MLREPRO_TEST_KEPT"] == "yes"  # the rest of the environment is kept


def test_packs_are_counted_where_git_keeps_them(repo: Path, tmp_path: Path) -> None:
    assert pack_count(str(repo)) == 0  # loose objects only
    git(repo, "repack", "-q", "-a", "-d")
    assert pack_count(str(repo)) == 1
    assert pack_count(str(tmp_path)) is None  # not a repository's top folder
