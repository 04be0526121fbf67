"""Bringing objects out of the store into the workspace.

Every object is verified on its way to the workspace: a copy while it is
written, a link (reflink, hardlink, symlink) by hashing what was linked before
it is given its final name, since the link holds the object's bytes as they
are. So a corrupt object is never placed, whatever the link type (issue 15: a
hardlink, symlink or reflink placed a tampered object silently, and status then
trusted it). A file lands under a temporary name beside its destination,
renamed over it; :func:`place_new` writes straight to a name that does not
exist yet, for folders built privately and published whole.

``shown`` is the destination as the user knows it (the root-relative path of
an output, or of a file inside a folder output): messages and system errors
name it, never a temporary or scratch name.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from typing import BinaryIO, TypeVar

from mlrepro.errors import add_path
from mlrepro.store import fileio
from mlrepro.store.digest import SMALL, hash_stream, read_fd, xxh_bytes
from mlrepro.store.objects import CorruptObjectError, MissingObjectError, ObjectStore

_T = TypeVar("_T")
LINKS = ("reflink", "hardlink", "symlink")


@contextlib.contextmanager
def _replacing(tmp: str, dest: str, name: str) -> Iterator[None]:
    """Whatever the block writes at ``tmp`` replaces ``dest`` when the block succeeds; on
    any failure (or Ctrl-C) ``tmp`` is removed and ``dest`` is left as it was."""
    try:
        yield
        _named(lambda: os.replace(tmp, dest), name)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def copy_out(
    store: ObjectStore, xxh: str, dest: str, *, size: int | None = None, shown: str | None = None
) -> None:
    """Write the object to ``dest`` atomically as a writable copy, verified while copying."""
    name = shown or dest
    src, tmp = _prepare_out(store, xxh, dest, name)
    with _replacing(tmp, dest, name):
        try:
            fd_in = os.open(src, os.O_RDONLY)
        except FileNotFoundError:
            raise MissingObjectError(xxh, name) from None
        try:
            if size is not None and size <= SMALL:
                data = _read(fd_in, src)
                if xxh_bytes(data) != xxh:
                    raise CorruptObjectError(xxh, name)
                _named(lambda: fileio.write_new(tmp, data, 0o644), name)
            else:
                out = _named(lambda: open(tmp, "xb"), name)  # noqa: SIM115 - closed below
                with out, open(fd_in, "rb", buffering=0, closefd=False) as f:
                    got = _hash(f, src, lambda b: _named(lambda: out.write(b), name))
                if got != xxh:
                    raise CorruptObjectError(xxh, name)
                os.chmod(tmp, 0o644)
        finally:
            os.close(fd_in)


def link_out(
    store: ObjectStore,
    xxh: str,
    dest: str,
    link: str,
    *,
    size: int | None = None,
    shown: str | None = None,
) -> None:
    """Bring the object to ``dest`` as a ``reflink``, ``hardlink``, ``symlink`` or ``copy``."""
    name = shown or dest
    if link == "copy":
        copy_out(store, xxh, dest, size=size, shown=name)
        return
    if link not in LINKS:
        raise ValueError(link)
    src, tmp = _prepare_out(store, xxh, dest, name)
    with _replacing(tmp, dest, name):
        _link(link, src, tmp, xxh, name)
        if link == "reflink":
            os.chmod(tmp, 0o644)
        _check_placed(tmp, xxh, size, name)


def place_new(
    store: ObjectStore,
    xxh: str,
    dest: str,
    link: str,
    *,
    size: int,
    mtime_ns: int,
    shown: str | None = None,
) -> os.stat_result:
    """Bring the object to ``dest``, a name that does not exist yet, in a folder
    being built privately (no temporary name: the folder is published whole).

    A copy is verified while written and dated ``mtime_ns``, a link once made; the
    result's stat (taken on the open file) lets the caller record it without
    another lookup."""
    name = shown or dest
    src = store.path(xxh)
    if link in ("hardlink", "symlink"):
        _link(link, src, dest, xxh, name)
        try:
            _check_placed(dest, xxh, size, name)
        except BaseException:
            os.unlink(dest)
            raise
        return os.lstat(dest) if link == "hardlink" else os.stat(dest)
    if link not in ("copy", "reflink"):
        raise ValueError(link)
    try:
        fd_in = os.open(src, os.O_RDONLY)
    except FileNotFoundError:
        raise MissingObjectError(xxh, name) from None
    try:
        flags = os.O_CREAT | os.O_EXCL | (os.O_RDWR if link == "reflink" else os.O_WRONLY)
        fd = _named(lambda: os.open(dest, flags, 0o644), name)
        try:
            if link == "reflink":
                _named(lambda: fileio.clone(fd, fd_in), name)
                with open(fd, "rb", buffering=0, closefd=False) as f:  # the clone itself
                    got = _hash(f, dest, None)
            elif size <= SMALL:
                data = _read(fd_in, src)
                got = xxh_bytes(data)
                if got == xxh:
                    _named(lambda: fileio.write_all(fd, data), name)
            else:
                with open(fd_in, "rb", buffering=0, closefd=False) as f:
                    got = _hash(f, src, lambda b: _named(lambda: fileio.write_all(fd, b), name))
            if got != xxh:
                raise CorruptObjectError(xxh, name)
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


def _prepare_out(store: ObjectStore, xxh: str, dest: str, name: str) -> tuple[str, str]:
    """The object's path and a temporary name beside ``dest`` (its folder made)."""
    src = store.path(xxh)
    if not os.path.exists(src):
        raise MissingObjectError(xxh, name)
    directory = os.path.dirname(dest) or "."
    if not os.path.isdir(directory):
        os.makedirs(directory, exist_ok=True)  # a workspace folder: its error names it
    return src, fileio.tmp_name(directory)


