"""Bringing objects out of the store into the workspace.

A copy is verified while it is written (a corrupt object never reaches the
workspace) and lands under a temporary name beside its destination, renamed over
it; links (reflink, hardlink, symlink) take the same route. :func:`place_new`
writes straight to a name that does not exist yet, for folders built privately
and published whole.
"""

from __future__ import annotations

import contextlib
import os

from mlrepro.store import fileio
from mlrepro.store.digest import SMALL, XXH, hash_stream, read_fd, read_small, xxh_bytes
from mlrepro.store.objects import CorruptObjectError, ObjectStore, missing


def copy_out(store: ObjectStore, xxh: str, dest: str, *, size: int | None = None) -> None:
    """Write the object to ``dest`` atomically as a writable copy, verified while copying."""
    src, tmp = _prepare_out(store, xxh, dest)
    try:
        if size is not None and size <= SMALL:
            try:
                data = read_small(src)
            except FileNotFoundError:
                raise missing(xxh) from None
            if xxh_bytes(data) != xxh:
                raise _corrupt(xxh, dest)
            fileio.write_new(tmp, data, 0o644)
        else:
            try:
                f = open(src, "rb", buffering=0)  # noqa: SIM115 - closed by the `with` below
            except FileNotFoundError:
                raise missing(xxh) from None
            with f, open(tmp, "xb") as out:
                got = hash_stream(f, sink=out.write).xxh
            if got != xxh:
                raise _corrupt(xxh, dest)
            os.chmod(tmp, 0o644)
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _prepare_out(store: ObjectStore, xxh: str, dest: str) -> tuple[str, str]:
    """The object's path and a temporary name beside ``dest`` (its folder made)."""
    src = store.path(xxh)
    if not os.path.exists(src):
        raise missing(xxh)
    directory = os.path.dirname(dest) or "."
    if not os.path.isdir(directory):
        os.makedirs(directory, exist_ok=True)
    return src, fileio.tmp_name(directory)


def _corrupt(xxh: str, dest: str) -> CorruptObjectError:
    return CorruptObjectError(
        f"cache object {XXH}:{xxh} is corrupt; not checked out to '{dest}'",
        hint="run `mlrepro cache verify --repair`, then rebuild it (repro, add, or a remote)",
    )


def link_out(
    store: ObjectStore, xxh: str, dest: str, link: str, *, size: int | None = None
) -> None:
    """Bring the object to ``dest`` as a ``reflink``, ``hardlink``, ``symlink`` or ``copy``."""
    if link == "copy":
        copy_out(store, xxh, dest, size=size)
        return
    src, tmp = _prepare_out(store, xxh, dest)
    try:
        if link == "hardlink":
            os.link(src, tmp)
        elif link == "symlink":
            os.symlink(src, tmp)
        elif link == "reflink":
            fileio.reflink(src, tmp)
            os.chmod(tmp, 0o644)
        else:
            raise ValueError(link)
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def place_new(
    store: ObjectStore, xxh: str, dest: str, link: str, *, size: int, mtime_ns: int
) -> os.stat_result:
    """Bring the object to ``dest``, a name that does not exist yet, in a folder
    being built privately (no temporary name: the folder is published whole).

    A copy is verified while written and dated ``mtime_ns``; the result's stat
    (taken on the open file) lets the caller record it without another lookup."""
    src = store.path(xxh)
    if link == "hardlink":
        try:
            os.link(src, dest)
        except FileNotFoundError:
            raise missing(xxh) from None
        return os.lstat(dest)
    if link == "symlink":
        if not os.path.exists(src):
            raise missing(xxh)
        os.symlink(src, dest)
        return os.stat(dest)
    if link not in ("copy", "reflink"):
        raise ValueError(link)
    try:
        fd_in = os.open(src, os.O_RDONLY)
    except FileNotFoundError:
        raise missing(xxh) from None
    try:
        fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            if link == "reflink":
                fileio.clone(fd, fd_in)
            elif size <= SMALL:
                data = read_fd(fd_in)
                if xxh_bytes(data) != xxh:
                    raise _corrupt(xxh, dest)
                fileio.write_all(fd, data)
            else:
                with open(fd_in, "rb", buffering=0, closefd=False) as f:
                    got = hash_stream(f, sink=lambda b: fileio.write_all(fd, b)).xxh
                if got != xxh:
                    raise _corrupt(xxh, dest)
            os.utime(fd, ns=(mtime_ns, mtime_ns))
            return os.fstat(fd)
        except BaseException:
            os.close(fd)
            fd = -1
            os.unlink(dest)
            raise
        finally:
            if fd >= 0:
                os.close(fd)
    finally:
        os.close(fd_in)
