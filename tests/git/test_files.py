"""mlrepro.git.files: which paths git tracks, and a file's bytes at a revision."""

from __future__ import annotations

from pathlib import Path

from mlrepro.git.files import file_at, tracked
from tests.git.conftest import commit, git


def test_tracked_lists_the_files_git_tracks_at_or_below_each_path(repo: Path) -> None:
    commit(repo, {"data/a.csv": "a\n", "data/sub/b.csv": "b\n", "other.txt": "o\n"}, "data")
    (repo / "data" / "untracked.csv").write_text("u\n")
    (repo / "new.txt").write_text("n\n")
    assert sorted(tracked(str(repo), ["data", "new.txt", "other.txt"])) == [
        "data/a.csv",
        "data/sub/b.csv",
        "other.txt",
    ]
    assert tracked(str(repo), ["new.txt", "missing"]) == []


def test_tracked_keeps_names_git_cannot_decode(repo: Path) -> None:
    name = "caf\udce9.txt"  # a Latin-1 byte in a name: not UTF-8
    (repo / name).write_text("x\n")
    git(repo, "add", "--", name)
    git(repo, "commit", "-q", "-m", "latin-1 name")
    assert tracked(str(repo), [name]) == [name]


def test_tracked_outside_a_repository_is_nothing(tmp_path: Path) -> None:
    (tmp_path / "a").write_text("a\n")
    assert tracked(str(tmp_path), ["a"]) == []


def test_file_at_reads_any_revision_without_checking_it_out(repo: Path) -> None:
    first = git(repo, "rev-parse", "HEAD")
    commit(repo, {"README": "changed\n", "dir/f.json": '{"a": 1}\n'}, "second")
    (repo / "README").write_text("in the work tree only\n")
    assert file_at(str(repo), "HEAD", "README") == b"changed\n"
    assert file_at(str(repo), first, "README") == b"hello\n"
    assert file_at(str(repo), "HEAD~1", "README") == b"hello\n"
    assert file_at(str(repo), "HEAD", "dir/f.json") == b'{"a": 1}\n'


def test_file_at_is_none_for_what_is_not_a_file_there(repo: Path, tmp_path: Path) -> None:
    commit(repo, {"dir/f": "f\n"}, "dir")
    assert file_at(str(repo), "HEAD", "missing") is None
    assert file_at(str(repo), "HEAD~1", "dir/f") is None  # not there yet
    assert file_at(str(repo), "HEAD", "dir") is None  # a folder
    assert file_at(str(repo), "no-such-branch", "README") is None
    assert file_at(str(tmp_path), "HEAD", "README") is None  # not a repository
