"""Storing many small files with worker processes.

Caching a folder of 50,000 small files is a stream of short system calls (open,
read, create, write, rename). Threads do not help: each call releases and
re-takes the GIL, and with several threads the hand-offs cost more than the calls
(measured here: 4 threads were twice as slow as one). Forked workers have no GIL
to share: each takes whole folders' worth of files, stores them, and sends back
the digests and the stat taken after each read.

Workers are forked only from a process with no other thread running (forking a
threaded process can deadlock in the child); otherwise, and for small batches,
the files are stored in this process. A worker that fails sends its exception
back and it is raised here; objects are written atomically, so a worker killed
mid-way leaves at most temporary files, as a killed process always could.
"""

from __future__ import annotations

import gc
import os
import pickle
import signal
import threading
from collections.abc import Callable, Sequence

from mlrepro.store.digest import Digest
from mlrepro.store.objects import ObjectStore

Result = tuple[Digest, tuple[int, int, int]]  # digest, (ino, size, mtime_ns) after reading
# digest (None: larger than SMALL, not stored), (ino, size, mtime_ns) after reading, and
# whether the file was unchanged while it was read
Checked = tuple[Digest | None, tuple[int, int, int], bool]
# what a worker sends back for a file: xxh, sha, size, ino, st_size, mtime_ns, unchanged
_Row = tuple[str | None, str | None, int, int, int, int, bool]
_RowFn = Callable[[ObjectStore, str], _Row]

_MIN_PER_WORKER = 2000  # files: below this a fork costs more than it saves


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


def add_small_files(store: ObjectStore, paths: Sequence[str]) -> list[Result]:
    """Store each file (each at most :data:`~mlrepro.store.digest.SMALL` bytes).

    After a batch stored by workers, the store starts flushing it to disk in the
    background (see :meth:`ObjectStore.flush_soon`)."""
    out: list[Result] = []
    for xxh, sha, size, ino, st_size, mtime, _ in _run(store, paths, _row):
        assert xxh is not None  # _row stores every file, whatever its size
        out.append((Digest(xxh=xxh, size=size, sha=sha), (ino, st_size, mtime)))
    return out


def add_unstated_files(store: ObjectStore, paths: Sequence[str]) -> list[Checked]:
    """Store each file no one has stat-ed yet: each is stat-ed when opened (a file
    larger than :data:`~mlrepro.store.digest.SMALL` is left to the caller: digest
    None) and again after reading, and the result says whether the two agree (the
    file did not change while it was read)."""
    rows = _run(store, paths, _checked_row)
    return [
        (
            Digest(xxh=xxh, size=size, sha=sha) if xxh is not None else None,
            (ino, st_size, mtime),
            same,
        )
        for xxh, sha, size, ino, st_size, mtime, same in rows
    ]


def _run(store: ObjectStore, paths: Sequence[str], row: _RowFn) -> list[_Row]:
    """``row`` for every path, in worker processes when there are enough paths."""
    n = workers_for(len(paths), store)
    if n == 1:
        with store.batch():
            return [row(store, p) for p in paths]
    step = -(-len(paths) // n)
    slices = [paths[i : i + step] for i in range(0, len(paths), step)]
    children: list[tuple[int, int]] = []  # (pid, read end of its pipe)
    try:
        for part in slices:
            r, w = os.pipe()
            pid = os.fork()
            if pid == 0:  # the worker
                os.close(r)
                _work(store, part, w, row)  # never returns
            os.close(w)
            children.append((pid, r))
        results: list[_Row] = []
        for pid, r in children:
            with os.fdopen(r, "rb") as f:
                payload = f.read()
            _, status = os.waitpid(pid, 0)
            try:
                outcome = pickle.loads(payload)
            except Exception:
                raise OSError(f"a storing worker died ({_describe(status)})") from None
            if isinstance(outcome, BaseException):
                raise outcome
            results += outcome
        children.clear()
        store.flush_soon()
        return results
    finally:
        for pid, _r in children:  # interrupted or failed: stop and reap the rest
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass


def _row(store: ObjectStore, path: str) -> _Row:
    digest, st = store.add_small(path)
    return (digest.xxh, digest.sha, digest.size, st.st_ino, st.st_size, st.st_mtime_ns, True)


def _checked_row(store: ObjectStore, path: str) -> _Row:
    digest, st, same = store.add_if_small(path)
    if digest is None:
        return (None, None, st.st_size, st.st_ino, st.st_size, st.st_mtime_ns, same)
    return (digest.xxh, digest.sha, digest.size, st.st_ino, st.st_size, st.st_mtime_ns, same)


def _work(store: ObjectStore, paths: Sequence[str], out: int, row: _RowFn) -> None:
    code = 0
    try:
        gc.disable()  # a collection would write to every inherited object's header
        signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl-C: the parent cleans up
        try:
            with store.batch():
                outcome: object = [row(store, p) for p in paths]
        except Exception as exc:
            outcome = exc
            code = 1
        try:
            data = pickle.dumps(outcome)
        except Exception as exc:  # an exception that does not pickle: keep its text
            data = pickle.dumps(OSError(f"{type(outcome).__name__}: {outcome} ({exc})"))
        view = memoryview(data)
        while view:
            view = view[os.write(out, view) :]
    finally:
        os._exit(code)


def _describe(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"signal {os.WTERMSIG(status)}"
    return f"exit status {os.waitstatus_to_exitcode(status)}"
