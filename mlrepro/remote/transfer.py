"""Moving objects between the local cache and a remote: what is missing, and the moves.

Both directions start from :class:`Want`\\ s: the artifacts (a file's object, or a
folder's tree object) of the lock files in scope, each with the sha256 its record
gives. Everything received is checked against both digests before it enters the
cache; everything sent is checked against its name first, so a corrupt local object
is never spread.

**Push** finds what the remote lacks in three steps, each cheaper than the next:
the local record of what the remote holds (:mod:`mlrepro.remote.known`); a tree
object the remote holds (a tree is uploaded only after every object it names, and a
remote gc deletes trees first, so a tree there means its folder is there); and, for
the names still unknown, the remote itself, by one request per name or by listing
the prefix folders concerned, whichever takes fewer requests (:func:`present`).
Files go first, then a flush, then the trees whose members all made it, then a
flush, and only then the record. An interrupted push leaves complete objects and
no tree whose members are missing; running it again finishes it.

**Fetch** downloads the tree objects it lacks first (verified, they say which files
a folder needs), then every file object the cache lacks. A small object is read
whole and checked in memory; a large one is written to the cache's temporary folder
and checked there (:meth:`~mlrepro.store.objects.ObjectStore.adopt`).
"""

from __future__ import annotations

import contextlib
import math
import os
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from mlrepro.errors import MlreproError
from mlrepro.remote.base import (
    OBJECTS,
    RUNS,
    Backend,
    key_object,
    key_run,
    object_key,
    prefix_key,
    run_key,
)
from mlrepro.remote.known import Known
from mlrepro.secrets import redact
from mlrepro.store import fileio
from mlrepro.store.digest import SMALL, Hasher, digest_bytes, tag_xxh
from mlrepro.store.objects import CorruptObjectError, MissingObjectError, ObjectStore
from mlrepro.store.tree import MalformedTreeError, Tree, TreeEntry

FEW = 16  # names: fewer than this are asked for one by one, without listing
# large objects moved at once, whatever -j says: each holds its multipart buffers
# (obstore: 12 parts of 5 MB in flight), so 64 of them would want 4 GB of memory
LARGE_AT_ONCE = 4
PAGE = 1000  # names a listing request returns (S3's page)

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class Want:
    """An object a command needs: ``xxh`` and ``sha`` (bare hex; ``sha`` None where the
    record has none), ``size`` (a folder's: its files' total), and ``path``, the
    workspace path it stands for (in messages)."""

    xxh: str
    sha: str | None
    size: int
    isdir: bool
    path: str


@dataclass(slots=True)
class Moved:
    """What a transfer did. ``missing``: (path, digest) in neither the cache nor the
    remote; ``failed``: (path, why) that could not be moved or did not check out."""

    objects: int = 0
    bytes: int = 0
    present: int = 0  # objects the other side had already
    missing: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)


class Progress(Protocol):
    def total(self, objects: int, nbytes: int) -> None:
        """More work is known: ``objects`` more objects of ``nbytes`` more bytes."""

    def advance(self, objects: int, nbytes: int) -> None: ...


class _Quiet:
    def total(self, objects: int, nbytes: int) -> None:
        pass

    def advance(self, objects: int, nbytes: int) -> None:
        pass


QUIET: Progress = _Quiet()


def _each(
    pool: ThreadPoolExecutor, items: Iterable[T], fn: Callable[[T], R]
) -> Iterable[tuple[T, R | BaseException]]:
    """``fn`` of each item in the pool: (item, result or the error it raised), as
    they finish. An interrupt cancels what has not started."""
    futures: dict[Future[R], T] = {pool.submit(fn, item): item for item in items}
    try:
        for future in as_completed(futures):
            error = future.exception()
            yield futures[future], (error if error is not None else future.result())
    except BaseException:
        for future in futures:
            future.cancel()
        raise


