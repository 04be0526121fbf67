"""A remote in a folder: a local disk, a mounted network share (NFS, SMB).

A key is a file below the folder. A write goes to a temporary file beside its final
name (``.tmp-`` and a random part, which no listing mistakes for an object) and is
renamed into place once complete; durability is batched, as in the local cache: one
flush of the folder's file system (:meth:`LocalBackend.flush`) before anything is
recorded as being there. A failure is an :class:`OSError` naming the file, which the
CLI reports as the user's to fix (a full or read-only disk, a permission).
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable, Iterator, Sequence

from mlrepro.remote.base import Listed
from mlrepro.store import fileio

_READ_ONLY = 0o444
_CHUNK = 8 << 20  # bytes per read of a download


class LocalBackend:
    def __init__(self, name: str, root: str, url: str) -> None:
        self.name = name
        self.root = os.path.abspath(root)
        self.url = url
        # as DVC: a disk (or a share) serves a few requests per core at once
        self.jobs = 4 * (os.cpu_count() or 1)

    def _path(self, key: str) -> str:
        parts = key.split("/")
        if any(p in ("", ".", "..") for p in parts):
            raise ValueError(f"bad remote key {key!r}")  # keys are made here, never given
        return os.path.join(self.root, *parts)

    def exists(self, key: str) -> bool:
        return os.path.isfile(self._path(key))

    def size(self, key: str) -> int:
        return os.stat(self._path(key)).st_size

    def list(self, prefix: str) -> Iterator[str]:
        top = self._path(prefix)
        for folder, dirs, files in os.walk(top):
            dirs.sort()
            rel = os.path.relpath(folder, self.root).replace(os.sep, "/")
            for name in sorted(files):
                yield f"{rel}/{name}"

    def scan(self, prefix: str) -> Iterator[Listed]:
        for key in self.list(prefix):
            try:
                st = os.stat(self._path(key))
            except FileNotFoundError:
                continue  # deleted meanwhile
            yield Listed(key, st.st_size, st.st_mtime)

    def read(self, key: str) -> bytes:
        with open(self._path(key), "rb") as f:
            return f.read()

    def download(
        self, key: str, dest: str, sink: Callable[[bytes | memoryview], object] | None = None
    ) -> int:
        with open(self._path(key), "rb") as src, open(dest, "xb") as out:
            while chunk := src.read(_CHUNK):  # a new buffer each time: the sink may keep it
                out.write(chunk)
                if sink is not None:
                    sink(chunk)
            return out.tell()

    def write(self, key: str, data: bytes) -> None:
        self._place(key, lambda tmp: fileio.write_new(tmp, data, _READ_ONLY))

    def upload(self, key: str, src: str) -> None:
        def copy(tmp: str) -> None:
            shutil.copyfile(src, tmp)
            os.chmod(tmp, _READ_ONLY)

        self._place(key, copy)

    def _place(self, key: str, fill: Callable[[str], None]) -> None:
        path = self._path(key)
        folder = os.path.dirname(path)
        os.makedirs(folder, exist_ok=True)
        # random: two machines writing one share can have the same pid and thread id
        tmp = os.path.join(folder, f".tmp-{os.urandom(8).hex()}")
        try:
            fill(tmp)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def delete(self, keys: Sequence[str]) -> None:
        for key in keys:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._path(key))

    def flush(self) -> None:
        if os.path.isdir(self.root):
            fileio.syncfs(self.root)

    def close(self) -> None:
        pass
