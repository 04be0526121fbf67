"""What this clone knows a remote holds, so a push need not ask the remote again.

One file per remote URL, ``.mlrepro/state/remotes/<sha256 of the URL, 32 hex>``
(never committed)::

    mlrepro remote record 1
    epoch 5f0c9e...            (the remote's epoch when the record was started)
    8a3f...                    (one object name per line: xxh3-128, bare hex)

A name is added only once the object is known to be on the remote: uploaded and
flushed, seen in a listing, found by a request, or downloaded from it. The remote's
epoch (``mlrepro/epoch``, rewritten by every remote gc) is read once per command; a
record made under another epoch is dropped, so objects a gc removed are not taken
for present. The record is a cache: losing it, or a torn last line after a crash,
costs requests, never data. Objects deleted from the remote by other means are not
seen until a command lists the remote (``status -c``); docs/format.md, "Remote
cache", lists the failure modes.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterable

from mlrepro.fsutil import atomic_write
from mlrepro.store.digest import is_hex

HEADER = "mlrepro remote record 1"


def record_path(state_dir: str, url: str) -> str:
    name = hashlib.sha256(url.encode("utf-8", "surrogateescape")).hexdigest()[:32]
    return os.path.join(state_dir, "state", "remotes", name)


class Known:
    """The object names a remote is known to hold (a set, backed by the record file)."""

    def __init__(self, path: str, epoch: str) -> None:
        self.path = path
        self.epoch = epoch
        self.names: set[str] = set()
        self._load()

    def _load(self) -> None:
        try:
            with open(self.path, encoding="ascii", errors="replace") as f:
                lines = f.read().split("\n")
        except FileNotFoundError:
            return
        if lines[:2] != [HEADER, f"epoch {self.epoch}"]:
            return  # another epoch (a gc ran) or another format: start again
        # a line torn by a crash is not a name: skipped
        self.names = {line for line in lines[2:] if is_hex(line)}

    def __contains__(self, xxh: object) -> bool:
        return xxh in self.names

    def __len__(self) -> int:
        return len(self.names)

    def add(self, names: Iterable[str]) -> None:
        """Record ``names`` as held by the remote (call only once they are durable there)."""
        new = sorted(set(names) - self.names)
        if not new:
            return
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        if not self.names:
            # (re)start the file under the current epoch, whatever was there
            atomic_write(self.path, f"{HEADER}\nepoch {self.epoch}\n".encode())
        data = "".join(f"{n}\n" for n in new).encode("ascii")
        with open(self.path, "a+b") as f:  # (appends land at the end, wherever it reads)
            end = f.seek(0, os.SEEK_END)
            if end:
                f.seek(end - 1)
                if f.read(1) != b"\n":  # a line torn by a crash: end it, keep ours whole
                    data = b"\n" + data
            f.write(data)
        self.names.update(new)

    def forget(self) -> None:
        """Drop the whole record (after a remote gc, or a listing that contradicts it)."""
        self.names = set()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
