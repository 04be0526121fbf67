"""Data diffs between revisions: typed change kinds and a frozen result."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
import yaml

from mlrepro.snapshot.datadiff import ChangeKind, DataChange, DataDiff, data_diff
from mlrepro.snapshot.revisions import Revisions
from mlrepro.workspace.project import Project
from tests.ops.conftest import Proj


@pytest.fixture
def revs(proj: Proj) -> Iterator[Revisions]:
    project = Project(str(proj.root))
    r = Revisions(str(proj.root), project.store)
    yield r
    r.close()
    project.close()


def test_change_kinds_are_the_strings_diff_json_writes() -> None:
    assert [k.value for k in ChangeKind] == ["added", "deleted", "modified"]


def test_a_data_diff_is_frozen_and_holds_tuples(proj: Proj, revs: Revisions) -> None:
    proj.write("raw/a.txt", "a\n")
    proj.write("raw/b.txt", "b\n")
    proj.ok("add", "raw")
    proj.commit("one")
    proj.write("raw/a.txt", "A\n")
    proj.write("raw/c.txt", "c\n")
    proj.write("new.txt", "n\n")
    proj.ok("add", "raw", "new.txt")
    proj.commit("two")
    diff = data_diff(revs, revs.revision("HEAD~1"), revs.revision("HEAD"))
    assert isinstance(diff.changes, tuple) and diff.unreadable == ()
    with pytest.raises(dataclasses.FrozenInstanceError):
        diff.changes = ()  # type: ignore[misc]
    assert [(c.path, c.kind) for c in diff.changes] == [
        ("new.txt", ChangeKind.ADDED),
        ("raw", ChangeKind.MODIFIED),
        ("raw/a.txt", ChangeKind.MODIFIED),
        ("raw/c.txt", ChangeKind.ADDED),
    ]
    assert (diff.changes[0].path, diff.changes[0].kind) == ("new.txt", "added")
    assert all(type(c.kind) is ChangeKind for c in diff.changes)
    assert [c.path for c in diff.of_kind(ChangeKind.ADDED)] == ["new.txt", "raw/c.txt"]


def test_a_data_change_is_frozen() -> None:
    change = DataChange("a", ChangeKind.ADDED, None, None)
    with pytest.raises(dataclasses.FrozenInstanceError):
        change.kind = ChangeKind.DELETED  # type: ignore[misc]
    assert DataDiff().changes == ()


def test_a_folder_whose_tree_cannot_be_read_is_named_with_the_object(proj: Proj) -> None:
    """Without a cache, or with its tree object gone, a folder's change is still listed
    and what could not be read is named: the path, and the object it needed."""
    proj.write("raw/a.txt", "a\n")
    proj.ok("add", "raw")
    proj.commit("one")
    proj.write("raw/a.txt", "A\n")
    proj.ok("add", "raw")
    proj.commit("two")
    old, new = (
        next(d["digest"] for d in yaml.safe_load(proj.git("show", f"{rev}:mlrepro.lock"))["data"])
        for rev in ("HEAD~1", "HEAD")
    )
    no_cache = Revisions(str(proj.root), None)
    try:
        diff = data_diff(no_cache, no_cache.revision("HEAD~1"), no_cache.revision("HEAD"))
    finally:
        no_cache.close()
    assert [(c.path, c.kind) for c in diff.changes] == [("raw", ChangeKind.MODIFIED)]
    assert diff.unreadable == (("raw", f"no cache to read {old} from (for 'raw')"),)
    proj.object_path(new).unlink()
    project = Project(str(proj.root))
    revs = Revisions(str(proj.root), project.store)
    try:
        diff = data_diff(revs, revs.revision("HEAD~1"), revs.revision("HEAD"))
    finally:
        revs.close()
        project.close()
    assert diff.unreadable == (("raw", f"object {new} is not in the cache"),)