def _why(error: BaseException) -> str:
    if isinstance(error, MlreproError):
        return error.message
    if isinstance(error, OSError):
        text = f"{error.strerror or error}".strip().splitlines()
        return redact(text[0] if text else type(error).__name__) + (
            f": {error.filename}" if error.filename else ""
        )
    raise error  # a bug, not a transfer failure


# -- what the remote holds ----------------------------------------------------------


def present(
    backend: Backend, names: Sequence[str], pool: ThreadPoolExecutor, *, jobs: int = 1
) -> tuple[set[str], set[str]]:
    """Which of ``names`` the remote holds, and every object name seen on the way
    (listings show more than was asked for; all of it is worth recording).

    Few names are asked for one by one. Otherwise the prefix folder holding most of
    them is listed first; its size estimates the remote's (256 such folders), and so
    what each way of finding the rest costs, in rounds of requests (``jobs`` run at
    once): asking for each name; listing each other folder concerned (a request per
    page of :data:`PAGE` names); or listing the whole remote, page after page. The
    cheapest is taken: a remote still nearly empty is listed in one request, a large
    one is asked name by name, as DVC's ``oids_exist`` decides."""
    if not names:
        return set(), set()
    if len(names) < FEW:
        return _ask(backend, names, pool), set()
    by_prefix: dict[str, list[str]] = defaultdict(list)
    for n in names:
        by_prefix[n[:2]].append(n)
    first = max(by_prefix, key=lambda p: len(by_prefix[p]))
    seen = _listed(backend, first)
    pages = max(1, math.ceil(len(seen) / PAGE))
    rest = [p for p in by_prefix if p != first]
    asked = [n for p in rest for n in by_prefix[p]]
    whole = max(1, math.ceil(len(seen) * 256 / PAGE))  # one after the other
    ask = math.ceil(len(asked) / jobs)
    folders = math.ceil(len(rest) * pages / jobs)
    if whole <= min(ask, folders):
        seen |= _listed(backend, None)
    elif folders < ask:
        for _, listed in _each(pool, rest, lambda p: _listed(backend, p)):
            if isinstance(listed, BaseException):
                raise listed
            seen |= listed
    else:
        found = {n for n in by_prefix[first] if n in seen} | _ask(backend, asked, pool)
        return found, seen
    return {n for n in names if n in seen}, seen


def _listed(backend: Backend, prefix: str | None) -> set[str]:
    """The objects in one prefix folder (None: in all of them)."""
    folder = OBJECTS if prefix is None else prefix_key(prefix)
    names = (key_object(k) for k in backend.list(folder))
    return {n for n in names if n is not None}


def _ask(backend: Backend, names: Sequence[str], pool: ThreadPoolExecutor) -> set[str]:
    found = set()
    for name, there in _each(pool, names, lambda n: backend.exists(object_key(n))):
        if isinstance(there, BaseException):
            raise there
        if there:
            found.add(name)
    return found


# -- push -----------------------------------------------------------------------------


def push(
    store: ObjectStore,
    backend: Backend,
    known: Known,
    wants: Iterable[Want],
    *,
    jobs: int,
    progress: Progress = QUIET,
) -> Moved:
    """Upload every object of ``wants`` (a folder: its tree and files) the remote lacks."""
    moved = Moved()
    tops = {w.xxh: w for w in wants}
    with ThreadPoolExecutor(jobs) as pool:
        unknown = [w for w in tops.values() if w.xxh not in known]
        moved.present += len(tops) - len(unknown)
        found, seen = present(backend, [w.xxh for w in unknown], pool, jobs=jobs)
        known.add(seen | found)
        files: dict[str, Want] = {}
        trees: list[tuple[Want, Tree]] = []
        for w in unknown:
            if w.xxh in found:
                moved.present += 1
            elif not w.isdir:
                files[w.xxh] = w
            else:
                tree = _local_tree(store, w, moved)
                if tree is not None:
                    trees.append((w, tree))
                    for e in tree.entries:
                        files.setdefault(e.xxh, member(w, e))
        members = [x for x in files if x not in known and x not in found]
        moved.present += len(files) - len(members)
        found, seen = present(backend, members, pool, jobs=jobs)
        known.add(seen | found)
        moved.present += len(found)
        send = [files[x] for x in members if x not in found]
        progress.total(len(send) + len(trees), sum(w.size for w in send))
        sent = _upload(store, backend, pool, send, moved, progress)
        backend.flush()
        known.add(sent)
        # a tree goes only once every object it names is on the remote
        whole = [(w, t) for w, t in trees if all(e.xxh in known for e in t.entries)]
        sent = _upload(store, backend, pool, [w for w, _ in whole], moved, progress, tree=True)
        backend.flush()
        known.add(sent)
    return moved


