"""The push and fetch engine against real caches and real remotes (a folder; S3 on moto's
server for the round trips): what moves, in which order, what a fault leaves behind,
what is refused on the way in, and how :func:`present` asks the remote."""

from __future__ import annotations

import errno
import os
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from mlrepro.remote import transfer
from mlrepro.remote.base import Backend, Listed, RemoteError, object_key
from mlrepro.remote.known import Known
from mlrepro.remote.local import LocalBackend
from mlrepro.remote.open import open_backend
from mlrepro.remote.transfer import FEW, Moved, Want, fetch, present, push
from mlrepro.store.digest import SMALL, sha_bytes, tag_xxh
from mlrepro.store.objects import ObjectStore
from mlrepro.store.tree import Tree, TreeEntry
from tests.s3server import S3Server

KINDS = ["local", "s3"]
JOBS = 4

# -- remotes with a fault, a log or a count: wrappers around a real backend ----------


class Wrapped:
    def __init__(self, inner: Backend) -> None:
        self.inner = inner
        self.name = inner.name
        self.url = inner.url
        self.jobs = inner.jobs

    def exists(self, key: str) -> bool:
        return self.inner.exists(key)

    def size(self, key: str) -> int:
        return self.inner.size(key)

    def list(self, prefix: str) -> Iterator[str]:
        return self.inner.list(prefix)

    def scan(self, prefix: str) -> Iterator[Listed]:
        return self.inner.scan(prefix)

    def read(self, key: str) -> bytes:
        return self.inner.read(key)

    def download(
        self, key: str, dest: str, sink: Callable[[bytes | memoryview], object] | None = None
    ) -> int:
        return self.inner.download(key, dest, sink)

    def write(self, key: str, data: bytes) -> None:
        self.inner.write(key, data)

    def upload(self, key: str, src: str) -> None:
        self.inner.upload(key, src)

    def delete(self, keys: Sequence[str]) -> None:
        self.inner.delete(keys)

    def flush(self) -> None:
        self.inner.flush()

    def close(self) -> None:
        self.inner.close()


class Recording(Wrapped):
    """Logs ("start", key) and ("done", key) of every write and upload, in order."""

    def __init__(self, inner: Backend) -> None:
        super().__init__(inner)
        self.log: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def _note(self, what: str, key: str) -> None:
        with self._lock:
            self.log.append((what, key))

    def write(self, key: str, data: bytes) -> None:
        self._note("start", key)
        super().write(key, data)
        self._note("done", key)

    def upload(self, key: str, src: str) -> None:
        self._note("start", key)
        super().upload(key, src)
        self._note("done", key)


class Faulty(Wrapped):
    """Fails every write and upload of the keys in ``fail``."""

    def __init__(self, inner: Backend, fail: set[str]) -> None:
        super().__init__(inner)
        self.fail = fail

    def _check(self, key: str) -> None:
        if key in self.fail:
            raise OSError(errno.EIO, "injected fault", key)

    def write(self, key: str, data: bytes) -> None:
        self._check(key)
        super().write(key, data)

    def upload(self, key: str, src: str) -> None:
        self._check(key)
        super().upload(key, src)


class Counting(Wrapped):
    """Counts the requests that find out what the remote holds."""

    def __init__(self, inner: Backend) -> None:
        super().__init__(inner)
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()

    def _count(self, what: str) -> None:
        with self._lock:
            self.calls[what] += 1

    def exists(self, key: str) -> bool:
        self._count("exists")
        return super().exists(key)

    def list(self, prefix: str) -> Iterator[str]:
        self._count("list")
        return super().list(prefix)


# -- caches, remotes and what they hold ------------------------------------------------


@pytest.fixture
def store(tmp_path: Path) -> ObjectStore:
    return ObjectStore(str(tmp_path / "cache"))


@pytest.fixture
def store2(tmp_path: Path) -> ObjectStore:
    """A second, empty cache: another clone."""
    return ObjectStore(str(tmp_path / "cache2"))


@pytest.fixture
def known(tmp_path: Path) -> Known:
    return Known(str(tmp_path / "known"), "-")


@pytest.fixture
def known2(tmp_path: Path) -> Known:
    return Known(str(tmp_path / "known2"), "-")


@pytest.fixture
def local(tmp_path: Path) -> LocalBackend:
    root = str(tmp_path / "remote")
    return LocalBackend("r", root, root)


