"""The SQLite stat cache: trusted only for the same file, never for racy entries, durable."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlrepro.store.digest import Digest
from mlrepro.workspace.statcache import RACY_NS, SCHEMA_VERSION, StatCache, StatKey

SECOND = 1_000_000_000
D = Digest(xxh="0" * 32, size=5, sha="f" * 64)


@pytest.fixture
def db(tmp_path: Path) -> str:
    return str(tmp_path / "state" / "stat.db")


def old_file(path: Path, data: bytes = b"hello", age_s: float = 10.0) -> os.stat_result:
    """A file last modified ``age_s`` ago (so recording it now is not racy)."""
    path.write_bytes(data)
    then = time.time_ns() - int(age_s * SECOND)
    os.utime(path, ns=(then, then))
    return os.stat(path)


def test_trusted_only_while_ino_size_and_mtime_match(db: str) -> None:
    cache = StatCache(db)
    key = StatKey(ino=100, size=5, mtime_ns=time.time_ns() - 10 * SECOND)
    cache.put("a.txt", key, D)
    assert cache.get("a.txt", key) == D
    assert cache.get("a.txt", StatKey(101, key.size, key.mtime_ns)) is None
    assert cache.get("a.txt", StatKey(key.ino, 6, key.mtime_ns)) is None
    assert cache.get("a.txt", StatKey(key.ino, key.size, key.mtime_ns + 1)) is None
    assert cache.get("a.txt", StatKey(key.ino, key.size, key.mtime_ns - 1)) is None
    assert cache.get("b.txt", key) is None
    cache.close()


def test_real_file_edits_invalidate(db: str, tmp_path: Path) -> None:
    cache = StatCache(db)
    f = tmp_path / "f.txt"
    st = old_file(f)
    cache.put("f.txt", StatKey.of(st), D)
    assert cache.get("f.txt", StatKey.of(os.stat(f))) == D
    # same size, new content, new mtime
    f.write_bytes(b"HELLO")
    assert cache.get("f.txt", StatKey.of(os.stat(f))) is None
    # replaced by another file with the old size and mtime: a new inode
    other = tmp_path / "other.txt"
    other.write_bytes(b"hello")
    os.utime(other, ns=(st.st_atime_ns, st.st_mtime_ns))
    os.replace(other, f)
    now = os.stat(f)
    assert (now.st_size, now.st_mtime_ns) == (st.st_size, st.st_mtime_ns)
    if now.st_ino != st.st_ino:  # inode numbers can be reused; usually they are not at once
        assert cache.get("f.txt", StatKey.of(now)) is None
    cache.close()


@settings(max_examples=200, deadline=None)
@given(offset_ms=st.integers(-1000, 1000))
def test_racy_entries_are_not_trusted(
    tmp_path_factory: pytest.TempPathFactory, offset_ms: int
) -> None:
    """Recorded within RACY_NS of the file's mtime (or before it): re-read next time."""
    cache = StatCache(str(tmp_path_factory.mktemp("racy") / "stat.db"))
    before = time.time_ns()
    key = StatKey(1, 5, before - offset_ms * 1_000_000)
    cache.put("x", key, D)
    after = time.time_ns()
    got = cache.get("x", key)
    if after - key.mtime_ns < RACY_NS:
        assert got is None
    elif before - key.mtime_ns >= RACY_NS:
        assert got == D
    cache.close()


def test_file_written_just_now_is_not_trusted(db: str, tmp_path: Path) -> None:
    cache = StatCache(db)
    f = tmp_path / "fresh.txt"
    f.write_bytes(b"just written")
    key = StatKey.of(os.stat(f))
    cache.put("fresh.txt", key, D)
    assert cache.get("fresh.txt", key) is None
    cache.flush()
    assert StatCache(db).get("fresh.txt", key) is None  # still racy once persisted
    cache.close()


def test_persists_across_instances(db: str) -> None:
    key = StatKey(7, 5, time.time_ns() - 10 * SECOND)
    first = StatCache(db)
    first.put("dir/a", key, D)
    first.put_blob("b" * 40, Digest(xxh="1" * 32, size=3, sha="2" * 64))
    first.close()
    second = StatCache(db)
    assert second.get("dir/a", key) == D
    assert second.get_blob("b" * 40) == Digest(xxh="1" * 32, size=3, sha="2" * 64)
    second.close()


def test_unflushed_entries_are_visible_to_their_instance_only(db: str) -> None:
    key = StatKey(7, 5, time.time_ns() - 10 * SECOND)
    first = StatCache(db)
    first.put("a", key, D)
    assert first.get("a", key) == D
    other = StatCache(db)
    assert other.get("a", key) is None
    first.flush()
    assert other.get("a", key) == D
    first.close()
    other.close()


def test_a_later_put_replaces_the_entry(db: str) -> None:
    cache = StatCache(db)
    old = StatKey(1, 5, time.time_ns() - 20 * SECOND)
    new = StatKey(1, 6, time.time_ns() - 10 * SECOND)
    cache.put("a", old, D)
    cache.flush()
    newer = Digest(xxh="9" * 32, size=6, sha=None)
    cache.put("a", new, newer)
    cache.close()
    again = StatCache(db)
    assert again.get("a", old) is None
    assert again.get("a", new) == newer
    again.close()


