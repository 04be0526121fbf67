"""Crash-safe file writes: temp file in the same directory, fsync, rename."""

from __future__ import annotations

import contextlib
import os
import tempfile

from mlrepro.errors import add_path


def atomic_write(path: str, data: bytes, mode: int = 0o644) -> None:
    """Replace ``path`` with ``data`` so readers see the old or the new file, never a mix.

    The bytes are written and flushed into an unnamed file (``O_TMPFILE``) that gets a
    temporary name only once it is complete, just before the rename: a process killed
    while writing (the slow part, the flush) leaves nothing behind, where a named
    temporary file would stay as litter beside the lock or the run-cache entry. Where
    the file system has no unnamed files (or ``/proc`` is not mounted), a named
    temporary file is written instead."""
    directory = os.path.dirname(os.path.abspath(path))
    tmp: str | None = None
    try:
        try:
            fd = os.open(directory, os.O_TMPFILE | os.O_WRONLY, mode) if _TMPFILE else -1
        except OSError:
            fd = -1  # not supported here: a named file below (a real error shows there too)
        if fd < 0:
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=directory)
    except OSError as exc:
        add_path(exc, path, instead=True)  # not the temporary name nobody knows
        raise
    try:
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
                os.fchmod(f.fileno(), mode)
                if tmp is None:
                    tmp = os.path.join(directory, f".tmp-{os.getpid()}-{id(f):x}")
                    _name(f.fileno(), directory, tmp)
        except OSError as exc:
            add_path(exc, path)  # a write error (a full disk) names no file
            raise
        try:
            os.replace(tmp, path)
        except OSError as exc:
            # name the file the user knows (an immutable or read-only one refuses
            # to be replaced), not the temporary name beside it
            add_path(exc, path, instead=True)
            raise
    except BaseException:
        if tmp is not None:
            with contextlib.suppress(OSError):  # the error that brought us here is the one
                os.unlink(tmp)
        raise
    _fsync_dir(directory)


_TMPFILE = hasattr(os, "O_TMPFILE") and os.path.isdir("/proc/self/fd")


def _name(fd: int, directory: str, name: str) -> None:
    """Link the unnamed file open as ``fd`` into ``directory`` as ``name``: linkat
    following /proc's link to the open file (a directory descriptor makes Python call
    linkat with AT_SYMLINK_FOLLOW; plain link() would link /proc's symlink itself)."""
    dir_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.link(f"/proc/self/fd/{fd}", os.path.basename(name), dst_dir_fd=dir_fd)
    finally:
        os.close(dir_fd)


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