@pytest.fixture(params=KINDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "local":
        root = str(tmp_path / "remote")
        return LocalBackend("r", root, root)
    server: S3Server = request.getfixturevalue("s3_server")
    request.getfixturevalue("s3_env")
    url = f"s3://{server.new_bucket()}/cache"
    return open_backend("r", {"url": url}, str(tmp_path))


def a_file(store: ObjectStore, data: bytes, path: str) -> Want:
    xxh = store.add_bytes(data)
    return Want(xxh, sha_bytes(data), len(data), False, path)


def a_folder(store: ObjectStore, files: dict[str, bytes], path: str) -> tuple[Want, Tree]:
    entries = [
        TreeEntry(name, len(data), store.add_bytes(data), sha_bytes(data))
        for name, data in files.items()
    ]
    tree = Tree.build(entries)
    raw = tree.to_bytes()
    xxh = store.add_bytes(raw)
    return Want(xxh, sha_bytes(raw), sum(len(d) for d in files.values()), True, path), tree


def big(seed: int) -> bytes:
    """A little over :data:`SMALL`: downloaded to a file, then adopted."""
    return bytes([seed % 256]) * 7 + os.urandom(SMALL + 4096)


def sample(store: ObjectStore) -> tuple[list[Want], set[str]]:
    """Two files (one large) and a folder of four (one large, two the same bytes); the
    wants, and every object name they stand for."""
    one = a_file(store, b"model weights\n", "model.bin")
    large = a_file(store, big(1), "big.bin")
    folder, tree = a_folder(
        store,
        {"a.txt": b"a\n", "b/c.txt": b"c\n", "d.txt": b"a\n", "huge": big(2)},
        "data",
    )
    names = {one.xxh, large.xxh, folder.xxh} | {e.xxh for e in tree.entries}
    return [one, large, folder], names


def objects_of(store: ObjectStore) -> dict[str, bytes]:
    return {x: store.read_bytes(x) for x in store.iter_objects()}


def tmp_files(store: ObjectStore) -> list[str]:
    return os.listdir(store.tmp_dir)


# -- round trips and no-op pushes -------------------------------------------------------


def test_push_then_fetch_round_trip(
    backend: Backend, store: ObjectStore, store2: ObjectStore, known: Known, known2: Known
) -> None:
    wants, names = sample(store)
    pushed = push(store, backend, known, wants, jobs=JOBS)
    assert (pushed.missing, pushed.failed) == ([], [])
    assert pushed.objects == len(names) == 6  # "a.txt" and "d.txt": one object
    assert known.names == names
    assert {backend.exists(object_key(x)) for x in names} == {True}
    fetched = fetch(store2, backend, known2, wants, jobs=JOBS)
    assert (fetched.missing, fetched.failed) == ([], [])
    assert fetched.objects == len(names)
    assert fetched.bytes == sum(len(b) for b in objects_of(store).values())
    assert objects_of(store2) == objects_of(store)
    assert tmp_files(store2) == []
    assert known2.names == names
    again = fetch(store2, backend, known2, wants, jobs=JOBS)
    assert again.objects == 0


def test_second_push_moves_nothing(
    local: LocalBackend, store: ObjectStore, known: Known, tmp_path: Path
) -> None:
    wants, _ = sample(store)
    push(store, local, known, wants, jobs=JOBS)
    counting = Counting(local)
    second = push(store, counting, known, wants, jobs=JOBS)
    assert (second.objects, second.present) == (0, len(wants))
    assert counting.calls == Counter()  # the record answered
    # the record lost: the remote is asked, and the folder's tree stands for its files
    known.forget()
    fresh = Known(known.path, "-")
    counting = Counting(local)
    third = push(store, counting, fresh, wants, jobs=JOBS)
    assert (third.objects, third.present, third.missing, third.failed) == (0, 3, [], [])
    assert counting.calls == Counter(exists=len(wants))
    assert fresh.names == {w.xxh for w in wants}


def test_second_push_of_many_moves_nothing(
    local: LocalBackend, store: ObjectStore, known: Known
) -> None:
    wants = [a_file(store, f"file {i}\n".encode(), f"f{i}") for i in range(3 * FEW)]
    first = push(store, local, known, wants, jobs=JOBS)
    assert first.objects == len(wants)
    known.forget()
    fresh = Known(known.path, "-")
    second = push(store, local, fresh, wants, jobs=JOBS)
    assert (second.objects, second.present) == (0, len(wants))
    assert fresh.names == {w.xxh for w in wants}


# -- order and faults -------------------------------------------------------------------


def test_tree_is_uploaded_after_its_members(
    local: LocalBackend, store: ObjectStore, known: Known
) -> None:
    files = {f"part-{i}": f"part {i}\n".encode() * (i + 1) for i in range(12)}
    files["large"] = big(3)
    folder, tree = a_folder(store, files, "data")
    recording = Recording(local)
    moved = push(store, recording, known, [folder], jobs=JOBS)
    assert moved.objects == len(files) + 1
    log = recording.log
    tree_key = object_key(folder.xxh)
    tree_start = log.index(("start", tree_key))
    for e in tree.entries:
        assert log.index(("done", object_key(e.xxh))) < tree_start, e.path
    assert len(log) == 2 * (len(files) + 1)


def test_failed_member_keeps_the_tree_back(
    local: LocalBackend, store: ObjectStore, known: Known
) -> None:
    folder, tree = a_folder(store, {"a": b"a\n", "b": b"b\n", "c": b"c\n", "large": big(4)}, "data")
    bad = next(e for e in tree.entries if e.path == "b")
    faulty = Faulty(local, {object_key(bad.xxh)})
    moved = push(store, faulty, known, [folder], jobs=JOBS)
    assert [path for path, _ in moved.failed] == ["data/b"]
    assert "injected fault" in moved.failed[0][1]
    assert moved.objects == 3
    assert not local.exists(object_key(folder.xxh))
    assert not local.exists(object_key(bad.xxh))
    assert folder.xxh not in known and bad.xxh not in known
    # again, without the fault: the rest is sent, then the tree
    recording = Recording(local)
    rerun = push(store, recording, known, [folder], jobs=JOBS)
    assert (rerun.failed, rerun.missing) == ([], [])
    assert rerun.objects == 2
    assert [k for what, k in recording.log if what == "done"] == [
        object_key(bad.xxh),
        object_key(folder.xxh),
    ]
    assert local.exists(object_key(folder.xxh))
    assert folder.xxh in known


def test_failed_member_with_the_record_lost(
    local: LocalBackend, store: ObjectStore, known: Known
) -> None:
    folder, tree = a_folder(store, {"a": b"a\n", "b": b"b\n"}, "data")
    faulty = Faulty(local, {object_key(tree.entries[0].xxh)})
    assert push(store, faulty, known, [folder], jobs=JOBS).failed
    known.forget()
    rerun = push(store, local, Known(known.path, "-"), [folder], jobs=JOBS)
    assert (rerun.objects, rerun.failed) == (2, [])
    assert local.exists(object_key(folder.xxh))


def test_push_never_spreads_a_corrupt_object(
    local: LocalBackend, store: ObjectStore, known: Known
) -> None:
    small = a_file(store, b"small\n", "small")
    large = a_file(store, big(5), "large")
    for w in (small, large):
        path = store.path(w.xxh)
        os.chmod(path, 0o644)
        with open(path, "r+b") as f:
            f.seek(3)
            f.write(b"X")
    gone = a_file(store, b"gone\n", "gone")
    store.remove(gone.xxh)
    moved = push(store, local, known, [small, large, gone], jobs=JOBS)
    assert sorted(p for p, _ in moved.failed) == ["large", "small"]
    assert moved.missing == [("gone", tag_xxh(gone.xxh))]
    assert moved.objects == 0
    assert list(local.list("files")) == []
    assert len(known) == 0


# -- what fetch refuses -----------------------------------------------------------------


def _refused(moved: Moved, want: Want) -> None:
    assert [p for p, _ in moved.failed] == [want.path]
    assert tag_xxh(want.xxh) in moved.failed[0][1]
    assert moved.objects == 0


@pytest.mark.parametrize("size", ["small", "large"])
def test_fetch_refuses_a_corrupt_object(
    backend: Backend,
    store: ObjectStore,
    store2: ObjectStore,
    known: Known,
    known2: Known,
    size: str,
) -> None:
    data = b"the real bytes\n" if size == "small" else big(6)
    want = a_file(store, data, "w")
    push(store, backend, known, [want], jobs=JOBS)
    corrupt = bytearray(data)
    corrupt[len(data) // 2] ^= 0xFF  # the same size, one byte off
    backend.write(object_key(want.xxh), bytes(corrupt))
    moved = fetch(store2, backend, known2, [want], jobs=JOBS)
    _refused(moved, want)
    assert not store2.has(want.xxh)
    assert list(store2.iter_objects()) == []
    assert tmp_files(store2) == []
    assert want.xxh not in known2


@pytest.mark.parametrize("size", ["small", "large"])
def test_fetch_refuses_a_substituted_object(
    local: LocalBackend,
    store: ObjectStore,
    store2: ObjectStore,
    known: Known,
    known2: Known,
    size: str,
) -> None:
    data, other = (b"mine\n", b"another object\n") if size == "small" else (big(7), big(8))
    want = a_file(store, data, "w")
    decoy = a_file(store, other, "decoy")
    push(store, local, known, [want, decoy], jobs=JOBS)
    local.write(object_key(want.xxh), other)  # a valid object, under the wrong name
    moved = fetch(store2, local, known2, [want], jobs=JOBS)
    _refused(moved, want)
    assert list(store2.iter_objects()) == []
    assert tmp_files(store2) == []


@pytest.mark.parametrize("size", ["small", "large"])
def test_fetch_checks_the_sha256_too(
    local: LocalBackend,
    store: ObjectStore,
    store2: ObjectStore,
    known: Known,
    known2: Known,
    size: str,
) -> None:
    data = b"bytes\n" if size == "small" else big(9)
    want = a_file(store, data, "w")
    push(store, local, known, [want], jobs=JOBS)
    lying = Want(want.xxh, "0" * 64, want.size, False, "w")  # a record's sha that disagrees
    _refused(fetch(store2, local, known2, [lying], jobs=JOBS), lying)
    assert not store2.has(want.xxh)
    assert tmp_files(store2) == []
    unsure = Want(want.xxh, None, want.size, False, "w")  # a record with no sha256
    moved = fetch(store2, local, known2, [unsure], jobs=JOBS)
    assert (moved.objects, moved.failed) == (1, [])
    assert store2.read_bytes(want.xxh) == data


def test_fetch_refuses_a_corrupt_tree(
    local: LocalBackend, store: ObjectStore, store2: ObjectStore, known: Known, known2: Known
) -> None:
    folder, _ = a_folder(store, {"a": b"a\n", "b": b"b\n"}, "data")
    push(store, local, known, [folder], jobs=JOBS)
    local.write(object_key(folder.xxh), b"[]")  # a valid, empty tree: not this one
    moved = fetch(store2, local, known2, [folder], jobs=JOBS)
    _refused(moved, folder)
    assert list(store2.iter_objects()) == []  # nor any of its files


def test_large_object_through_a_temporary_file(
    local: LocalBackend, store: ObjectStore, store2: ObjectStore, known: Known, known2: Known
) -> None:
    data = big(10)
    want = a_file(store, data, "w")
    push(store, local, known, [want], jobs=JOBS)
    moved = fetch(store2, local, known2, [want], jobs=JOBS)
    assert (moved.objects, moved.bytes, moved.failed) == (1, len(data), [])
    assert store2.read_bytes(want.xxh) == data
    assert tmp_files(store2) == []
    assert os.stat(store2.path(want.xxh)).st_mode & 0o222 == 0  # read-only, as every object


@pytest.mark.parametrize("size", ["small", "large"])
def test_missing_on_the_remote(
    backend: Backend, store: ObjectStore, store2: ObjectStore, known2: Known, size: str
) -> None:
    data = b"never pushed\n" if size == "small" else big(11)
    want = a_file(store, data, "w")
    folder, _ = a_folder(store, {"x": b"x\n"}, "dir")
    moved = fetch(store2, backend, known2, [want, folder], jobs=JOBS)
    assert sorted(moved.missing) == sorted([("w", tag_xxh(want.xxh)), ("dir", tag_xxh(folder.xxh))])
    assert (moved.objects, moved.failed) == (0, [])
    assert list(store2.iter_objects()) == []
    assert tmp_files(store2) == []


def test_missing_member_on_the_remote(
    local: LocalBackend, store: ObjectStore, store2: ObjectStore, known: Known, known2: Known
) -> None:
    folder, tree = a_folder(store, {"a": b"a\n", "b": b"b\n"}, "data")
    push(store, local, known, [folder], jobs=JOBS)
    gone = tree.entries[1]
    local.delete([object_key(gone.xxh)])
    moved = fetch(store2, local, known2, [folder], jobs=JOBS)
    assert moved.missing == [(f"data/{gone.path}", tag_xxh(gone.xxh))]
    assert moved.objects == 2  # the tree and the other file
    assert not store2.has(gone.xxh)


# -- a bucket that is not there ---------------------------------------------------------

def test_fetch_from_a_missing_bucket_is_no_missing_object(
    s3_env: dict[str, str], store: ObjectStore, known: Known, tmp_path: Path
) -> None:
    want = a_file(store, b"pushed long ago\n", "w")
    store.remove(want.xxh)
    backend = open_backend("r", {"url": "s3://no-such-bucket-mlrepro/p"}, str(tmp_path))
    try:
        moved = fetch(store, backend, known, [want], jobs=JOBS)
    except RemoteError:
        return  # an error about the remote: fine
    assert moved.missing == []  # not "in neither the cache nor the remote"
    assert moved.failed


def test_push_to_a_missing_bucket_fails_in_one_line(
    s3_env: dict[str, str], store: ObjectStore, known: Known, tmp_path: Path
) -> None:
    want = a_file(store, b"data\n", "w")
    backend = open_backend("r", {"url": "s3://no-such-bucket-mlrepro/p"}, str(tmp_path))
    try:
        moved = push(store, backend, known, [want], jobs=JOBS)
    except RemoteError:
        return
    assert [p for p, _ in moved.failed] == ["w"]
    why = moved.failed[0][1]
    assert "\n" not in why
    assert why.startswith("remote 'r'")


# -- present: listing or asking ---------------------------------------------------------


def hexname(prefix: str, i: int) -> str:
    return f"{prefix}{i:030x}"


def put(backend: Backend, names: list[str]) -> None:
    for n in names:
        backend.write(object_key(n), b"x")


def run_present(backend: Backend, names: list[str]) -> tuple[set[str], set[str], Counter[str]]:
    counting = Counting(backend)
    with ThreadPoolExecutor(JOBS) as pool:
        found, seen = present(counting, names, pool)
    return found, seen, counting.calls


def test_present_of_nothing(local: LocalBackend) -> None:
    assert run_present(local, []) == (set(), set(), Counter())


def test_present_asks_for_a_few(local: LocalBackend) -> None:
    names = [hexname(f"{i:02x}", i) for i in range(FEW - 1)]
    put(local, names[::2])
    found, seen, calls = run_present(local, names)
    assert found == set(names[::2])
    assert seen == set()
    assert calls == Counter(exists=FEW - 1)


def test_present_lists_few_crowded_prefixes(local: LocalBackend) -> None:
    names = [hexname(p, i) for p in ("aa", "bb") for i in range(20)]
    extra = [hexname("aa", 1000 + i) for i in range(5)]
    held = names[:30]
    put(local, held + extra)
    found, seen, calls = run_present(local, names)
    assert found == set(held)
    assert seen == set(held + extra)
    assert calls == Counter(list=2)


def test_present_asks_for_names_spread_over_a_full_remote(
    local: LocalBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(transfer, "PAGE", 4)
    prefixes = [f"{i * 11:02x}" for i in range(20)]
    names = [hexname(p, 0) for p in prefixes]  # one per prefix folder
    held = names[::2]
    put(local, held + [hexname(p, 100 + i) for p in prefixes for i in range(10)])
    found, _, calls = run_present(local, names)
    assert found == set(held)
    assert calls == Counter(list=1, exists=len(names) - 1)


@pytest.mark.parametrize("full", [False, True])
def test_present_weighs_the_remote(
    local: LocalBackend, monkeypatch: pytest.MonkeyPatch, full: bool
) -> None:
    """Two names in each of 20 prefix folders: listing the 19 others takes fewer requests
    than the 38 questions when a folder's listing is one page, more when it is three."""
    monkeypatch.setattr(transfer, "PAGE", 4)
    prefixes = [f"{i * 11:02x}" for i in range(20)]
    names = [hexname(p, i) for p in prefixes for i in range(2)]
    held = names[::3]
    put(local, held)
    if full:
        put(local, [hexname(p, 100 + i) for p in prefixes for i in range(10)])
    found, seen, calls = run_present(local, names)
    assert found == set(held)
    if full:
        assert calls == Counter(list=1, exists=len(names) - 2)
    else:
        assert calls == Counter(list=len(prefixes))
        assert seen == set(held)
