"""Content digests: streaming xxh3-128 (addresses) and sha256 (audit), tagged.

A digest is written with its algorithm, ``xxh3-128:<32 hex>`` or
``sha256:<64 hex>``, wherever it leaves memory (lock file, lineage, audit).

Large files are read once, in two large buffers reused for the whole process
(constant memory whatever the file size). When sha256 is wanted it runs in a
helper thread on the previous buffer while the next one is read and fed to
xxh3: hashlib releases the GIL, so the two overlap. Small files are read in
one call: for a folder of 50,000 small files the per-file overhead is what
costs, not the hashing.
"""

from __future__ import annotations

import contextlib
import hashlib
import mmap
import os
import re
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import BinaryIO, TypeGuard

import xxhash

from mlrepro.errors import add_path

XXH = "xxh3-128"
SHA = "sha256"
CHUNK = 4 << 20  # 4 MiB: large enough to amortise calls, small enough for the CPU caches
SMALL = 1 << 20  # files up to this size are read whole
FIRST_READ = 64 << 10  # what read_fd asks for first: below malloc's mmap threshold

_sha_pool: ThreadPoolExecutor | None = None
_local = threading.local()


def _pool() -> ThreadPoolExecutor:
    global _sha_pool
    if _sha_pool is None:
        _sha_pool = ThreadPoolExecutor(
            max_workers=max(2, os.cpu_count() or 2), thread_name_prefix="sha256"
        )
    return _sha_pool


def _buffers(chunk: int) -> tuple[bytearray, bytearray]:
    # per thread, allocated once: zero-filling 8 MiB per file would dominate
    bufs: tuple[bytearray, bytearray] | None = getattr(_local, "bufs", None)
    if bufs is None or len(bufs[0]) != chunk:
        bufs = (bytearray(chunk), bytearray(chunk))
        _local.bufs = bufs
    return bufs


# a digest's hex as mlrepro writes it: lower case, the algorithm's full length. Every
# digest read from a record is checked against this before it names a file (an object
# named "../x" would be a path out of the cache).
_HEX = {XXH: re.compile(r"[0-9a-f]{32}"), SHA: re.compile(r"[0-9a-f]{64}")}


def is_hex(hexdigest: str, algorithm: str = XXH) -> bool:
    """Whether ``hexdigest`` is a bare digest of ``algorithm``."""
    return _HEX[algorithm].fullmatch(hexdigest) is not None


def is_tagged(value: object, algorithm: str = XXH) -> TypeGuard[str]:
    """Whether ``value`` is ``<algorithm>:<hex>``, a digest as mlrepro writes one."""
    if not isinstance(value, str):
        return False
    prefix, sep, hexdigest = value.partition(":")
    return bool(sep) and prefix == algorithm and is_hex(hexdigest, algorithm)


def tag_xxh(hexdigest: str) -> str:
    """``xxh3-128:<hex>``: an address as it is written outside memory."""
    return f"{XXH}:{hexdigest}"


def tag_sha(hexdigest: str) -> str:
    """``sha256:<hex>``."""
    return f"{SHA}:{hexdigest}"


def bare(tagged: str) -> str:
    """The hex of a tagged digest (``xxh3-128:ab12…`` -> ``ab12…``), which names the
    store's objects. Digests are checked where records are read (lock file, trees,
    run-cache), so one that is not :func:`is_tagged` here is a bug: ValueError."""
    algorithm, _, hexdigest = tagged.partition(":")
    if not (algorithm in _HEX and is_hex(hexdigest, algorithm)):
        raise ValueError(f"not a tagged digest: {tagged[:80]!r}")
    return hexdigest


@dataclass(frozen=True, slots=True)
class Digest:
    """What a file's bytes hash to."""

    xxh: str  # bare hex of xxh3-128
    size: int
    sha: str | None = None  # bare hex of sha256, when computed

    @property
    def tagged(self) -> str:
        return tag_xxh(self.xxh)

    @property
    def tagged_sha(self) -> str | None:
        return tag_sha(self.sha) if self.sha else None


def xxh_bytes(data: bytes | memoryview) -> str:
    return xxhash.xxh3_128_hexdigest(data)


def sha_bytes(data: bytes | memoryview) -> str:
    return hashlib.sha256(data).hexdigest()


def digest_bytes(data: bytes, *, sha: bool) -> Digest:
    return Digest(xxh=xxh_bytes(data), size=len(data), sha=sha_bytes(data) if sha else None)


def hash_stream(
    f: BinaryIO,
    *,
    sha: bool = False,
    sink: Callable[[memoryview], object] | None = None,
    chunk: int = CHUNK,
) -> Digest:
    """Hash everything readable from ``f``; ``sink`` also receives each chunk (to copy it)."""
    x = xxhash.xxh3_128()
    s = hashlib.sha256() if sha else None
    buffers = _buffers(chunk) if chunk == CHUNK else (bytearray(chunk), bytearray(chunk))
    pending: Future[None] | None = None  # sha256 of the other buffer, running
    size = 0
    i = 0
    readinto = f.readinto  # type: ignore[attr-defined]
    try:
        while True:
            buf = buffers[i]
            n = readinto(buf)
            if not n:
                break
            view = memoryview(buf)[:n]
            size += n
            x.update(view)
            if sink is not None:
                sink(view)
            if s is not None:
                if pending is not None:
                    pending.result()  # the other buffer is free again
                pending = _pool().submit(s.update, view)
            i ^= 1
    finally:
        if pending is not None:
            pending.result()
    return Digest(xxh=x.hexdigest(), size=size, sha=s.hexdigest() if s is not None else None)


