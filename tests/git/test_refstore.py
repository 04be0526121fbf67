"""mlrepro.git.refstore: objects written in-process as git writes them, refs moved by
compare-and-swap, files published by ``git fast-import``."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlrepro.errors import MlreproError
from mlrepro.git.refstore import BLOB, TREE, RefConflict, RefStore, parse_tip, tip_command
from tests.git.conftest import git

REF = "refs/mlrepro/test"


def test_objects_written_in_process_are_gits_own(repo: Path) -> None:
    store = RefStore(str(repo))
    blob = store.write_blob(b"data\n")
    assert blob.hex() == git(repo, "hash-object", "--stdin", input=b"data\n")
    inner = store.write_tree([(blob, BLOB, "f")])
    # git orders a folder's name as if it ended in "/": "a-b" < "a/" < "a0"
    items = [(blob, BLOB, "a0"), (inner, TREE, "a"), (blob, BLOB, "a-b")]
    tree = store.write_tree(items)
    listing = f"100644 blob {blob.hex()}\ta0\n040000 tree {inner.hex()}\ta\n"
    listing += f"100644 blob {blob.hex()}\ta-b\n"
    assert tree.hex() == git(repo, "mktree", input=listing.encode())
    head = git(repo, "rev-parse", "HEAD")
    made = store.write_commit(tree, [head], "a message", 1_700_000_000)
    assert git(repo, "rev-parse", f"{made}^") == head
    assert git(repo, "log", "-1", "--format=%an <%ae> %at%n%B", made) == (
        "mlrepro <audit@mlrepro.invalid> 1700000000\na message"
    )
    assert git(repo, "fsck", "--no-dangling") == ""


def test_published_files_land_on_the_ref_and_a_moved_ref_refuses(repo: Path) -> None:
    store = RefStore(str(repo))
    assert store.tip(REF) is None and store.tip_and_message(REF) is None
    store.add_files(REF, None, [("log/1.json", b"one"), ("log/2.json", b"two")], "first", 1)
    first = store.tip(REF)
    assert first is not None and store.tip_and_message(REF) == (first, "first\n")
    store.add_files(REF, first, [("log/3.json", b"three")], "second", 2)
    second = store.tip(REF)
    assert second is not None and store.is_ancestor(first, second)
    assert sorted(store.files(second, "log")) == ["log/1.json", "log/2.json", "log/3.json"]
    assert store.blobs(second, "log/") == [
        ("log/1.json", b"one"),
        ("log/2.json", b"two"),
        ("log/3.json", b"three"),
    ]
    with pytest.raises(RefConflict):  # the ref moved on from ``first``
        store.add_files(REF, first, [("log/4.json", b"four")], "stale", 3)
    assert store.tip(REF) == second


def test_an_import_commits_its_blobs_at_the_end_or_not_at_all(repo: Path) -> None:
    store = RefStore(str(repo))
    imp = store.start_import()
    marks = [imp.blob(b"a"), imp.blob(b"b")]
    assert store.tip(REF) is None  # nothing visible yet
    imp.commit(REF, None, [("x/a", marks[0]), ("x/b", marks[1])], "imported", 5)
    tip = store.tip(REF)
    assert tip is not None and store.blobs(tip, "x") == [("x/a", b"a"), ("x/b", b"b")]
    abandoned = store.start_import()
    abandoned.blob(b"c")
    abandoned.abandon()
    assert store.tip(REF) == tip


def test_refs_are_moved_listed_and_deleted_by_compare_and_swap(repo: Path) -> None:
    store = RefStore(str(repo))
    head = git(repo, "rev-parse", "HEAD")
    store.move(REF, head, None)
    with pytest.raises(RefConflict):
        store.move(REF, head, None)  # it exists now
    assert store.refs_under("refs/mlrepro/") == [REF]
    store.delete(REF)
    store.delete(REF)  # nothing to delete: nothing happens
    assert store.refs_under("refs/mlrepro/") == []


def test_a_log_travels_to_a_remote_and_back(repo: Path, tmp_path: Path) -> None:
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    store = RefStore(str(repo))
    store.add_files(REF, None, [("f", b"f")], "shared", 1)
    assert store.push(str(remote), REF) is None
    assert store.fetch(str(remote), REF, "refs/mlrepro/incoming")
    assert store.tip("refs/mlrepro/incoming") == store.tip(REF)
    assert not store.fetch(str(remote), "refs/mlrepro/none", "refs/mlrepro/x")
    git(repo, "update-ref", REF, git(repo, "rev-parse", "HEAD"))  # an unrelated history
    assert store.push(str(remote), REF) in ("non-fast-forward", "fetch first")
    with pytest.raises(MlreproError):
        store.push(str(tmp_path / "no-such-remote"), REF)


def test_a_tip_asked_through_a_started_process_parses_alike(repo: Path) -> None:
    head = git(repo, "rev-parse", "HEAD")
    out = git(repo, *tip_command("HEAD"))
    assert parse_tip(out) == (head, "init")
    assert parse_tip(None) is None and parse_tip("") is None


def test_outside_a_repository_the_store_says_so(tmp_path: Path) -> None:
    with pytest.raises(MlreproError, match="not inside a git repository"):
        _ = RefStore(str(tmp_path)).common_dir