def member(folder: Want, e: TreeEntry) -> Want:
    """The object of a file in a folder, named by its path in the workspace."""
    return Want(e.xxh, e.sha, e.size, False, f"{folder.path}/{e.path}")


def checks_out(data: bytes, w: Want) -> bool:
    """Whether bytes received for ``w`` hash to its xxh3-128 and, when known, its sha256."""
    got = digest_bytes(data, sha=w.sha is not None)
    return got.xxh == w.xxh and (w.sha is None or got.sha == w.sha)


def tree_of(store: ObjectStore, backend: Backend, w: Want) -> Tree | None:
    """A folder's tree: the cache's copy, else the remote's if it checks out (read, not
    stored); None when neither can be had."""
    try:
        return Tree.from_bytes(store.read_bytes(w.xxh))
    except (MissingObjectError, CorruptObjectError, MalformedTreeError):
        pass
    try:
        data = backend.read(object_key(w.xxh))
        return Tree.from_bytes(data) if checks_out(data, w) else None
    except (FileNotFoundError, MalformedTreeError):
        return None


def _local_tree(store: ObjectStore, w: Want, moved: Moved) -> Tree | None:
    try:
        return Tree.from_bytes(store.read_bytes(w.xxh))
    except MissingObjectError:
        moved.missing.append((w.path, tag_xxh(w.xxh)))
    except (CorruptObjectError, MalformedTreeError) as exc:
        moved.failed.append((w.path, exc.message))
    return None


def _upload(
    store: ObjectStore,
    backend: Backend,
    pool: ThreadPoolExecutor,
    wants: Sequence[Want],
    moved: Moved,
    progress: Progress,
    *,
    tree: bool = False,
) -> list[str]:
    """Upload each object, checked against its name first; the names uploaded."""

    large = threading.BoundedSemaphore(LARGE_AT_ONCE)

    def send(w: Want) -> int:
        path = store.path(w.xxh)
        if w.size <= SMALL or tree:
            data = store.read_bytes(w.xxh)  # verified against its name
            backend.write(object_key(w.xxh), data)
            return len(data)
        with large:
            if not store.verify(w.xxh):
                if not store.has(w.xxh):
                    raise MissingObjectError(w.xxh)
                raise CorruptObjectError(w.xxh)
            backend.upload(object_key(w.xxh), path)
        return w.size

    sent = []
    for w, result in _each(pool, wants, send):
        if isinstance(result, MissingObjectError):
            moved.missing.append((w.path, tag_xxh(w.xxh)))
        elif isinstance(result, BaseException):
            moved.failed.append((w.path, _why(result)))
        else:
            sent.append(w.xxh)
            moved.objects += 1
            moved.bytes += result
            progress.advance(1, 0 if tree else result)
    return sent


# -- fetch ----------------------------------------------------------------------------


