"""Checkpoints of the audit chain in committed history (mlrepro.audit.anchor): the
file's lines, read from HEAD and the work tree, and git merging it as a union of lines
across branches, in real git repositories."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from mlrepro.audit.anchor import (
    ATTRIBUTES,
    BadLine,
    Checkpoint,
    anchored,
    append,
    committed_files,
    path,
    read,
)
from tests.ops.conftest import git_env

A, B, C = ("a" * 64, "b" * 64, "c" * 64)


def git(root: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, env=git_env())
    assert proc.returncode == 0, (args, proc.stdout, proc.stderr)
    return proc.stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / ".mlrepro").mkdir()
    (root / "README").write_text("r\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "start")
    return root


def state(root: Path) -> str:
    return str(root / ".mlrepro")


def test_append_writes_lines_and_the_union_attribute(repo: Path) -> None:
    assert append(state(repo), 1, A) is True
    assert append(state(repo), 1, A) is False  # the last line already names it
    assert append(state(repo), 5, B) is True
    assert append(state(repo), 1, A) is True  # not the last line: a new checkpoint
    assert Path(path(state(repo))).read_text() == f"1 {A}\n5 {B}\n1 {A}\n"
    assert (repo / ".mlrepro" / ".gitattributes").read_text() == ATTRIBUTES
    assert ATTRIBUTES == "/audit-checkpoints merge=union\n"
    # git itself reads the attribute for the file
    out = git(repo, "check-attr", "merge", "--", ".mlrepro/audit-checkpoints")
    assert out.strip().endswith("merge: union")


def test_append_keeps_the_users_attributes_and_a_missing_final_newline(repo: Path) -> None:
    attrs = repo / ".mlrepro" / ".gitattributes"
    attrs.write_text("*.bin binary")
    Path(path(state(repo))).write_text(f"1 {A}")  # no final newline
    append(state(repo), 2, B)
    assert Path(path(state(repo))).read_text() == f"1 {A}\n2 {B}\n"
    assert attrs.read_text() == "*.bin binary\n" + ATTRIBUTES
    append(state(repo), 3, C)
    assert attrs.read_text().count("merge=union") == 1


def test_read_joins_head_and_the_work_tree_once_each(repo: Path) -> None:
    append(state(repo), 1, A)
    append(state(repo), 2, B)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "checkpoints")
    append(state(repo), 3, C)
    found, bad = read(str(repo), state(repo))
    assert found == [
        Checkpoint(1, A, "HEAD"),
        Checkpoint(2, B, "HEAD"),
        Checkpoint(3, C, "work tree"),
    ]
    assert bad == []


def test_a_line_removed_from_the_work_tree_is_still_read_from_head(repo: Path) -> None:
    append(state(repo), 1, A)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "checkpoints")
    os.remove(path(state(repo)))
    assert read(str(repo), state(repo))[0] == [Checkpoint(1, A, "HEAD")]


def test_lines_that_are_not_checkpoints_are_reported_where_they_are(repo: Path) -> None:
    Path(path(state(repo))).write_text(f"1 {A}\n\n<<<<<<< ours\n2 {B.upper()}\n  3 {C}  \nx {A}\n")
    found, bad = read(str(repo), state(repo))
    assert found == [Checkpoint(1, A, "work tree"), Checkpoint(3, C, "work tree")]
    assert bad == [
        BadLine("work tree", 3, "<<<<<<< ours"),
        BadLine("work tree", 4, f"2 {B.upper()}"),
        BadLine("work tree", 6, f"x {A}"),
    ]


def test_two_branches_adding_checkpoints_merge_without_conflict(repo: Path) -> None:
    append(state(repo), 1, A)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    git(repo, "checkout", "-q", "-b", "other")
    append(state(repo), 2, B)
    git(repo, "commit", "-q", "-am", "other")
    git(repo, "checkout", "-q", "main")
    append(state(repo), 3, C)
    git(repo, "commit", "-q", "-am", "main")
    git(repo, "merge", "-q", "--no-edit", "other")  # would conflict without merge=union
    text = Path(path(state(repo))).read_text()
    assert "<<<<" not in text
    found, bad = read(str(repo), state(repo))
    assert [(c.seq, c.id) for c in found] == [(1, A), (2, B), (3, C)]
    assert {c.where for c in found} == {"HEAD"} and bad == []


def test_read_without_any_file_or_commit(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    (tmp_path / ".mlrepro").mkdir()
    assert read(str(tmp_path), state(tmp_path)) == ([], [])


@pytest.mark.parametrize(
    ("action", "details", "expected"),
    [
        ("stage.run", {}, True),
        ("stage.run", {"status": "succeeded"}, True),
        ("stage.run", {"status": "failed"}, False),
        ("stage.restore", {}, True),
        ("add", {}, True),
        ("data.add", {}, True),
        ("config.set", {}, True),
        ("remote.modify", {}, True),
        ("checkout", {}, False),
        ("gc", {}, False),
        ("stage.skip", {}, False),
    ],
)
def test_which_actions_are_anchored(action: str, details: dict, expected: bool) -> None:  # type: ignore[type-arg]
    assert anchored(action, details) is expected


def test_committed_files_change_with_the_lock_or_the_config(tmp_path: Path) -> None:
    (tmp_path / ".mlrepro").mkdir()
    empty = committed_files(str(tmp_path))
    (tmp_path / "mlrepro.lock").write_text("version: 1\n")
    with_lock = committed_files(str(tmp_path))
    (tmp_path / ".mlrepro" / "config.json").write_text("{}")
    with_both = committed_files(str(tmp_path))
    assert len({empty, with_lock, with_both}) == 3
    (tmp_path / "other.txt").write_text("not committed by mlrepro")
    assert committed_files(str(tmp_path)) == with_both
    # the two files are told apart: the same bytes in the other one differ
    (tmp_path / "mlrepro.lock").unlink()
    (tmp_path / ".mlrepro" / "config.json").write_text("version: 1\n")
    assert committed_files(str(tmp_path)) != with_lock
