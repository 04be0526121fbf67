"""mlrepro.git.blobs: git's blob ids of the tracked files the work tree holds unmodified."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from mlrepro.git.blobs import GitBlobs, clean_blobs
from tests.git.conftest import commit, git


def test_unmodified_tracked_files_have_gits_blob_ids(repo: Path) -> None:
    commit(repo, {"a.txt": "a\n", "sub/b.txt": "b\n", "c.txt": "c\n"}, "files")
    (repo / "c.txt").write_text("changed\n")  # modified: git's id is not its content's
    (repo / "untracked.txt").write_text("u\n")
    found = clean_blobs(str(repo))
    assert found == {
        "README": git(repo, "hash-object", "README"),
        "a.txt": git(repo, "hash-object", "a.txt"),
        "sub/b.txt": git(repo, "hash-object", "sub/b.txt"),
    }


def test_links_and_executables(repo: Path) -> None:
    (repo / "run.sh").write_text("#!/bin/sh\n")
    os.chmod(repo / "run.sh", 0o755)
    os.symlink("README", repo / "link")
    git(repo, "add", "run.sh", "link")
    git(repo, "commit", "-q", "-m", "link and script")
    found = clean_blobs(str(repo))
    assert "run.sh" in found  # a regular file, executable
    assert "link" not in found  # a link's blob is its target's name, not its bytes


def test_files_in_a_merge_conflict_are_left_out(repo: Path) -> None:
    git(repo, "checkout", "-q", "-b", "other")
    commit(repo, {"README": "other\n"}, "other")
    git(repo, "checkout", "-q", "main")
    commit(repo, {"README": "main\n", "x": "x\n"}, "main")
    merge = subprocess.run(["git", "merge", "-q", "other"], cwd=repo, capture_output=True)
    assert merge.returncode != 0  # a conflict in README
    found = clean_blobs(str(repo))
    assert "README" not in found and "x" in found


def test_outside_a_repository_nothing_is_known(tmp_path: Path) -> None:
    (tmp_path / "a").write_text("a\n")
    assert clean_blobs(str(tmp_path)) == {}
    assert GitBlobs(str(tmp_path)).blob("a") is None


def test_git_is_asked_once_per_command(repo: Path) -> None:
    blobs = GitBlobs(str(repo))
    before = blobs.blob("README")
    assert before == git(repo, "hash-object", "README")
    (repo / "README").write_text("changed since\n")
    assert blobs.blob("README") == before  # the answer of the first question
    assert GitBlobs(str(repo)).blob("README") is None  # a new command asks again
    assert blobs.blob("missing") is None
