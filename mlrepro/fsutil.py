"""Crash-safe file writes: temp file in the same directory, fsync, rename."""

from __future__ import annotations

import contextlib
import os
import tempfile

from mlrepro.errors import add_path


def atomic_write(path: str, data: bytes, mode: int = 0o644) -> None:
    """Replace ``path`` with ``data`` so readers see the old or the new file, never a mix."""
    directory = os.path.dirname(os.path.abspath(path))
    try:
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
        except OSError as exc:
            add_path(exc, path)  # a write error (a full disk) names no file
            raise
        os.chmod(tmp, mode)
        try:
            os.replace(tmp, path)
        except OSError as exc:
            # name the file the user knows (an immutable or read-only one refuses
            # to be replaced), not the temporary name beside it
            add_path(exc, path, instead=True)
            raise
    except BaseException:
        with contextlib.suppress(OSError):  # the error that brought us here is the one
            os.unlink(tmp)
        raise
    _fsync_dir(directory)


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