def _link(link: str, src: str, dest: str, xxh: str, name: str) -> None:
    """Link ``dest`` to the object at ``src``; an OSError that means "not here" is left
    as it is for the caller to try the next link type."""
    if link == "symlink" and not os.path.exists(src):
        raise MissingObjectError(xxh, name)
    try:
        if link == "hardlink":
            os.link(src, dest)
        elif link == "symlink":
            os.symlink(src, dest)
        else:
            fileio.reflink(src, dest)
    except FileNotFoundError as exc:
        if not os.path.exists(src):
            raise MissingObjectError(xxh, name) from None
        add_path(exc, name, instead=True)
        raise
    except OSError as exc:
        add_path(exc, name, instead=True)
        raise


def _check_placed(path: str, xxh: str, size: int | None, name: str) -> None:
    """Raise unless the file at ``path`` (a link to the object, or a clone of it) holds
    the bytes the object is named by: one read, as a copy costs."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:  # a symbolic link to an object deleted meanwhile
        raise MissingObjectError(xxh, name) from None
    try:
        if size is not None and size <= SMALL:
            got = xxh_bytes(_read(fd, path))
        else:
            with open(fd, "rb", buffering=0, closefd=False) as f:
                got = _hash(f, path, None)
    finally:
        os.close(fd)
    if got != xxh:
        raise CorruptObjectError(xxh, name)


def _named(action: Callable[[], _T], name: str) -> _T:
    """``action()``, a write towards the destination: a system error names ``name``,
    not the temporary or scratch name written first (nor nothing, for a write on an
    open file)."""
    try:
        return action()
    except OSError as exc:
        add_path(exc, name, instead=True)
        raise


def _read(fd: int, path: str) -> bytes:
    try:
        return read_fd(fd)
    except OSError as exc:
        add_path(exc, path)  # a read error (EIO) names no file
        raise


def _hash(f: BinaryIO, path: str, sink: Callable[[memoryview], object] | None) -> str:
    try:
        return hash_stream(f, sink=sink).xxh
    except OSError as exc:
        add_path(exc, path)  # a read error names no file (a write error named the copy)
        raise
