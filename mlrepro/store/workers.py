"""Storing many small files with worker processes.

Caching a folder of 50,000 small files is a stream of short system calls (open,
read, create, write, rename). Threads do not help: each call releases and
re-takes the GIL, and with several threads the hand-offs cost more than the calls
(measured here: 4 threads were twice as slow as one). Forked workers have no GIL
to share: each takes an equal slice of the files, stores them, and sends back
the digests and the stat taken after each read (:class:`_Answer`).

The workers are a :class:`concurrent.futures.ProcessPoolExecutor` started by
``fork``, so they start with every module imported. Until issue 16 a pool
written by hand (fork, a pipe per worker, pickled 7-tuples) stood here; timed against
the executor on ``mlrepro add`` of 50,000 files it saved nothing measurable (the
executor starts in 7 ms against 3, plus 5-15 ms of imports the first time; the storing
itself was not slower), under the 5% a fast path must earn, so it was removed
(benchmarks/RESULTS.md, "fastpaths").

Workers are forked only from a process with no other thread running (forking a
threaded process can deadlock in the child); otherwise, and for small batches, the
files are stored in this process. A worker that fails sends its exception back and
it is raised here (an OSError keeps its errno and path: a full disk is reported as
the user's); one that dies raises :class:`WorkerDiedError`. Objects are written
atomically, so a worker killed mid-way leaves at most temporary files, as a killed
process always could.
"""

from __future__ import annotations

import gc
import os
import signal
import threading
from collections.abc import Sequence
from typing import NamedTuple

from mlrepro.errors import MlreproError
from mlrepro.store.digest import Digest
from mlrepro.store.objects import ObjectStore

_MIN_PER_WORKER = 2000  # files: below this a fork costs more than it saves


class Stored(NamedTuple):
    """One file stored by :func:`add_small_files`."""

    digest: Digest
    after: tuple[int, int, int]  # (ino, size, mtime_ns) taken after reading


class Checked(NamedTuple):
    """One file stored by :func:`add_unstated_files`."""

    digest: Digest | None  # None: larger than SMALL, not stored (left to the caller)
    after: tuple[int, int, int]  # (ino, size, mtime_ns) taken after reading
    unchanged: bool  # the stat taken when opened equals the one taken after reading


class _Answer(NamedTuple):
    """What storing a slice of the paths gives, one list per field in the paths' order:
    what a worker sends back. Lists of plain values, because pickling a named tuple
    per file costs several times more (50 ms against 6 ms for 25,000 files)."""

    xxh: list[str | None]  # None: larger than SMALL, not stored
    sha: list[str | None]
    size: list[int]
    after: list[tuple[int, int, int]]  # (ino, size, mtime_ns) after reading
    unchanged: list[bool]


class WorkerDiedError(MlreproError):
    """A worker process storing files died before it answered (killed, or out of memory)."""

    def __init__(self, count: int, path: str, reason: str) -> None:
        self.count = count  # files the workers were storing
        self.path = path  # the first of them
        self.reason = reason
        super().__init__(
            f"a worker process storing {count} files ({path}, ...) died: {reason}",
            hint="run the command again; if it dies again, look for the out-of-memory "
            "killer in the system log (`dmesg`)",
        )


def workers_for(count: int, store: ObjectStore | None = None) -> int:
    """How many worker processes storing ``count`` files is worth (1: do it here).

    With ``store``, a background flush it is running is waited for first when
    forking would be worth it (the flush is a thread, and forking needs none)."""
    wanted = max(1, min(os.cpu_count() or 1, 8, count // _MIN_PER_WORKER))
    if wanted > 1 and store is not None:
        store.settle()
    if threading.active_count() > 1 or not hasattr(os, "fork"):
        return 1
    return wanted


def add_small_files(store: ObjectStore, paths: Sequence[str]) -> list[Stored]:
    """Store each file (each at most :data:`~mlrepro.store.digest.SMALL` bytes).

    After a batch stored by workers, the store starts flushing it to disk in the
    background (see :meth:`ObjectStore.flush_soon`)."""
    out: list[Stored] = []
    for a in _store(store, paths, check=False):
        for xxh, sha, size, after in zip(a.xxh, a.sha, a.size, a.after, strict=True):
            assert xxh is not None  # unchecked: stored whatever its size
            out.append(Stored(Digest(xxh=xxh, size=size, sha=sha), after))
    return out


def add_unstated_files(store: ObjectStore, paths: Sequence[str]) -> list[Checked]:
    """Store each file no one has stat-ed yet: each is stat-ed when opened (a file
    larger than :data:`~mlrepro.store.digest.SMALL` is left to the caller: digest
    None) and again after reading, and the result says whether the two agree (the
    file did not change while it was read)."""
    out: list[Checked] = []
    for a in _store(store, paths, check=True):
        for xxh, sha, size, after, same in zip(
            a.xxh, a.sha, a.size, a.after, a.unchanged, strict=True
        ):
            digest = Digest(xxh=xxh, size=size, sha=sha) if xxh is not None else None
            out.append(Checked(digest, after, same))
    return out


def _store(store: ObjectStore, paths: Sequence[str], *, check: bool) -> list[_Answer]:
    """Store every path, in worker processes when there are enough paths; the answers
    in the paths' order."""
    n = workers_for(len(paths), store)
    if n == 1:
        return [_store_slice(store, paths, check)]
    step = -(-len(paths) // n)
    slices = [paths[i : i + step] for i in range(0, len(paths), step)]
    answers = _in_workers(store, slices, check)
    store.flush_soon()
    return answers


def _store_slice(store: ObjectStore, paths: Sequence[str], check: bool) -> _Answer:
    """Store ``paths`` (``check``: a file larger than SMALL is left, and each file's
    stat before reading is compared with the one after)."""
    a = _Answer([], [], [], [], [])
    with store.batch():
        for path in paths:
            if check:
                digest, st, same = store.add_if_small(path)
            else:
                digest, st = store.add_small(path)
                same = True
            a.xxh.append(digest.xxh if digest is not None else None)
            a.sha.append(digest.sha if digest is not None else None)
            a.size.append(digest.size if digest is not None else st.st_size)
            a.after.append((st.st_ino, st.st_size, st.st_mtime_ns))
            a.unchanged.append(same)
    return a


def _in_workers(store: ObjectStore, slices: list[Sequence[str]], check: bool) -> list[_Answer]:
    """Each slice stored by a worker process of its own; the answers in order."""
    # imported here: 5-15 ms of imports that only a command storing thousands of files needs
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    # fork: nothing to import again, and the store's open descriptors stay valid in the
    # workers (the store itself is sent with each slice: a few fields)
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(len(slices), mp_context=context, initializer=_started) as pool:
        futures = [pool.submit(_store_slice, store, part, check) for part in slices]
        try:
            return [future.result() for future in futures]
        except BrokenProcessPool:
            # which worker died is not known: every unfinished slice fails with it
            count = sum(len(part) for part in slices)
            raise WorkerDiedError(count, slices[0][0], "it ended without answering") from None


def _started() -> None:
    """In a new worker."""
    gc.disable()  # a collection would write to every inherited object's header
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl-C stops it at once
