"""Folder summaries: the digests of a tracked folder are always those of its tree.

``folder_digests`` answers from per-directory summaries kept in the stat cache; these
tests compare it with the tree :meth:`Hasher.tree` builds file by file, on real
folders, across random edits, and check that a summary is trusted only as far as
the stat cache itself would be.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from mlrepro.workspace.folders import folder_digests
from mlrepro.workspace.hashing import Hasher
from mlrepro.workspace.statcache import StatCache

SECOND = 1_000_000_000
# Names chosen to trip path ordering ("a" < "a-b" < "a.b" < "a/" < "ab") and JSON escaping.
NAMES = ["a", "a.b", "a-b", "ab", "a b", "é", "Z", "_", 'q"t', "b\\c", "x\ny", "0"]


def age(path: Path, seconds: float = 10.0) -> None:
    then = time.time_ns() - int(seconds * SECOND)
    os.utime(path, ns=(then, then))


def write(root: Path, rel: str, data: bytes, *, old: bool = True) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    if old:
        age(path)


def expected(hasher: Hasher, rel: str) -> tuple[str, str, int, int]:
    tree = hasher.tree(rel)
    xxh, sha = tree.digests()
    return xxh, sha, tree.size, len(tree.entries)


def actual(hasher: Hasher, rel: str) -> tuple[str, str, int, int]:
    f = folder_digests(hasher, rel)
    return f.xxh, f.sha, f.size, f.nfiles


def fresh_hasher(root: Path) -> Hasher:
    return Hasher(str(root), StatCache(str(root / ".mlrepro" / "state" / "stat.db")))


paths = st.lists(st.sampled_from(NAMES), min_size=1, max_size=3).map("/".join)
# a folder beside files whose names sort around it
around = st.sampled_from(["a/x", "a.b", "a-b", "ab", "a0", "a/b/c"])
layouts = st.dictionaries(paths | around, st.binary(max_size=40), min_size=0, max_size=25)
edits = st.lists(
    st.tuples(st.sampled_from(["write", "delete", "rmdir", "flush"]), paths, st.binary(max_size=8)),
    max_size=8,
)


def build(root: Path, layout: dict[str, bytes]) -> None:
    """Write ``layout`` under ``root/data``, skipping paths that collide with a file/folder."""
    for rel, data in sorted(layout.items()):
        target = root / "data" / rel
        if any(p.is_file() for p in target.parents) or target.is_dir():
            continue
        write(root, f"data/{rel}", data)


@settings(max_examples=60, deadline=None)
@given(layout=layouts, steps=edits)
def test_matches_the_tree_through_any_edits(layout: dict[str, bytes], steps: list) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "data").mkdir()
        build(root, layout)
        hasher = fresh_hasher(root)
        assert actual(hasher, "data") == expected(hasher, "data")
        assert actual(hasher, "data") == expected(hasher, "data")  # from the summary
        for op, rel, data in steps:
            target = root / "data" / rel
            if op == "write":
                if any(p.is_file() for p in target.parents if p != root) or target.is_dir():
                    continue
                write(root, f"data/{rel}", data)
            elif op == "delete" and target.is_file():
                target.unlink()
            elif op == "rmdir" and target.is_dir():
                shutil.rmtree(target)
            elif op == "flush":
                hasher.stats.flush()
                hasher = fresh_hasher(root)  # a new process, reading what was stored
            assert actual(hasher, "data") == expected(hasher, "data"), (op, rel)
        hasher.stats.close()


def test_files_and_folders_that_sort_around_each_other(tmp_path: Path) -> None:
    """``a.b`` sorts before ``a/x`` ('.' < '/') though ``a`` < ``a.b``: the folder's
    entries must land where its paths sort, not where its name does."""
    for rel in ["a.b", "a-b", "a/x", "a/y/z", "ab", "a0", "a b/q", "0", "Z/w"]:
        write(tmp_path, f"data/{rel}", rel.encode())
    hasher = fresh_hasher(tmp_path)
    want = expected(hasher, "data")
    assert actual(hasher, "data") == want
    write(tmp_path, "data/a/y/new", b"new")  # one folder's summary stale, the rest reused
    assert actual(hasher, "data") == expected(hasher, "data") != want
    hasher.stats.close()


def test_a_large_folder_with_one_edit(tmp_path: Path) -> None:
    for d in range(20):
        for f in range(50):
            write(tmp_path, f"data/d{d:02d}/f{f:03d}.bin", f"{d}-{f}".encode())
    write(tmp_path, "data/top.txt", b"top")
    hasher = fresh_hasher(tmp_path)
    before = actual(hasher, "data")
    hasher.stats.close()

    write(tmp_path, "data/d07/f010.bin", b"changed")
    hasher = fresh_hasher(tmp_path)
    after = actual(hasher, "data")
    assert after != before
    assert after == expected(hasher, "data")
    # put back: the same digests as at first
    write(tmp_path, "data/d07/f010.bin", b"7-10")
    assert actual(hasher, "data") == before
    hasher.stats.close()


def test_summaries_are_what_answers_when_nothing_changed(tmp_path: Path) -> None:
    """A file rewritten in place with its size and mtime put back (the one change a stat
    cache cannot see) keeps the recorded answer: proof the summary answered, not a read."""
    write(tmp_path, "data/sub/f.bin", b"aaaa")
    hasher = fresh_hasher(tmp_path)
    first = actual(hasher, "data")
    f = tmp_path / "data" / "sub" / "f.bin"
    st_before = os.stat(f)
    with open(f, "r+b") as fh:  # same inode, same size
        fh.write(b"bbbb")
    os.utime(f, ns=(st_before.st_atime_ns, st_before.st_mtime_ns))
    assert actual(hasher, "data") == first
    assert expected(hasher, "data") == first  # the per-file stat cache agrees
    hasher.stats.close()


def test_a_summary_recorded_right_after_a_write_is_not_trusted(tmp_path: Path) -> None:
    """The racy case: written and summarised within the same moment, then rewritten in
    place with the same size and mtime. The summary must not vouch for it."""
    write(tmp_path, "data/f.bin", b"aaaa", old=False)
    hasher = fresh_hasher(tmp_path)
    first = actual(hasher, "data")
    f = tmp_path / "data" / "f.bin"
    st_before = os.stat(f)
    with open(f, "r+b") as fh:
        fh.write(b"bbbb")
    os.utime(f, ns=(st_before.st_atime_ns, st_before.st_mtime_ns))
    second = actual(hasher, "data")
    assert second != first
    assert second == expected(hasher, "data")
    hasher.stats.close()


def test_stale_directory_summaries_are_dropped(tmp_path: Path) -> None:
    write(tmp_path, "data/keep/a", b"1")
    write(tmp_path, "data/gone/b", b"2")
    hasher = fresh_hasher(tmp_path)
    actual(hasher, "data")
    hasher.stats.flush()
    assert set(hasher.stats.folder_parts("data")) == {"", "keep", "gone"}
    shutil.rmtree(tmp_path / "data" / "gone")
    assert actual(hasher, "data") == expected(hasher, "data")
    hasher.stats.flush()
    assert set(hasher.stats.folder_parts("data")) == {"", "keep"}
    hasher.stats.close()


def test_the_same_folder_tracked_at_two_levels(tmp_path: Path) -> None:
    """``data`` and ``data/sub`` both tracked: summaries are kept per tracked folder."""
    write(tmp_path, "data/x", b"x")
    write(tmp_path, "data/sub/y", b"y")
    hasher = fresh_hasher(tmp_path)
    for _ in range(2):
        assert actual(hasher, "data") == expected(hasher, "data")
        assert actual(hasher, "data/sub") == expected(hasher, "data/sub")
    hasher.stats.close()


def test_metadata_folders_and_links_to_folders_are_not_part_of_it(tmp_path: Path) -> None:
    write(tmp_path, "data/a", b"a")
    write(tmp_path, "data/.git/config", b"not data")
    write(tmp_path, "elsewhere/b", b"b")
    os.symlink(tmp_path / "elsewhere", tmp_path / "data" / "link")
    os.symlink(tmp_path / "elsewhere" / "b", tmp_path / "data" / "filelink")
    hasher = fresh_hasher(tmp_path)
    got = actual(hasher, "data")
    assert got == expected(hasher, "data")
    assert got[3] == 2  # a and the link to a file
    hasher.stats.close()
