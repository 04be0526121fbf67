"""Low-level file writing for the object store: whole writes, exclusive creation,
temporary names, direct (page-cache bypassing) writes, file-system flushes and
copy-on-write clones. No knowledge of objects or digests lives here."""

from __future__ import annotations

import ctypes
import errno
import itertools
import os
import threading

ALIGN = 4096  # direct writes: buffer address and length multiples of the block size
FICLONE = 0x40049409  # ioctl: clone the source's extents (copy-on-write)

_counter = itertools.count()
_pid = os.getpid()


def _forked() -> None:
    global _pid
    _pid = os.getpid()


os.register_at_fork(after_in_child=_forked)


def tmp_name(directory: str) -> str:
    """A name in ``directory`` no other process or thread will pick."""
    return os.path.join(directory, f".tmp-{_pid}-{threading.get_ident()}-{next(_counter)}")


def write_all(fd: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def write_new(path: str, data: bytes | memoryview, mode: int) -> None:
    """Create ``path`` (it must not exist) holding ``data``."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        write_all(fd, data)
    finally:
        os.close(fd)


class DirectWriter:
    """Writes a large object's bytes to a new file, bypassing the page cache (O_DIRECT)
    where the file system allows it.

    The object must reach the disk before any record refers to it (the store's
    ``sync``). Through the page cache, 2 GiB are first copied into memory and then
    flushed; a direct write streams to the device while the file is being hashed.
    Direct writes need block-aligned buffers and lengths: mapped windows are
    page-aligned, and the unaligned tail of the last window is written normally. A
    refusal (EINVAL) surfaces as an OSError, after which the caller writes the file
    again with :meth:`restart` (buffered)."""

    def __init__(self, path: str) -> None:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
        direct = getattr(os, "O_DIRECT", 0)
        try:
            self.fd = os.open(path, flags | direct, 0o600)
            self.direct = bool(direct)
        except OSError as exc:  # e.g. tmpfs refuses O_DIRECT with EINVAL
            if not direct or exc.errno != errno.EINVAL:
                raise
            self.fd = os.open(path, flags, 0o600)
            self.direct = False

    def __call__(self, data: memoryview) -> None:
        if self.direct:
            aligned = len(data) - len(data) % ALIGN
            write_all(self.fd, data[:aligned])
            data = data[aligned:]
            if data:
                self._buffered()
        write_all(self.fd, data)

    def _buffered(self) -> None:
        import fcntl

        if self.direct:
            flags = fcntl.fcntl(self.fd, fcntl.F_GETFL)
            fcntl.fcntl(self.fd, fcntl.F_SETFL, flags & ~os.O_DIRECT)
            self.direct = False

    def restart(self) -> None:
        """Forget what was written, and write what comes next through the page cache."""
        self._buffered()
        os.lseek(self.fd, 0, os.SEEK_SET)
        os.ftruncate(self.fd, 0)

    def close(self) -> None:
        os.close(self.fd)


def _load_syncfs() -> ctypes._CFuncPtr | None:  # type: ignore[name-defined]
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.syncfs
    except (OSError, AttributeError):
        return None


_syncfs = _load_syncfs()


def name_open_file(fd: int, dir_fd: int, name: str) -> None:
    """Give the unnamed file open as ``fd`` (``O_TMPFILE``) the name ``name``, a path
    relative to the folder open as ``dir_fd``; FileExistsError when it is taken.

    Links ``/proc/self/fd/<fd>``: passing a folder descriptor makes Python call linkat
    with AT_SYMLINK_FOLLOW, which links the open file (plain link() would link /proc's
    symbolic link itself). Naming the file by its descriptor alone (linkat with
    AT_EMPTY_PATH, through ctypes) skips that walk through /proc, but saved under 1% of
    ``mlrepro add`` of 50,000 files, so it was removed (issue 16; benchmarks/RESULTS.md,
    "fastpaths")."""
    os.link(f"/proc/self/fd/{fd}", name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd, follow_symlinks=True)


def syncfs(path: str) -> None:
    """Flush the file system holding ``path`` (everything written to it so far)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        if _syncfs is not None and _syncfs(fd) == 0:
            return
        os.sync()
    finally:
        os.close(fd)


def clone(fd_out: int, fd_in: int) -> None:
    """Make ``fd_out`` a copy-on-write clone of ``fd_in``; OSError where the file
    system cannot."""
    import fcntl

    fcntl.ioctl(fd_out, FICLONE, fd_in)


def reflink(src: str, dest: str) -> None:
    """A copy-on-write clone of ``src`` at the new name ``dest`` (nothing left on failure)."""
    with open(src, "rb") as s, open(dest, "xb") as d:
        try:
            clone(d.fileno(), s.fileno())
        except OSError:
            d.close()
            os.unlink(dest)
            raise
