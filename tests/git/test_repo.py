"""mlrepro.git.repo: any commit read through GitPython, without checking it out."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mlrepro.errors import MlreproError
from mlrepro.git.api import BlobRef, RevisionError
from mlrepro.git.repo import GitRepo
from tests.git.conftest import commit, git


@pytest.fixture
def history(repo: Path) -> Iterator[tuple[Path, list[str]]]:
    """Three commits on main (README; params; params changed), a light and an annotated
    tag, a branch, a tag naming a tree, and a commit on mlrepro's own ref."""
    first = git(repo, "rev-parse", "HEAD")
    second = commit(repo, {"params.yaml": "lr: 0.1\n", "src/train.py": "pass\n"}, "params")
    third = commit(repo, {"params.yaml": "lr: 0.2\n"}, "lr 0.2")
    git(repo, "tag", "light", second)
    git(repo, "tag", "-a", "-m", "release", "v1", third)
    git(repo, "tag", "a-tree", f"{third}^{{tree}}")
    git(repo, "branch", "old", first)
    audit = git(repo, "commit-tree", f"{first}^{{tree}}", "-m", "audit log")
    git(repo, "update-ref", "refs/mlrepro/audit", audit)  # reachable from mlrepro's ref only
    yield repo, [first, second, third]


def test_revisions_resolve_to_commits(history: tuple[Path, list[str]]) -> None:
    repo, (first, second, third) = history
    with_git = GitRepo(str(repo))
    try:
        assert with_git.resolve("HEAD") == third
        assert with_git.resolve("main") == third
        assert with_git.resolve("v1") == third  # an annotated tag: what it names
        assert with_git.resolve("light") == second
        assert with_git.resolve("HEAD~2") == first
        assert with_git.resolve(first[:10]) == first
        for bad in ("no-such", "a-tree", "HEAD:README"):
            with pytest.raises(RevisionError, match=f"unknown revision '{bad}'"):
                with_git.resolve(bad)
    finally:
        with_git.close()


def test_files_of_a_commit_and_their_bytes(history: tuple[Path, list[str]]) -> None:
    repo, (first, second, third) = history
    g = GitRepo(str(repo))
    files = g.files(second)
    assert sorted(files) == ["README", "params.yaml", "src/train.py"]
    assert files["params.yaml"] == BlobRef(git(repo, "rev-parse", f"{second}:params.yaml"), 8)
    assert g.read(second, "params.yaml") == b"lr: 0.1\n"
    assert g.read(third, "params.yaml") == b"lr: 0.2\n"
    assert g.read(first, "params.yaml") is None
    assert g.read(third, "src") is None  # a folder is not a file
    assert g.files_at(third, "src/train.py") == files["src/train.py"].sha
    assert g.files_at(first, "src/train.py") is None
    assert GitRepo(str(repo)).files_at(third, "src") is None  # without a listing
    assert g.read_blob(files["README"].sha) == b"hello\n"
    g.close()


def test_branches_tags_and_every_commit(history: tuple[Path, list[str]]) -> None:
    repo, (first, second, third) = history
    g = GitRepo(str(repo))
    assert g.refs("heads") == [("main", third), ("old", first)]
    assert g.refs("tags") == [("light", second), ("v1", third)]  # not the tag of a tree
    assert sorted(g.all_commits()) == sorted([third, second, first])  # not the audit log
    assert g.active_branch() == "main"
    git(repo, "checkout", "-q", "--detach", second)
    assert GitRepo(str(repo)).active_branch() is None
    g.close()


def test_log_of_a_range_a_path_and_a_limit(history: tuple[Path, list[str]]) -> None:
    repo, (first, second, third) = history
    g = GitRepo(str(repo))
    log = g.log()
    assert [c.sha for c in log] == [third, second, first]
    assert log[0].parents == (second,) and log[-1].parents == ()
    assert (log[0].author, log[0].email, log[0].subject) == (
        "mlrepro tests",
        "tests@mlrepro.invalid",
        "lr 0.2",
    )
    assert log[0].date == "2024-01-01T00:00:00+00:00" and log[0].short == third[:7]
    assert [c.sha for c in g.log(f"{first}..HEAD")] == [third, second]
    assert [c.sha for c in g.log(paths=("src",))] == [second]
    assert [c.sha for c in g.log("HEAD", limit=1)] == [third]
    with pytest.raises(RevisionError, match=r"unknown revision or range 'x\.\.y'"):
        g.log("x..y")
    g.close()


def test_outside_a_repository_it_says_so(tmp_path: Path) -> None:
    with pytest.raises(MlreproError, match="is not inside a git repository"):
        GitRepo(str(tmp_path))