def fetch(
    store: ObjectStore,
    backend: Backend,
    known: Known,
    wants: Iterable[Want],
    *,
    jobs: int,
    progress: Progress = QUIET,
) -> Moved:
    """Download every object of ``wants`` (a folder: its tree and files) the cache lacks,
    each checked against its digests before it enters the cache."""
    moved = Moved()
    tops = {w.xxh: w for w in wants}
    with ThreadPoolExecutor(jobs) as pool:
        trees = [w for w in tops.values() if w.isdir]
        lacking = [w for w in trees if not store.has(w.xxh)]
        moved.present += len(trees) - len(lacking)
        progress.total(len(lacking), 0)
        got = _download(store, backend, pool, lacking, moved, progress, tree=True)
        known.add(got)
        files: dict[str, Want] = {w.xxh: w for w in tops.values() if not w.isdir}
        for w in trees:
            if w.xxh not in got and not store.has(w.xxh):
                continue  # missing or bad: already reported
            tree = _local_tree(store, w, moved)
            for e in tree.entries if tree is not None else ():
                files.setdefault(e.xxh, member(w, e))
        lacking = [w for w in files.values() if not store.has(w.xxh)]
        moved.present += len(files) - len(lacking)
        progress.total(len(lacking), sum(w.size for w in lacking))
        known.add(_download(store, backend, pool, lacking, moved, progress))
    return moved


class _Mismatch(Exception):
    """Bytes received for an object hash to something else."""


def _download(
    store: ObjectStore,
    backend: Backend,
    pool: ThreadPoolExecutor,
    wants: Sequence[Want],
    moved: Moved,
    progress: Progress,
    *,
    tree: bool = False,
) -> list[str]:
    """Download each object into the cache, verified; the names stored."""
    large = threading.BoundedSemaphore(LARGE_AT_ONCE)

    def get(w: Want) -> int:
        key = object_key(w.xxh)
        if w.size <= SMALL or tree:
            data = backend.read(key)
            if not checks_out(data, w):
                raise _Mismatch()
            store.add_bytes(data)
            return len(data)
        tmp = fileio.tmp_name(store.tmp_dir)
        hasher = Hasher(sha=w.sha is not None)  # hashed as it arrives, not read again
        try:
            with large:
                n = backend.download(key, tmp, hasher.update)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        # (adopt removes it when it does not match)
        if not store.adopt(tmp, w.xxh, w.sha, hashed=hasher.digest()):
            raise _Mismatch()
        return n

    stored = []
    for w, result in _each(pool, wants, get):
        if isinstance(result, FileNotFoundError):
            moved.missing.append((w.path, tag_xxh(w.xxh)))
        elif isinstance(result, _Mismatch):
            moved.failed.append(
                (
                    w.path,
                    f"the remote's copy of {tag_xxh(w.xxh)} ({object_key(w.xxh)}) does not "
                    "match its digest: not used",
                )
            )
        elif isinstance(result, BaseException):
            moved.failed.append((w.path, _why(result)))
        else:
            stored.append(w.xxh)
            moved.objects += 1
            moved.bytes += result
            progress.advance(1, 0 if tree else result)
    return stored


# -- run-cache entries ------------------------------------------------------------------


def remote_runs(backend: Backend) -> set[str]:
    """The keys of the run-cache entries the remote holds (one listing)."""
    return {k for k in map(key_run, backend.list(RUNS)) if k is not None}


def send_runs(
    backend: Backend, pool: ThreadPoolExecutor, entries: dict[str, bytes], moved: Moved
) -> int:
    """Upload ``entries`` (key -> the entry's bytes); how many went. Call only once the
    objects they name are on the remote, so an entry there can always be restored."""
    sent = 0
    for key, result in _each(pool, entries, lambda k: backend.write(run_key(k), entries[k])):
        if isinstance(result, BaseException):
            moved.failed.append((f"run-cache entry {key[:16]}…", _why(result)))
        else:
            sent += 1
    return sent


def receive_runs(
    backend: Backend, pool: ThreadPoolExecutor, keys: Iterable[str], moved: Moved
) -> dict[str, bytes]:
    """The bytes of each entry, by key (those that could not be read are in ``moved``)."""
    got = {}
    for key, result in _each(pool, keys, lambda k: backend.read(run_key(k))):
        if isinstance(result, FileNotFoundError):
            continue  # removed meanwhile
        if isinstance(result, BaseException):
            moved.failed.append((f"run-cache entry {key[:16]}…", _why(result)))
        else:
            assert isinstance(result, bytes)
            got[key] = result
    return got
