"""The object store: round trips, idempotence, read-only objects, no debris, corruption caught."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import random
import stat
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from unittest import mock

import pytest
import xxhash
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlrepro.errors import MlreproError
from mlrepro.fsutil import unnamed_files
from mlrepro.store import digest as digest_mod
from mlrepro.store import fileio
from mlrepro.store import objects as objects_mod
from mlrepro.store import placing as placing_mod
from mlrepro.store.digest import CHUNK, SMALL, XXH, hash_stream
from mlrepro.store.objects import CorruptObjectError, MissingObjectError, ObjectStore
from mlrepro.store.placing import copy_out, link_out
from tests.adversarial.test_disk import fill, free_bytes, remount_read_only, small_disk

UNNAMED = unnamed_files(tempfile.gettempdir())  # O_TMPFILE where the tests' folders are
needs_unnamed = pytest.mark.skipif(not UNNAMED, reason="O_TMPFILE is not available here")
DATA = st.binary(max_size=20_000)
# real temp folders inside property tests: a fresh folder per example
PROPS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture
def store(tmp_path: Path) -> ObjectStore:
    return ObjectStore(str(tmp_path / "cache"))


def all_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() or p.is_symlink())


def debris(*roots: Path) -> list[Path]:
    """Temporary files left behind anywhere under ``roots``."""
    return [p for r in roots for p in all_files(r) if ".tmp-" in p.name or "tmp-" in p.name]


def named_only(folder: str) -> bool:
    return False  # as on a file system without unnamed files: the reference way


def objects_on_disk(store: ObjectStore) -> list[Path]:
    base = Path(store.root) / XXH
    return all_files(base) if base.exists() else []


# -- round trips --------------------------------------------------------------


@PROPS
@given(data=DATA, whole=st.booleans())
def test_add_bytes_round_trip(
    tmp_path_factory: pytest.TempPathFactory, data: bytes, whole: bool
) -> None:
    work = tmp_path_factory.mktemp("rt")
    store = ObjectStore(str(work / "cache"))
    xxh = store.add_bytes(data)
    assert xxh == xxhash.xxh3_128_hexdigest(data)
    assert store.has(xxh)
    assert store.read_bytes(xxh) == data
    assert store.verify(xxh)
    dest = work / "out" / "copy.bin"
    # whole: the caller passes the size, so small objects are read in one call
    copy_out(store, xxh, str(dest), size=len(data) if whole else None)
    assert dest.read_bytes() == data
    assert debris(work) == []


@PROPS
@given(data=DATA, whole=st.booleans(), sha=st.booleans())
def test_add_file_round_trip(
    tmp_path_factory: pytest.TempPathFactory, data: bytes, whole: bool, sha: bool
) -> None:
    work = tmp_path_factory.mktemp("rt")
    store = ObjectStore(str(work / "cache"))
    src = work / "src.bin"
    src.write_bytes(data)
    digest = store.add_file(str(src), sha=sha, size=len(data) if whole else None)
    assert digest.xxh == xxhash.xxh3_128_hexdigest(data)
    assert digest.size == len(data)
    assert digest.sha == (hashlib.sha256(data).hexdigest() if sha else None)
    assert store.read_bytes(digest.xxh) == data
    dest = work / "dest.bin"
    copy_out(store, digest.xxh, str(dest), size=len(data) if whole else None)
    assert dest.read_bytes() == data
    assert src.read_bytes() == data  # the source is left alone
    assert debris(work) == []


@PROPS
@given(data=DATA, twice=st.sampled_from(["bytes-bytes", "file-file", "bytes-file", "file-bytes"]))
def test_adding_twice_gives_one_object(
    tmp_path_factory: pytest.TempPathFactory, data: bytes, twice: str
) -> None:
    work = tmp_path_factory.mktemp("idem")
    store = ObjectStore(str(work / "cache"))
    src = work / "src.bin"
    src.write_bytes(data)

    def add(how: str) -> str:
        return store.add_bytes(data) if how == "bytes" else store.add_file(str(src)).xxh

    first, second = (add(how) for how in twice.split("-"))
    assert first == second
    assert objects_on_disk(store) == [Path(store.path(first))]
    assert list(store.iter_objects()) == [first]
    assert store.read_bytes(first) == data
    assert debris(work) == []


def test_large_file_round_trip(store: ObjectStore, tmp_path: Path) -> None:
    # larger than both the read-whole threshold and one streaming chunk
    data = hashlib.shake_256(b"large").digest(max(SMALL, CHUNK) + 4097)
    src = tmp_path / "large.bin"
    src.write_bytes(data)
    for size in (None, len(data)):
        digest = store.add_file(str(src), size=size)
        assert digest.xxh == xxhash.xxh3_128_hexdigest(data)
        assert digest.sha == hashlib.sha256(data).hexdigest()
        dest = tmp_path / "out.bin"
        copy_out(store, digest.xxh, str(dest), size=size)
        assert dest.read_bytes() == data
    assert list(store.iter_objects()) == [digest.xxh]
    assert debris(tmp_path) == []


def test_object_path_layout(store: ObjectStore) -> None:
    xxh = store.add_bytes(b"layout")
    assert store.path(xxh) == os.path.join(store.root, XXH, xxh[:2], xxh[2:])
    assert os.path.isfile(store.path(xxh))


@pytest.mark.parametrize(
    "name",
    ["../../../../etc/passwd", "/etc/passwd", "00/" + "0" * 29, "..x", "ab..", "ab.", "ab", ""],
)
def test_a_name_that_is_not_a_digest_never_becomes_a_path(
    store: ObjectStore, tmp_path: Path, name: str
) -> None:
    """The last guard behind the checks where records are read (lock file, trees): a
    name from a tampered record would otherwise be a path out of the cache, and
    ``remove`` would delete what it names."""
    victim = tmp_path / "victim"
    victim.write_bytes(b"not the cache's")
    # "ab/abs/path": two characters of folder, then an absolute path that os.path.join
    # would have taken whole
    for bad in (name, "ab" + str(victim)):
        with store.batch():
            store.add_bytes(b"opens the batch's folders")
            for method in (store.path, store.has, store.read_bytes, store.verify, store.remove):
                with pytest.raises(ValueError, match="not an object name"):
                    method(bad)
        with pytest.raises(ValueError, match="not an object name"):
            copy_out(store, bad, str(tmp_path / "dest"))
    assert victim.read_bytes() == b"not the cache's" and not (tmp_path / "dest").exists()


def test_a_stray_file_in_a_prefix_folder_is_listed_and_can_be_removed(
    store: ObjectStore,
) -> None:
    """What `cache verify` reports as corrupt and --repair (or gc) removes: a file in a
    prefix folder whose name is not an object's (a copy left by hand, a tool's debris)."""
    xxh = store.add_bytes(b"an object")
    stray = Path(store.root, XXH, xxh[:2], "junk")
    stray.write_bytes(b"junk")
    name = xxh[:2] + "junk"
    assert sorted(store.iter_objects()) == sorted([xxh, name])
    assert store.path(name) == str(stray)
    assert store.has(name) and not store.verify(name)
    store.remove(name)
    assert not stray.exists() and list(store.iter_objects()) == [xxh]


def test_concurrent_adds_of_the_same_bytes(store: ObjectStore, tmp_path: Path) -> None:
    data = os.urandom(1 << 16)
    src = tmp_path / "src.bin"
    src.write_bytes(data)
    results: list[str] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def worker(i: int) -> None:
        try:
            barrier.wait()
            results.append(store.add_bytes(data) if i % 2 else store.add_file(str(src)).xxh)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(set(results)) == 1
    assert list(store.iter_objects()) == [results[0]]
    assert store.read_bytes(results[0]) == data
    assert debris(tmp_path) == []


# -- immutability -----------------------------------------------------------------


def test_objects_are_read_only(store: ObjectStore, tmp_path: Path) -> None:
    src = tmp_path / "f"
    src.write_bytes(b"from a file")
    for xxh in (store.add_bytes(b"from bytes"), store.add_file(str(src)).xxh):
        mode = os.stat(store.path(xxh)).st_mode
        assert mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH) == 0, oct(mode)


def test_a_checked_out_copy_is_writable_and_independent(store: ObjectStore, tmp_path: Path) -> None:
    xxh = store.add_bytes(b"original")
    dest = tmp_path / "work" / "file.txt"
    copy_out(store, xxh, str(dest))
    assert os.stat(dest).st_mode & stat.S_IWUSR
    dest.write_bytes(b"edited in the workspace")
    assert store.read_bytes(xxh) == b"original"
    assert os.stat(dest).st_ino != os.stat(store.path(xxh)).st_ino


def test_copy_out_replaces_an_existing_file(store: ObjectStore, tmp_path: Path) -> None:
    xxh = store.add_bytes(b"new")
    dest = tmp_path / "file.txt"
    dest.write_bytes(b"old content, longer than the new")
    copy_out(store, xxh, str(dest))
    assert dest.read_bytes() == b"new"
    assert debris(tmp_path) == []


@pytest.mark.parametrize("link", ["hardlink", "symlink", "copy", "reflink"])
def test_link_out(store: ObjectStore, tmp_path: Path, link: str) -> None:
    xxh = store.add_bytes(b"linked")
    dest = tmp_path / "w" / "f.bin"
    try:
        link_out(store, xxh, str(dest), link)
    except OSError:
        # reflink is refused by filesystems without copy-on-write: nothing may be left behind
        assert link == "reflink"
        assert not dest.exists()
    else:
        assert dest.read_bytes() == b"linked"
        if link == "hardlink":
            assert os.stat(dest).st_ino == os.stat(store.path(xxh)).st_ino
        if link == "symlink":
            assert os.readlink(dest) == store.path(xxh)
    assert debris(tmp_path) == []
    assert store.read_bytes(xxh) == b"linked"


# -- failures leave nothing behind ------------------------------------------------


class Injected(Exception):
    pass


def failing_sink_after(nbytes: int, exc: type[BaseException] = Injected) -> Callable[..., object]:
    """A stand-in for hash_stream whose sink fails once ``nbytes`` have gone through."""
    real = hash_stream

    def fake(f, *, sha=False, sink=None, chunk=4 << 20):  # type: ignore[no-untyped-def]
        seen = 0

        def wrapped(view: memoryview) -> object:
            nonlocal seen
            seen += len(view)
            if seen > nbytes:
                raise exc(f"after {nbytes} bytes")
            assert sink is not None
            return sink(view)

        return real(f, sha=sha, sink=wrapped if sink is not None else None, chunk=7)

    return fake


@pytest.mark.parametrize("exc", [Injected, KeyboardInterrupt])
def test_add_file_failing_mid_write_leaves_no_temp_file(
    store: ObjectStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, exc: type[BaseException]
) -> None:
    src = tmp_path / "src.bin"
    src.write_bytes(b"0123456789" * 10)
    monkeypatch.setattr(objects_mod, "hash_stream", failing_sink_after(30, exc))
    streamed = failing_sink_after(30, exc)

    def mapped_fails(path: str, *, sha: bool = False, sink=None):  # type: ignore[no-untyped-def]
        with open(path, "rb", buffering=0) as f:  # the large-file path, failing mid-copy
            return streamed(f, sha=sha, sink=sink)

    monkeypatch.setattr(objects_mod, "hash_mapped", mapped_fails)
    with pytest.raises(exc):
        store.add_file(str(src))  # large-file path (size unknown)
    assert objects_on_disk(store) == []
    assert debris(tmp_path) == []


@pytest.mark.parametrize("exc", [Injected, KeyboardInterrupt])
def test_small_writes_failing_midway_leave_no_temp_file(
    store: ObjectStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, exc: type[BaseException]
) -> None:
    real = fileio.write_new

    def half_then_fail(path: str, data: bytes | memoryview, mode: int) -> None:
        real(path, bytes(data)[: len(data) // 2], mode)
        raise exc("disk full")

    monkeypatch.setattr(objects_mod, "unnamed_files", named_only)  # the named temporary file path
    monkeypatch.setattr(fileio, "write_new", half_then_fail)
    src = tmp_path / "src.bin"
    src.write_bytes(b"small file")
    with pytest.raises(exc):
        store.add_file(str(src), size=src.stat().st_size)  # read-whole path
    with pytest.raises(exc):
        store.add_bytes(b"never stored")
    xxh = xxhash.xxh3_128_hexdigest(b"never stored")
    assert not store.has(xxh)
    assert objects_on_disk(store) == []
    monkeypatch.undo()
    xxh = store.add_bytes(b"stored")
    monkeypatch.setattr(objects_mod, "unnamed_files", named_only)
    monkeypatch.setattr(fileio, "write_new", half_then_fail)
    dest = tmp_path / "w" / "f"
    with pytest.raises(exc):
        copy_out(store, xxh, str(dest), size=6)
    assert not dest.exists()
    assert debris(tmp_path) == []


def test_failure_while_publishing_leaves_no_temp_file(
    store: ObjectStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(src: str, dst: str) -> None:
        raise OSError("rename refused")

    monkeypatch.setattr(objects_mod, "unnamed_files", named_only)  # the named temporary file path
    monkeypatch.setattr(objects_mod.os, "replace", refuse)
    src = tmp_path / "src.bin"
    src.write_bytes(b"abc")
    with pytest.raises(OSError, match="rename refused"):
        store.add_file(str(src))
    with pytest.raises(OSError, match="rename refused"):
        store.add_bytes(b"def")
    assert objects_on_disk(store) == []
    assert debris(tmp_path) == []


def test_copy_out_failing_mid_write_leaves_no_temp_file_and_keeps_the_old_file(
    store: ObjectStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    xxh = store.add_bytes(b"x" * 1000)
    dest = tmp_path / "w" / "f.bin"
    dest.parent.mkdir()
    dest.write_bytes(b"previous")
    monkeypatch.setattr(placing_mod, "hash_stream", failing_sink_after(100))
    with pytest.raises(Injected):
        copy_out(store, xxh, str(dest))
    assert dest.read_bytes() == b"previous"
    assert debris(tmp_path) == []


# -- corruption and absence --------------------------------------------------------


def corrupt(store: ObjectStore, xxh: str, data: bytes) -> None:
    path = store.path(xxh)
    os.chmod(path, 0o644)
    Path(path).write_bytes(data)
    os.chmod(path, 0o444)


@PROPS
@given(
    data=st.binary(min_size=1, max_size=5000),
    flip=st.integers(min_value=0),
    change=st.sampled_from(["flip", "truncate", "append"]),
)
def test_corrupt_objects_are_detected(
    tmp_path_factory: pytest.TempPathFactory, data: bytes, flip: int, change: str
) -> None:
    work = tmp_path_factory.mktemp("corrupt")
    store = ObjectStore(str(work / "cache"))
    xxh = store.add_bytes(data)
    if change == "flip":
        i = flip % len(data)
        bad = data[:i] + bytes([data[i] ^ 0x01]) + data[i + 1 :]
    elif change == "truncate":
        bad = data[:-1]
    else:
        bad = data + b"\0"
    corrupt(store, xxh, bad)
    assert not store.verify(xxh)
    with pytest.raises(CorruptObjectError) as info:
        store.read_bytes(xxh)
    assert isinstance(info.value, MlreproError)
    assert xxh in info.value.message and info.value.hint
    # the error's fields name the object (and no path: it was read for itself)
    assert (info.value.xxh, info.value.digest, info.value.path) == (xxh, f"{XXH}:{xxh}", None)
    for size in (None, len(data)):
        fresh_dest = work / "w" / "new.bin"
        with pytest.raises(CorruptObjectError) as info:
            copy_out(store, xxh, str(fresh_dest), size=size, shown="w/new.bin")
        assert (info.value.digest, info.value.path) == (f"{XXH}:{xxh}", "w/new.bin")
        assert not fresh_dest.exists()
        existing = work / "w" / "existing.bin"
        existing.write_bytes(b"keep me")
        with pytest.raises(CorruptObjectError) as info:
            copy_out(store, xxh, str(existing), size=size)
        assert info.value.path == str(existing)  # no shown name: the destination
        assert existing.read_bytes() == b"keep me"
        with pytest.raises(CorruptObjectError) as info:
            link_out(store, xxh, str(existing), "copy", size=size, shown="w/existing.bin")
        assert (info.value.xxh, info.value.path) == (xxh, "w/existing.bin")
        assert existing.read_bytes() == b"keep me"
    assert debris(work / "w") == []


def test_missing_objects(store: ObjectStore, tmp_path: Path) -> None:
    absent = xxhash.xxh3_128_hexdigest(b"never added")
    assert not store.has(absent)
    assert not store.verify(absent)
    with pytest.raises(MissingObjectError) as info:
        store.read_bytes(absent)
    assert isinstance(info.value, MlreproError) and absent in info.value.message
    assert (info.value.xxh, info.value.digest, info.value.path) == (absent, f"{XXH}:{absent}", None)
    dest = tmp_path / "w" / "f"
    for link in ("copy", "hardlink", "symlink", "reflink"):
        with pytest.raises(MissingObjectError) as info:
            link_out(store, absent, str(dest), link, shown="w/f")
        assert (info.value.digest, info.value.path) == (f"{XXH}:{absent}", "w/f")
        assert info.value.message == f"object {XXH}:{absent} is not in the cache (for 'w/f')"
    for size in (None, 10):
        with pytest.raises(MissingObjectError) as info:
            copy_out(store, absent, str(dest), size=size, shown="w/f")
        assert (info.value.xxh, info.value.path) == (absent, "w/f")
    assert not dest.exists()
    assert debris(tmp_path) == []
    assert list(store.iter_objects()) == []


@pytest.mark.parametrize("size", [SMALL + 1, SMALL + 4096, 3 * 65536, 3 * 65536 + 1, 5 * 65536 - 7])
def test_large_objects_written_directly_are_exact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, size: int
) -> None:
    """Large files are copied with O_DIRECT where allowed: every window, and the
    unaligned tail written through the page cache, must land byte for byte."""
    monkeypatch.setattr(digest_mod, "WINDOW", 65536)  # several windows, each with a tail case
    data = random.Random(size).randbytes(size)
    src = tmp_path / "src.bin"
    src.write_bytes(data)
    store = ObjectStore(str(tmp_path / "cache"))
    d = store.add_file(str(src), size=size)
    assert Path(store.path(d.xxh)).read_bytes() == data
    assert d.sha == hashlib.sha256(data).hexdigest()
    assert store.verify(d.xxh)


@pytest.mark.skipif(not os.path.isdir("/dev/shm"), reason="needs a tmpfs at /dev/shm")
def test_large_objects_on_a_file_system_without_direct_writes() -> None:
    with tempfile.TemporaryDirectory(dir="/dev/shm") as tmp:
        data = random.Random(1).randbytes(SMALL + 123)
        src = Path(tmp) / "src.bin"
        src.write_bytes(data)
        store = ObjectStore(str(Path(tmp) / "cache"))
        d = store.add_file(str(src), size=len(data))
        assert Path(store.path(d.xxh)).read_bytes() == data


@needs_unnamed
@pytest.mark.parametrize("exc", [Injected, KeyboardInterrupt])
def test_unnamed_small_writes_failing_midway_leave_nothing(
    store: ObjectStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, exc: type[BaseException]
) -> None:
    """O_TMPFILE: the object has no name until complete, so a failure leaves nothing."""
    real = fileio.write_all

    def half_then_fail(fd: int, data: bytes | memoryview) -> None:
        real(fd, bytes(data)[: len(data) // 2])
        raise exc("disk full")

    monkeypatch.setattr(fileio, "write_all", half_then_fail)
    with pytest.raises(exc):
        store.add_bytes(b"never stored")
    src = tmp_path / "src.bin"
    src.write_bytes(b"small file")
    with pytest.raises(exc):
        store.add_file(str(src), size=src.stat().st_size)
    assert objects_on_disk(store) == []
    assert debris(tmp_path) == []


@needs_unnamed
def test_unnamed_object_that_cannot_be_named_leaves_nothing(
    store: ObjectStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: object, **kw: object) -> None:
        raise OSError("link refused")

    monkeypatch.setattr(fileio, "name_open_file", refuse)
    with pytest.raises(OSError, match="link refused"):
        store.add_bytes(b"def")
    assert objects_on_disk(store) == []
    monkeypatch.undo()
    xxh = store.add_bytes(b"def")  # and the next attempt works, by name, read-only
    assert Path(store.path(xxh)).read_bytes() == b"def"
    assert stat.S_IMODE(os.stat(store.path(xxh)).st_mode) == 0o444


def test_add_if_small_stores_small_files_and_leaves_large_ones(tmp_path: Path) -> None:
    store = ObjectStore(str(tmp_path / "cache"))
    small = tmp_path / "small.bin"
    small.write_bytes(b"s" * 5000)
    digest, info, same = store.add_if_small(str(small))
    assert digest is not None and same
    assert digest.xxh == xxhash.xxh3_128_hexdigest(small.read_bytes())
    assert (info.st_ino, info.st_size) == (small.stat().st_ino, 5000)
    assert Path(store.path(digest.xxh)).read_bytes() == small.read_bytes()
    large = tmp_path / "large.bin"
    large.write_bytes(b"L" * (SMALL + 1))
    digest, info, same = store.add_if_small(str(large))
    assert digest is None and info.st_size == SMALL + 1
    assert list(store.iter_objects()) == [xxhash.xxh3_128_hexdigest(small.read_bytes())]


def test_add_if_small_tells_a_file_written_while_it_was_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = ObjectStore(str(tmp_path / "cache"))
    victim = tmp_path / "busy.txt"
    victim.write_bytes(b"first version\n")
    real_read = objects_mod.read_fd

    def read_then_written(fd: int) -> bytes:
        data = real_read(fd)
        with open(victim, "ab") as f:  # another process appends meanwhile
            f.write(b"appended\n")
        return data

    monkeypatch.setattr(objects_mod, "read_fd", read_then_written)
    digest, info, same = store.add_if_small(str(victim))
    assert not same  # the caller must not vouch for this digest in the stat cache
    assert digest is not None and digest.size == len(b"first version\n")
    assert info.st_size == victim.stat().st_size


# -- batches: folder descriptors held open --------------------------------------


def open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


@PROPS
@given(files=st.lists(st.tuples(st.integers(0, 3), DATA), min_size=1, max_size=12))
def test_a_batch_stores_the_same_objects_and_closes_its_descriptors(
    tmp_path_factory: pytest.TempPathFactory, files: list[tuple[int, bytes]]
) -> None:
    """Within ``batch()`` (sources opened from their folder's descriptor, objects
    named in their prefix folder's), the digests, stats and objects are those of the
    plain path, duplicates included."""
    work = tmp_path_factory.mktemp("batch")
    paths = []
    for i, (folder, data) in enumerate(files):
        p = work / "src" / f"d{folder}" / f"f{i}.bin"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
        paths.append(str(p))
    plain = ObjectStore(str(work / "plain"))
    expected = [plain.add_if_small(p) for p in paths]
    batched = ObjectStore(str(work / "batched"))
    before = open_fds()
    with batched.batch():
        got = [batched.add_if_small(p) for p in paths]
        got += [(*batched.add_small(p), True) for p in paths]
    assert open_fds() == before
    for (digest, st_after, same), (want, want_st, want_same) in zip(got, expected * 2, strict=True):
        assert digest == want or (digest is None and want is None)
        assert (st_after.st_ino, st_after.st_size, same) == (
            want_st.st_ino,
            want_st.st_size,
            want_same,
        )
    for digest, *_ in expected:
        if digest is not None:
            assert batched.read_bytes(digest.xxh) == plain.read_bytes(digest.xxh)
            assert batched.verify(digest.xxh)
    rel = sorted(p.relative_to(batched.root) for p in objects_on_disk(batched))
    assert rel == sorted(p.relative_to(plain.root) for p in objects_on_disk(plain))
    assert debris(work) == []


@needs_unnamed
@PROPS
@given(blobs=st.lists(DATA, min_size=1, max_size=8), batched=st.booleans())
def test_both_ways_of_writing_a_small_object_store_the_same(
    tmp_path_factory: pytest.TempPathFactory, blobs: list[bytes], batched: bool
) -> None:
    """An unnamed file named once complete (the way taken where the file system has
    them) or a named temporary file renamed into place (the reference), in a batch or
    not: the same objects under the same names, read-only, nothing else left behind,
    a second write of the same bytes included."""
    work = tmp_path_factory.mktemp("ways")
    stored = []
    for unnamed in (True, False):
        store = ObjectStore(str(work / f"cache-{unnamed}"))
        batch = store.batch() if batched else contextlib.nullcontext()
        with mock.patch.object(objects_mod, "unnamed_files", lambda folder, u=unnamed: u), batch:
            xxhs = [store.add_bytes(b) for b in [*blobs, blobs[0]]]
        objects = {
            str(p.relative_to(store.root)): (p.read_bytes(), stat.S_IMODE(p.stat().st_mode))
            for p in all_files(Path(store.root))
        }
        stored.append((xxhs, objects))
    assert stored[0] == stored[1]
    assert {mode for _, mode in stored[0][1].values()} == {0o444}
    assert debris(work) == []


def test_batches_belong_to_their_threads(store: ObjectStore, tmp_path: Path) -> None:
    """Two threads storing at once, each in its own batch or none, with the same file
    names in different folders: each reads its own files (one thread's folder
    descriptors are never used for the other's paths)."""
    names = [f"f{i}.bin" for i in range(200)]
    trees = {}
    for who in ("a", "b"):
        for d in range(4):
            folder = tmp_path / who / f"d{d}"
            folder.mkdir(parents=True)
            for n in names:
                (folder / n).write_bytes(f"{who}/{d}/{n}".encode() * 7)
        trees[who] = [str(tmp_path / who / f"d{d}" / n) for d in range(4) for n in names]
    got: dict[str, list[str]] = {}
    start = threading.Barrier(2)

    def work(who: str, batched: bool) -> None:
        start.wait()
        if batched:
            with store.batch():
                got[who] = [store.add_if_small(p)[0].xxh for p in trees[who]]  # type: ignore[union-attr]
        else:
            got[who] = [store.add_if_small(p)[0].xxh for p in trees[who]]  # type: ignore[union-attr]

    for b_batched in (True, False):
        threads = [
            threading.Thread(target=work, args=("a", True)),
            threading.Thread(target=work, args=("b", b_batched)),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for who in ("a", "b"):
            want = [xxhash.xxh3_128_hexdigest(Path(p).read_bytes()) for p in trees[who]]
            assert got[who] == want
    assert store._batches == {}


# -- a full or read-only disk (issue 15), on a real tmpfs ----------------------------


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Path]:
    with small_disk(tmp_path / "disk", size=4 << 20) as mounted:
        yield mounted


def test_a_large_file_on_a_full_disk_fails_with_enospc_naming_the_cache(
    disk: Path, tmp_path: Path
) -> None:
    """The copy into the cache runs out of space part-way: the error is ENOSPC itself
    (it was BufferError), naming the cache's folder; no temporary file or object stays,
    the space comes back, and the next add that fits works."""
    store = ObjectStore(str(disk / "cache"))
    src = tmp_path / "big.bin"
    src.write_bytes(random.Random(6).randbytes(6 << 20))  # more than the disk holds
    free = free_bytes(disk)
    with pytest.raises(OSError) as caught:
        store.add_file(str(src), size=src.stat().st_size)
    assert caught.value.errno == errno.ENOSPC
    assert caught.value.filename == str(disk / "cache" / "tmp")
    del caught
    assert objects_on_disk(store) == []
    assert debris(disk) == []
    assert free_bytes(disk) >= free - (64 << 10)  # only folders were made
    fits = random.Random(2).randbytes(SMALL + 4096)
    src.write_bytes(fits)
    d = store.add_file(str(src), size=len(fits))
    assert Path(store.path(d.xxh)).read_bytes() == fits


@pytest.mark.parametrize("unnamed", [True, False], ids=["O_TMPFILE", "named-temp"])
def test_a_small_object_on_a_full_disk_fails_naming_its_folder(
    disk: Path, monkeypatch: pytest.MonkeyPatch, unnamed: bool
) -> None:
    if unnamed and not UNNAMED:
        pytest.skip("O_TMPFILE is not available here")
    monkeypatch.setattr(objects_mod, "unnamed_files", lambda folder: unnamed)  # which way
    store = ObjectStore(str(disk / "cache"))
    data = random.Random(3).randbytes(20_000)
    xxh = xxhash.xxh3_128_hexdigest(data)
    folder = os.path.dirname(store.path(xxh))
    os.makedirs(folder)
    fill(disk)
    with pytest.raises(OSError) as caught:
        store.add_bytes(data)
    assert caught.value.errno == errno.ENOSPC
    assert caught.value.filename == folder
    assert objects_on_disk(store) == []
    assert debris(disk) == []


@pytest.mark.parametrize("unnamed", [True, False], ids=["O_TMPFILE", "named-temp"])
def test_a_read_only_cache_refuses_naming_the_folder_and_still_reads(
    disk: Path, monkeypatch: pytest.MonkeyPatch, unnamed: bool
) -> None:
    if unnamed and not UNNAMED:
        pytest.skip("O_TMPFILE is not available here")
    monkeypatch.setattr(objects_mod, "unnamed_files", lambda folder: unnamed)
    store = ObjectStore(str(disk / "cache"))
    kept = store.add_bytes(b"kept")
    data = b"new bytes"
    xxh = xxhash.xxh3_128_hexdigest(data)
    folder = os.path.dirname(store.path(xxh))
    os.makedirs(folder, exist_ok=True)
    remount_read_only(disk)
    with pytest.raises(OSError) as caught:
        ObjectStore(store.root).add_bytes(data)
    assert caught.value.errno == errno.EROFS
    assert caught.value.filename == folder  # not a name relative to an open folder
    assert store.read_bytes(kept) == b"kept"
    assert store.verify(kept)


def test_adopt_stores_a_download_only_when_it_hashes_to_its_name(tmp_path: Path) -> None:
    from mlrepro.store.digest import Hasher, digest_bytes
    from mlrepro.store.objects import ObjectStore

    store = ObjectStore(str(tmp_path / "cache"))
    data = os.urandom(5000)
    want = digest_bytes(data, sha=True)
    for hashed in (False, True):
        tmp = os.path.join(store.tmp_dir, f"dl-{hashed}")
        Path(tmp).write_bytes(data[:-1] + b"x")  # not what was asked for
        hasher = Hasher(sha=True)
        hasher.update(Path(tmp).read_bytes())
        assert not store.adopt(tmp, want.xxh, want.sha, hashed=hasher.digest() if hashed else None)
        assert not os.path.exists(tmp) and not store.has(want.xxh)
    tmp = os.path.join(store.tmp_dir, "dl")
    Path(tmp).write_bytes(data)
    assert not store.adopt(tmp, want.xxh, "0" * 64)  # right name, wrong sha256
    Path(tmp).write_bytes(data)
    assert store.adopt(tmp, want.xxh, want.sha)
    assert store.read_bytes(want.xxh) == data and not os.path.exists(tmp)