class Hasher:
    """xxh3-128 (and sha256) of bytes fed in order, as they arrive (a download).

    sha256 runs on a helper thread, overlapping whatever the caller does next (reading
    the next chunk from the network), so a download is hashed at no cost in time. Each
    view given must stay unchanged until the next :meth:`update` or :meth:`digest`."""

    def __init__(self, *, sha: bool) -> None:
        self._x = xxhash.xxh3_128()
        self._s = hashlib.sha256() if sha else None
        self._pending: Future[None] | None = None
        self.size = 0

    def update(self, view: bytes | memoryview) -> None:
        self._x.update(view)
        self.size += len(view)
        if self._s is not None:
            if self._pending is not None:
                self._pending.result()
            self._pending = _pool().submit(self._s.update, view)

    def digest(self) -> Digest:
        if self._pending is not None:
            self._pending.result()
            self._pending = None
        sha = self._s.hexdigest() if self._s is not None else None
        return Digest(xxh=self._x.hexdigest(), size=self.size, sha=sha)


def read_small(path: str) -> bytes:
    fd = os.open(path, os.O_RDONLY)
    try:
        return read_fd(fd)
    except OSError as exc:
        add_path(exc, path)  # a read error (EIO) names no file
        raise
    finally:
        os.close(fd)


def read_fd(fd: int) -> bytes:
    """Everything left to read from ``fd`` (meant for small files).

    A read of a regular file that returns fewer bytes than asked for has reached
    its end, so a small file costs one call; anything longer is read to the end.
    The first read asks for :data:`FIRST_READ` bytes, not :data:`SMALL`: Python
    allocates the whole size asked for before reading, and above glibc's mmap
    threshold (128 KiB) every call would map, fault in and unmap a fresh MiB (a
    4 KiB file cost 28 us instead of 6 us)."""
    data = os.read(fd, FIRST_READ + 1)
    if len(data) <= FIRST_READ:
        return data
    chunks = [data]
    while data:
        data = os.read(fd, SMALL)
        chunks.append(data)
    return b"".join(chunks)


WINDOW = 32 << 20  # bytes of a large file mapped at a time: bounds memory whatever its size


def _call(fn: Callable[[memoryview], object], view: memoryview) -> None:
    fn(view)


def hash_mapped(
    path: str, *, sha: bool = False, sink: Callable[[memoryview], object] | None = None
) -> Digest:
    """Hash a large file through memory-mapped windows (``sink``: also given each window).

    Hashing straight from the page cache skips the copy into a read buffer, so
    xxh3 runs near memory speed. sha256 and the sink (the copy into the cache)
    run at the same time in helper threads on the same window: hashlib and file
    writes release the GIL, so the three overlap and the slowest sets the pace.
    """
    x = xxhash.xxh3_128()
    s = hashlib.sha256() if sha else None
    size = 0
    with open(path, "rb", buffering=0) as f:
        total = os.fstat(f.fileno()).st_size
        if total == 0:
            return hash_stream(f, sha=sha, sink=sink)
        offset = 0
        while offset < total:
            length = min(WINDOW, total - offset)
            mm = mmap.mmap(f.fileno(), length, access=mmap.ACCESS_READ, offset=offset)
            _hash_window(mm, x, s, sink)
            offset += length
            size += length
    # (a file that grows while it is read is caught by the caller's stat check)
    return Digest(xxh=x.hexdigest(), size=size, sha=s.hexdigest() if s is not None else None)


def _hash_window(
    mm: mmap.mmap,
    x: xxhash.xxh3_128,
    s: hashlib._Hash | None,
    sink: Callable[[memoryview], object] | None,
) -> None:
    """Feed one mapped window to xxh3 here, and to sha256 and the sink in helper threads.

    Whatever fails, every helper is done with the window before it is let go, and an
    error surfaces as itself (issue 15). Unmapping under a helper still reading would
    crash; and where a helper's error holds a view of the window (the traceback of an
    ENOSPC raised in the sink keeps its slices alive), closing the map raises
    BufferError, which would replace that error: the map is then left to be unmapped
    when the error and its views are gone."""
    view = memoryview(mm)
    pending: list[Future[None]] = []
    try:
        if s is not None:
            pending.append(_pool().submit(s.update, view))
        if sink is not None:
            pending.append(_pool().submit(_call, sink, view))
        x.update(view)
    finally:
        wait(pending)
        with contextlib.suppress(BufferError):
            view.release()
            mm.close()
    for p in pending:
        p.result()  # the first error, if any


def hash_file(path: str, *, sha: bool = False, size: int | None = None) -> Digest:
    if size is not None and size <= SMALL:
        return digest_bytes(read_small(path), sha=sha)
    try:
        return hash_mapped(path, sha=sha)
    except (ValueError, OSError):  # not mappable (a pipe, a special file system)
        with open(path, "rb", buffering=0) as f:
            try:
                return hash_stream(f, sha=sha)
            except OSError as exc:
                add_path(exc, path)  # a read error (EIO) names no file
                raise
