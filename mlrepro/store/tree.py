"""Directory outputs as tree objects.

A tree is the canonical JSON list of a directory's files, sorted by path
(forward slashes, relative to the directory), each with its size, xxh3-128
and sha256. The directory's digest is the xxh3-128 of those bytes, and the
tree is stored in the object store under that digest like any object, so a
directory is restored by reading one object and then each file's.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from mlrepro.canonical import canonical_bytes
from mlrepro.store.digest import SHA, XXH, sha_bytes, xxh_bytes

TREE_VERSION = 1


@dataclass(frozen=True, slots=True)
class TreeEntry:
    path: str
    size: int
    xxh: str
    sha: str


@dataclass(frozen=True, slots=True)
class Tree:
    entries: tuple[TreeEntry, ...]

    @classmethod
    def build(cls, entries: Iterable[TreeEntry]) -> Tree:
        return cls(tuple(sorted(entries, key=lambda e: e.path)))

    def to_bytes(self) -> bytes:
        return canonical_bytes(
            [{"path": e.path, "size": e.size, XXH: e.xxh, SHA: e.sha} for e in self.entries]
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> Tree:
        raw = json.loads(data)
        if not isinstance(raw, list):
            raise ValueError("a tree object must be a JSON list")
        return cls(
            tuple(TreeEntry(path=e["path"], size=e["size"], xxh=e[XXH], sha=e[SHA]) for e in raw)
        )

    @property
    def size(self) -> int:
        return sum(e.size for e in self.entries)

    def digests(self) -> tuple[str, str]:
        """(xxh3-128, sha256) of the canonical bytes."""
        data = self.to_bytes()
        return xxh_bytes(data), sha_bytes(data)
