"""The content-addressed object store under ``.mlrepro/cache/``.

An object is a file's bytes stored at ``<cache>/xxh3-128/<2 hex>/<30 hex>``.
Objects are immutable: written to a temporary file in the cache, fsynced,
renamed into place and made read-only. An object that exists is complete;
a crash leaves at most a stray ``.tmp-*`` file, which ``gc`` removes. Reads
verify the digest, so a corrupt object is reported and never checked out.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass

from mlrepro.errors import MlreproError
from mlrepro.store.digest import XXH, Digest, hash_file, hash_stream, xxh_bytes

READ_ONLY = 0o444


class CorruptObjectError(MlreproError):
    """An object's bytes no longer match its address."""


class MissingObjectError(MlreproError):
    """An object the workspace needs is not in the cache."""


@dataclass(frozen=True, slots=True)
class ObjectStore:
    root: str  # the cache directory, e.g. <repo>/.mlrepro/cache

    def path(self, xxh: str) -> str:
        return os.path.join(self.root, XXH, xxh[:2], xxh[2:])

    def has(self, xxh: str) -> bool:
        return os.path.exists(self.path(xxh))

    def _tmp(self) -> tuple[int, str]:
        directory = os.path.join(self.root, "tmp")
        os.makedirs(directory, exist_ok=True)
        return tempfile.mkstemp(prefix=".tmp-", dir=directory)

    def _publish(self, tmp: str, xxh: str) -> None:
        dest = self.path(xxh)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        os.chmod(tmp, READ_ONLY)
        # os.replace is atomic; when the object exists already the bytes are
        # the same (same address), so replacing it is harmless.
        os.replace(tmp, dest)

    def add_file(self, src: str, *, sha: bool = True) -> Digest:
        """Copy ``src`` into the store while hashing it (one read of the file)."""
        fd, tmp = self._tmp()
        try:
            with os.fdopen(fd, "wb") as out, open(src, "rb", buffering=0) as f:
                digest = hash_stream(f, sha=sha, sink=out.write)
                out.flush()
                os.fsync(out.fileno())
            if self.has(digest.xxh):
                os.unlink(tmp)
            else:
                self._publish(tmp, digest.xxh)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        return digest

    def add_bytes(self, data: bytes) -> str:
        xxh = xxh_bytes(data)
        if self.has(xxh):
            return xxh
        fd, tmp = self._tmp()
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            self._publish(tmp, xxh)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        return xxh

    def read_bytes(self, xxh: str) -> bytes:
        """An object's bytes, verified against its address."""
        try:
            with open(self.path(xxh), "rb") as f:
                data = f.read()
        except FileNotFoundError:
            raise MissingObjectError(f"object {XXH}:{xxh} is not in the cache") from None
        if xxh_bytes(data) != xxh:
            raise CorruptObjectError(
                f"cache object {XXH}:{xxh} is corrupt (its bytes hash differently)",
                hint="run `mlrepro cache verify --repair` or restore it from a remote",
            )
        return data

    def verify(self, xxh: str) -> bool:
        """Whether the object exists and its bytes still match its address."""
        try:
            return hash_file(self.path(xxh)).xxh == xxh
        except FileNotFoundError:
            return False

    def copy_out(self, xxh: str, dest: str, *, verify: bool = True) -> None:
        """Write the object to ``dest`` atomically (a writable copy, verified while copying)."""
        src = self.path(xxh)
        directory = os.path.dirname(dest) or "."
        os.makedirs(directory, exist_ok=True)
        try:
            f = open(src, "rb", buffering=0)  # noqa: SIM115 - closed by the `with` below
        except FileNotFoundError:
            raise MissingObjectError(f"object {XXH}:{xxh} is not in the cache") from None
        fd, tmp = tempfile.mkstemp(prefix=".mlrepro-tmp-", dir=directory)
        try:
            with os.fdopen(fd, "wb") as out, f:
                if verify:
                    got = hash_stream(f, sink=out.write).xxh
                    if got != xxh:
                        raise CorruptObjectError(
                            f"cache object {XXH}:{xxh} is corrupt; not checked out to '{dest}'",
                            hint="run `mlrepro cache verify --repair` or restore it from a remote",
                        )
                else:
                    shutil.copyfileobj(f, out, 4 << 20)
            os.chmod(tmp, 0o644)
            os.replace(tmp, dest)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise

    def link_out(self, xxh: str, dest: str, link: str) -> None:
        """Bring the object to ``dest`` as a ``reflink``, ``hardlink``, ``symlink`` or ``copy``."""
        if link == "copy":
            self.copy_out(xxh, dest)
            return
        src = self.path(xxh)
        if not os.path.exists(src):
            raise MissingObjectError(f"object {XXH}:{xxh} is not in the cache")
        directory = os.path.dirname(dest) or "."
        os.makedirs(directory, exist_ok=True)
        tmp = os.path.join(directory, f".mlrepro-tmp-{os.getpid()}-{os.path.basename(dest)}")
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if link == "hardlink":
            os.link(src, tmp)
        elif link == "symlink":
            os.symlink(src, tmp)
        elif link == "reflink":
            _reflink(src, tmp)
            os.chmod(tmp, 0o644)
        else:
            raise ValueError(link)
        os.replace(tmp, dest)

    def iter_objects(self) -> Iterator[str]:
        base = os.path.join(self.root, XXH)
        if not os.path.isdir(base):
            return
        for prefix in sorted(os.listdir(base)):
            sub = os.path.join(base, prefix)
            if len(prefix) == 2 and os.path.isdir(sub):
                for rest in sorted(os.listdir(sub)):
                    yield prefix + rest


def _reflink(src: str, dest: str) -> None:
    """A copy-on-write clone (FICLONE); OSError where the filesystem cannot."""
    import fcntl

    ficlone = 0x40049409
    with open(src, "rb") as s, open(dest, "wb") as d:
        try:
            fcntl.ioctl(d.fileno(), ficlone, s.fileno())
        except OSError:
            d.close()
            os.unlink(dest)
            raise