def test_preload_of_a_folder(db: str) -> None:
    key = StatKey(1, 5, time.time_ns() - 10 * SECOND)
    names = [
        "data",
        "data/a",
        "data/sub/b",
        "data-x",
        "data.y",
        "data0",
        "data2/c",
        "dat",
        "other/d",
    ]
    first = StatCache(db)
    for n in names:
        first.put(n, key, D)
    first.close()
    second = StatCache(db)
    second.preload("data")
    # every entry is still found, inside the preloaded folder and outside it
    for n in names:
        assert second.get(n, key) == D, n
    assert second.get("data/missing", key) is None
    second.close()


def test_blob_table(db: str) -> None:
    cache = StatCache(db)
    assert cache.get_blob("a" * 40) is None
    digest = Digest(xxh="3" * 32, size=12, sha=None)
    cache.put_blob("a" * 40, digest)
    assert cache.get_blob("a" * 40) == digest
    cache.flush()
    assert StatCache(db).get_blob("a" * 40) == digest
    assert StatCache(db).get_blob("c" * 40) is None
    cache.close()


def test_concurrent_puts_from_threads(db: str) -> None:
    cache = StatCache(db)
    key = StatKey(1, 5, time.time_ns() - 10 * SECOND)
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def worker(t: int) -> None:
        try:
            barrier.wait()
            for i in range(300):
                path = f"t{t}/f{i}"
                cache.put(path, key, Digest(xxh=f"{t:02d}{i:030d}", size=5, sha=None))
                cache.put_blob(f"{t:02d}{i:038d}", Digest(xxh="0" * 32, size=i, sha=None))
                if i % 50 == 0:
                    cache.flush()
                if i % 7 == 0:
                    assert cache.get(path, key) is not None
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    cache.close()
    again = StatCache(db)
    for t in range(8):
        for i in range(300):
            got = again.get(f"t{t}/f{i}", key)
            assert got is not None and got.xxh == f"{t:02d}{i:030d}"
            assert again.get_blob(f"{t:02d}{i:038d}") == Digest(xxh="0" * 32, size=i, sha=None)
    again.close()


def test_concurrent_instances_share_the_database(db: str) -> None:
    key = StatKey(1, 5, time.time_ns() - 10 * SECOND)
    caches = [StatCache(db) for _ in range(4)]

    def worker(n: int) -> None:
        for i in range(100):
            caches[n].put(f"c{n}/{i}", key, D)
            if i % 10 == 9:
                caches[n].flush()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    for c in caches:
        c.close()
    final = StatCache(db)
    assert all(final.get(f"c{n}/{i}", key) == D for n in range(4) for i in range(100))
    final.close()


def test_unknown_schema_version_is_rebuilt(db: str) -> None:
    key = StatKey(1, 5, time.time_ns() - 10 * SECOND)
    cache = StatCache(db)
    cache.put("a", key, D)
    cache.close()
    con = sqlite3.connect(db)
    con.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    con.commit()
    con.close()
    rebuilt = StatCache(db)  # a cache, not a record: starts empty instead of refusing
    assert rebuilt.get("a", key) is None
    rebuilt.put("a", key, D)
    rebuilt.close()
    assert StatCache(db).get("a", key) == D


# names as Linux has them: any bytes but "/" and NUL, held as Python holds them
NAME = (
    st.binary(min_size=1, max_size=6)
    .filter(lambda b: b"/" not in b and b"\0" not in b)
    .map(lambda b: b.decode("utf-8", "surrogateescape"))
)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(NAME, min_size=1, max_size=3).map("/".join), min_size=1, unique=True))
def test_paths_that_are_not_utf8_are_kept_exactly(
    tmp_path_factory: pytest.TempPathFactory, paths: list[str]
) -> None:
    """Issue 15: a name that is not UTF-8 is a key like any other, found again after
    a flush and in a preload of a folder above it (whatever that folder's name is)."""
    db = str(tmp_path_factory.mktemp("names") / "stat.db")
    key = StatKey(1, 5, time.time_ns() - 10 * SECOND)
    first = StatCache(db)
    for i, p in enumerate(paths):
        first.put(p, key, Digest(xxh=f"{i:032x}", size=5, sha=None))
    first.close()
    for prefix in {p.split("/")[0] for p in paths}:
        second = StatCache(db)
        second.preload(prefix)
        assert second.knows_under(prefix)
        for i, p in enumerate(paths):
            assert second.get(p, key) == Digest(xxh=f"{i:032x}", size=5, sha=None), p
        second.close()


def test_folder_summaries_of_folders_named_with_bytes(db: str) -> None:
    from mlrepro.workspace.statcache import FolderPart, FolderSum

    root, sub = "d\udce9", "s\udcff"
    part = FolderPart("fp", 1, 2, 3, 1, '{"path":"s\\udcff/x"}')
    total = FolderSum("fp", 1, 2, "0" * 32, "f" * 64, 3, 1)
    first = StatCache(db)
    first.put_folder(root, total, {sub: part}, set())
    first.close()
    second = StatCache(db)
    assert second.folder_sum(root) == total
    assert second.folder_parts(root) == {sub: part}
    second.put_folder(root, total, {}, {sub})
    second.close()
    assert StatCache(db).folder_parts(root) == {}
