"""Crash-safe file writes: :func:`atomic_write` replaces a file so that readers see the
old bytes or the new ones, never a mix, and a crash leaves no temporary file behind.

Two ways to write, one choice (:func:`atomic_write`, by :func:`unnamed_files`, asked
once per folder and process):

- :func:`atomic_write_unnamed`: the bytes are written and flushed into an unnamed file
  (``O_TMPFILE``), which gets a temporary name only once it is complete, just before
  the rename. A process killed while writing (the slow part, the flush) leaves
  nothing behind, where a named temporary file would stay as litter beside the lock
  or the run-cache entry (``tests/adversarial/test_kill.py`` looks for such files
  after every ``kill -9``).
- :func:`atomic_write_named`, the reference: a named temporary file (``mkstemp``)
  renamed over the file, for file systems without unnamed files or a system without
  ``/proc``.

The unnamed way is kept for that guarantee, not for speed: it saves no time a command
notices (benchmarks/RESULTS.md, "fastpaths": ``repro -j 2`` restoring 100 stages, each
a lock write: -2 ms of 0.45 s, within the noise).
``tests/test_fsutil.py`` checks that both ways write the same file.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import itertools
import os
import tempfile
import threading

from mlrepro.errors import add_path

# what open(O_TMPFILE) fails with where the file system (or the kernel) has no unnamed files
_NO_UNNAMED_FILES = (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL)
_counter = itertools.count()


@functools.cache
def unnamed_files(folder: str) -> bool:
    """Whether a file can be made in ``folder`` unnamed (``O_TMPFILE``) and given a name
    once complete (through ``/proc/self/fd``); probed once per folder and process.

    False where the system or the folder's file system has no unnamed files, or
    ``/proc`` is not mounted. True otherwise, also when the probe was refused for
    another reason (a read-only or full disk, a permission): the write itself then
    meets that refusal and reports it, whichever way it writes."""
    if not hasattr(os, "O_TMPFILE") or not os.path.isdir("/proc/self/fd"):
        return False
    try:
        fd = os.open(folder, os.O_TMPFILE | os.O_WRONLY, 0o600)
    except OSError as exc:
        return exc.errno not in _NO_UNNAMED_FILES
    os.close(fd)
    return True


def atomic_write(path: str, data: bytes, mode: int = 0o644) -> None:
    """Replace ``path`` with ``data`` so readers see the old or the new file, never a
    mix; durable when it returns (the file and its folder entry flushed).

    Errors name ``path`` (never a temporary name): a full disk, a read-only file system
    or a permission are reported as the user's file."""
    directory = os.path.dirname(os.path.abspath(path))
    if unnamed_files(directory):
        atomic_write_unnamed(path, data, mode)
    else:
        atomic_write_named(path, data, mode)


def atomic_write_unnamed(path: str, data: bytes, mode: int = 0o644) -> None:
    """:func:`atomic_write` through an unnamed file (see the module's notes)."""
    directory = os.path.dirname(os.path.abspath(path))
    try:
        fd = os.open(directory, os.O_TMPFILE | os.O_WRONLY, mode)
    except OSError as exc:
        add_path(exc, path, instead=True)  # the file the user knows, not its folder
        raise
    tmp: str | None = None
    try:
        try:
            try:
                _fill(fd, data, mode)
                name = f".tmp-{os.getpid()}-{threading.get_ident()}-{next(_counter)}"
                # a folder descriptor makes Python call linkat with AT_SYMLINK_FOLLOW
                # (plain link() would link /proc's symbolic link itself)
                dir_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
                try:
                    os.link(f"/proc/self/fd/{fd}", name, dst_dir_fd=dir_fd)
                finally:
                    os.close(dir_fd)
                tmp = os.path.join(directory, name)
            finally:
                os.close(fd)
        except OSError as exc:
            add_path(exc, path)  # a write error (a full disk) names no file
            raise
        _replace(tmp, path)
    except BaseException:
        if tmp is not None:
            with contextlib.suppress(OSError):  # the error that brought us here is the one
                os.unlink(tmp)
        raise
    _fsync_dir(directory)


def atomic_write_named(path: str, data: bytes, mode: int = 0o644) -> None:
    """:func:`atomic_write` through a named temporary file: the reference."""
    directory = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=directory)
    except OSError as exc:
        add_path(exc, path, instead=True)  # not the temporary name nobody knows
        raise
    try:
        try:
            try:
                _fill(fd, data, mode)
            finally:
                os.close(fd)
        except OSError as exc:
            add_path(exc, path)  # a write error (a full disk) names no file
            raise
        _replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):  # the error that brought us here is the one
            os.unlink(tmp)
        raise
    _fsync_dir(directory)


def _fill(fd: int, data: bytes, mode: int) -> None:
    """Write ``data`` to the new file open as ``fd``, flush it to disk, set its mode."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
    os.fsync(fd)
    os.fchmod(fd, mode)


def _replace(tmp: str, path: str) -> None:
    try:
        os.replace(tmp, path)
    except OSError as exc:
        # name the file the user knows (an immutable or read-only one refuses to be
        # replaced), not the temporary name beside it
        add_path(exc, path, instead=True)
        raise


def _fsync_dir(directory: str) -> None:
    # The rename itself is durable only once the directory entry is synced.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
