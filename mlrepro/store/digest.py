"""Content digests: streaming xxh3-128 (addresses) and sha256 (audit), tagged.

A digest is written with its algorithm, ``xxh3-128:<32 hex>`` or
``sha256:<64 hex>``, wherever it leaves memory (lock file, lineage, audit).

Files are read once, in large reused buffers (constant memory whatever the
file size). When sha256 is wanted it runs in a helper thread on the previous
buffer while the next one is read and fed to xxh3: hashlib releases the GIL,
so the two overlap and sha256 costs little extra wall time.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import BinaryIO

import xxhash

XXH = "xxh3-128"
SHA = "sha256"
CHUNK = 4 << 20  # 4 MiB: large enough to amortise calls, small enough for the CPU caches

_sha_pool: ThreadPoolExecutor | None = None


def _pool() -> ThreadPoolExecutor:
    global _sha_pool
    if _sha_pool is None:
        _sha_pool = ThreadPoolExecutor(
            max_workers=max(2, (os.cpu_count() or 2)), thread_name_prefix="sha256"
        )
    return _sha_pool


@dataclass(frozen=True, slots=True)
class Digest:
    """What a file's bytes hash to."""

    xxh: str  # bare hex of xxh3-128
    size: int
    sha: str | None = None  # bare hex of sha256, when computed

    @property
    def tagged(self) -> str:
        return f"{XXH}:{self.xxh}"

    @property
    def tagged_sha(self) -> str | None:
        return f"{SHA}:{self.sha}" if self.sha else None


def xxh_bytes(data: bytes) -> str:
    return xxhash.xxh3_128_hexdigest(data)


def sha_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


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
    buffers = (bytearray(chunk), bytearray(chunk))
    pending: Future[None] | None = None
    size = 0
    i = 0
    readinto = f.readinto  # type: ignore[attr-defined]
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
    if pending is not None:
        pending.result()
    return Digest(xxh=x.hexdigest(), size=size, sha=s.hexdigest() if s is not None else None)


def hash_file(path: str, *, sha: bool = False) -> Digest:
    with open(path, "rb", buffering=0) as f:
        return hash_stream(f, sha=sha)


def parse_tagged(value: str, algo: str) -> str:
    """The bare hex of a tagged digest; ValueError when the tag or length is wrong."""
    prefix, _, hexpart = value.partition(":")
    want = 32 if algo == XXH else 64
    if prefix != algo or len(hexpart) != want or any(c not in "0123456789abcdef" for c in hexpart):
        raise ValueError(f"not a {algo} digest: {value!r}")
    return hexpart
