"""What workspace paths hash to (mlrepro.workspace.hashing), checked against xxhash and
hashlib on real files; the stat cache is trusted only for unchanged files; folders
follow links to files inside the repository and refuse the rest when stored.
(Folder summaries against trees: tests/workspace/test_folders.py.)"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import xxhash
from hypothesis import given, settings
from hypothesis import strategies as st

from mlrepro.errors import MlreproError
from mlrepro.store.digest import SMALL
from mlrepro.store.objects import ObjectStore
from mlrepro.workspace.hashing import MISSING, Hasher
from mlrepro.workspace.statcache import StatCache

OLD = 1_600_000_000 * 10**9  # a modification time far in the past: not "racy"


@pytest.fixture
def hasher(tmp_path: Path) -> Iterator[Hasher]:
    stats = StatCache(str(tmp_path / ".mlrepro" / "state" / "stat.db"))
    yield Hasher(str(tmp_path), stats)
    stats.close()


def write(root: Path, rel: str, data: bytes, *, old: bool = True) -> Path:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data)
    if old:
        os.utime(p, ns=(OLD, OLD))
    return p


def xxh(data: bytes) -> str:
    return xxhash.xxh3_128_hexdigest(data)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@settings(max_examples=30)
@given(data=st.binary(max_size=3000))
def test_a_files_digests_are_its_bytes_hashes(
    tmp_path_factory: pytest.TempPathFactory, data: bytes
) -> None:
    root = tmp_path_factory.mktemp("h")
    stats = StatCache(str(root / "stat.db"))
    try:
        write(root, "f.bin", data)
        state = Hasher(str(root), stats).state("f.bin", sha=True)
        assert (state.kind, state.xxh, state.sha, state.size, state.nfiles) == (
            "file",
            xxh(data),
            sha(data),
            len(data),
            1,
        )
    finally:
        stats.close()


def test_sha256_is_only_computed_when_asked(tmp_path: Path, hasher: Hasher) -> None:
    write(tmp_path, "f", b"abc")
    assert hasher.state("f").sha is None
    assert hasher.state("f", sha=True).sha == sha(b"abc")
    assert hasher.state("f").sha == sha(b"abc")  # now known, so given


def test_missing_paths(tmp_path: Path, hasher: Hasher) -> None:
    write(tmp_path, "file", b"x")
    assert hasher.state("absent") == MISSING
    assert hasher.state("file/under") == MISSING  # a path below a file
    assert not MISSING.exists


def test_a_folder_is_summarised_by_its_files(tmp_path: Path, hasher: Hasher) -> None:
    write(tmp_path, "d/a", b"1")
    write(tmp_path, "d/sub/b", b"22")
    state = hasher.state("d")
    tree = hasher.tree("d")
    assert (state.kind, state.size, state.nfiles) == ("dir", 3, 2)
    assert (state.xxh, state.sha) == tree.digests()
    assert {e.path: (e.size, e.xxh, e.sha) for e in tree.entries} == {
        "a": (1, xxh(b"1"), sha(b"1")),
        "sub/b": (2, xxh(b"22"), sha(b"22")),
    }


def test_an_unchanged_file_is_answered_from_the_stat_cache(tmp_path: Path, hasher: Hasher) -> None:
    p = write(tmp_path, "f", b"aaaa")
    first = hasher.file("f", sha=True)
    # same size, same mtime, same inode: the stat cache vouches for it without reading
    with open(p, "r+b") as f:
        f.write(b"bbbb")
    os.utime(p, ns=(OLD, OLD))
    assert hasher.file("f", sha=True) == first
    # a changed modification time is a changed file: read again
    os.utime(p, ns=(OLD + 10**9, OLD + 10**9))
    again = hasher.file("f", sha=True)
    assert (again.xxh, again.sha) == (xxh(b"bbbb"), sha(b"bbbb"))


def test_a_changed_size_is_never_trusted(tmp_path: Path, hasher: Hasher) -> None:
    p = write(tmp_path, "f", b"short")
    hasher.file("f")
    p.write_bytes(b"longer now")
    os.utime(p, ns=(OLD, OLD))
    assert hasher.file("f").xxh == xxh(b"longer now")


def test_storing_a_file_puts_its_bytes_in_the_store(tmp_path: Path, hasher: Hasher) -> None:
    store = ObjectStore(str(tmp_path / "cache"))
    write(tmp_path, "f", b"content")
    hasher.file("f")  # known to the stat cache, but not yet stored
    d = hasher.file("f", store=store)
    assert d.xxh == xxh(b"content") and store.has(d.xxh)


def test_large_files_are_hashed_alike_in_the_pool(tmp_path: Path, hasher: Hasher) -> None:
    blobs = {f"big{i}": bytes([i]) * (SMALL + 1000 * i) for i in range(3)}
    blobs["small"] = b"s"
    files = []
    for rel, data in blobs.items():
        p = write(tmp_path, rel, data)
        files.append((rel, os.stat(p)))
    got = hasher.digests(files)
    assert [(d.xxh, d.sha, d.size) for d in got] == [
        (xxh(b), sha(b), len(b)) for b in blobs.values()
    ]


def test_a_stored_folder_follows_links_to_files_inside(tmp_path: Path, hasher: Hasher) -> None:
    store = ObjectStore(str(tmp_path / "cache"))
    write(tmp_path, "shared.txt", b"shared")
    write(tmp_path, "d/own", b"own")
    os.symlink("../shared.txt", tmp_path / "d/link")
    tree = hasher.tree("d", store)
    assert {e.path: e.xxh for e in tree.entries} == {"link": xxh(b"shared"), "own": xxh(b"own")}
    assert store.has(xxh(b"shared"))


@pytest.mark.parametrize("target", ["outside", "folder"])
def test_a_stored_folder_refuses_other_links(tmp_path: Path, target: str) -> None:
    root = tmp_path / "repo"
    write(tmp_path, "outside.txt", b"private")
    write(root, "inner/x", b"x")
    write(root, "d/own", b"own")
    os.symlink(tmp_path / "outside.txt" if target == "outside" else root / "inner", root / "d/l")
    stats = StatCache(str(root / "stat.db"))
    try:
        hasher = Hasher(str(root), stats)
        with pytest.raises(MlreproError, match="'d/l' is a symbolic link"):
            hasher.tree("d", ObjectStore(str(root / "cache")))
        assert not ObjectStore(str(root / "cache")).has(xxh(b"private"))
    finally:
        stats.close()


def test_skipped_names_are_not_part_of_a_folder(tmp_path: Path, hasher: Hasher) -> None:
    from mlrepro.workspace.folders import SKIP_NAMES

    write(tmp_path, "d/a", b"a")
    before = hasher.state("d")
    for name in sorted(SKIP_NAMES):
        write(tmp_path, f"d/{name}", b"ignored")
    hasher = Hasher(hasher.root, hasher.stats)
    assert hasher.tree("d").digests() == (before.xxh, before.sha)
