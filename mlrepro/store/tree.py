"""Directory outputs as tree objects.

A tree is the canonical JSON list of a directory's files, sorted by path
(forward slashes, relative to the directory), each with its size, xxh3-128
and sha256. The directory's digest is the xxh3-128 of those bytes, and the
tree is stored in the object store under that digest like any object, so a
directory is restored by reading one object and then each file's.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

from mlrepro.canonical import canonical_bytes
from mlrepro.errors import MlreproError
from mlrepro.store.digest import SHA, XXH, sha_bytes, xxh_bytes

TREE_VERSION = 1
# what json.dumps(ensure_ascii=False) escapes in a string
_NEEDS_ESCAPE = re.compile(r'[\x00-\x1f"\\]')


class MalformedTreeError(MlreproError, ValueError):
    """Bytes that should be a tree object are not one (e.g. a file's object named as a folder)."""

    def __init__(self, message: str) -> None:
        super().__init__(
            message, hint="the lock file or the cache is damaged: check `mlrepro cache verify`"
        )


def _json_str(s: str) -> str:
    return json.dumps(s, ensure_ascii=False) if _NEEDS_ESCAPE.search(s) else f'"{s}"'


def entry_json(path: str, size: int, xxh: str, sha: str) -> str:
    """One entry of a tree's canonical bytes (keys in sorted order: path, sha256, size,
    xxh3-128). A tree's bytes are ``[`` + its entries, in path order, joined by ``,`` + ``]``."""
    return f'{{"path":{_json_str(path)},"sha256":"{sha}","size":{size},"xxh3-128":"{xxh}"}}'


class TreeEntry(NamedTuple):  # a named tuple: half the cost of a frozen dataclass to make
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
        """Canonical JSON, written directly: the same bytes as :func:`canonical_bytes`
        of the entry dicts (keys in sorted order: path, sha256, size, xxh3-128), without
        building 50,000 dicts for a large folder."""
        parts = [entry_json(e.path, e.size, e.xxh, e.sha) for e in self.entries]
        return ("[" + ",".join(parts) + "]").encode("utf-8")

    def to_bytes_slow(self) -> bytes:
        """The reference form (used by tests to check :meth:`to_bytes`)."""
        return canonical_bytes(
            [{"path": e.path, "size": e.size, XXH: e.xxh, SHA: e.sha} for e in self.entries]
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> Tree:
        """Parse a tree object; MalformedTreeError for anything that is not one."""
        try:
            raw = json.loads(data)
        except (UnicodeDecodeError, ValueError) as exc:
            raise MalformedTreeError(f"not a tree object: {exc}") from None
        if not isinstance(raw, list):
            raise MalformedTreeError("not a tree object: a tree object must be a JSON list")
        entries = []
        for e in raw:
            if not (
                isinstance(e, dict)
                and isinstance(e.get("path"), str)
                and isinstance(e.get("size"), int)
                and not isinstance(e.get("size"), bool)
                and isinstance(e.get(XXH), str)
                and isinstance(e.get(SHA), str)
            ):
                raise MalformedTreeError(f"not a tree object: bad entry {str(e)[:80]}")
            entries.append(TreeEntry(path=e["path"], size=e["size"], xxh=e[XXH], sha=e[SHA]))
        return cls(tuple(entries))

    @staticmethod
    def raw_entries(data: bytes) -> list[bytes] | None:
        """The canonical bytes of each entry, unparsed; None if ``data`` is not in the
        canonical form :meth:`to_bytes` writes (the caller then parses it fully).

        Entries are split at ``},{"path":``, which cannot occur inside an entry: a
        quote inside a JSON string is always escaped. Comparing two trees' raw entries
        as byte strings finds the few that differ without parsing 50,000 others."""
        if data == b"[]":
            return []
        head = b'[{"path":'
        if not (data.startswith(head) and data.endswith(b"}]")):
            return None
        body = data[len(head) : -2]
        return [b'{"path":' + piece + b"}" for piece in body.split(b'},{"path":')]

    @staticmethod
    def parse_entry(raw: bytes) -> TreeEntry:
        """One entry of :meth:`raw_entries`, parsed and checked."""
        return Tree.from_bytes(b"[" + raw + b"]").entries[0]

    @property
    def size(self) -> int:
        return sum(e.size for e in self.entries)

    def digests(self) -> tuple[str, str]:
        """(xxh3-128, sha256) of the canonical bytes."""
        data = self.to_bytes()
        return xxh_bytes(data), sha_bytes(data)
