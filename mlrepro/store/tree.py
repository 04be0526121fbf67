"""Directory outputs as tree objects.

A tree is the canonical JSON list of a directory's files, sorted by path
(forward slashes, relative to the directory), each with its size, xxh3-128
and sha256. The directory's digest is the xxh3-128 of those bytes, and the
tree is stored in the object store under that digest like any object, so a
directory is restored by reading one object and then each file's.

Names are bytes on Linux; Python hands them over as ``str`` decoded with
``surrogateescape`` (a byte 0xNN that is not part of valid UTF-8 becomes the
lone surrogate U+DCNN). Such a character cannot be written as UTF-8, so in a
tree it is written as the JSON escape ``\\udcNN`` (as DVC's ``.dir`` objects
and ``json.dumps`` do), which reads back as the same surrogate and so as the
same bytes. A name that is valid UTF-8 holds no surrogate: every tree of such
names has exactly the bytes it always had (issue 15).

Each entry's text is written by hand (:func:`entry_json`, also used by
:mod:`mlrepro.workspace.folders` to assemble a tree from stored entries) rather than
by the canonical-JSON encoder, the reference (:func:`entry_json_reference`,
:meth:`Tree.to_bytes_reference`): 50,000 entries take 35-45 ms instead of 100-110 ms.
On the first ``mlrepro status`` after adding a folder of 50,000 files (every entry
formatted) that saves 87 ms of 0.66 s, 13%; on ``mlrepro add`` of that folder, 38 ms of
2.96 s (benchmarks/RESULTS.md, "fastpaths"). ``tests/store/test_tree.py`` checks that
both give the same bytes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

from mlrepro.canonical import canonical_text
from mlrepro.errors import MlreproError
from mlrepro.store.digest import SHA, XXH, is_hex, sha_bytes, xxh_bytes

TREE_VERSION = 1
# what json.dumps(ensure_ascii=False) escapes in a string, and surrogates (see above)
_NEEDS_ESCAPE = re.compile('[\x00-\x1f"\\\\\ud800-\udfff]')
_SURROGATE = re.compile("[\ud800-\udfff]")


class MalformedTreeError(MlreproError, ValueError):
    """Bytes that should be a tree object are not one (e.g. a file's object named as a folder)."""

    def __init__(self, message: str) -> None:
        super().__init__(
            message, hint="the lock file or the cache is damaged: check `mlrepro cache verify`"
        )


def _json_str(s: str) -> str:
    if not _NEEDS_ESCAPE.search(s):
        return f'"{s}"'
    return _escape_surrogates(json.dumps(s, ensure_ascii=False))


def _escape_surrogates(text: str) -> str:
    """JSON text with each lone surrogate written as its ``\\uXXXX`` escape, as
    ``json.dumps`` writes it with ``ensure_ascii`` (which leaves it as it is without)."""
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _check_paths(entries: list[TreeEntry]) -> None:
    """Refuse a tree whose paths could not have come from a folder: one that leaves it
    (``..``, ``/x``), has an empty or ``.`` part, or is not the one text a name's bytes
    decode to (a surrogate no byte gives). A restore writes each path below the folder,
    so a crafted tree must never get that far. One pass over all paths joined: checking
    50,000 paths one by one would cost more than parsing them."""
    if not entries:
        return
    joined = "\0".join([e.path for e in entries])  # NUL: the one byte no name holds
    spaced = "/" + joined.replace("\0", "/") + "/"
    fine = (
        joined.count("\0") == len(entries) - 1
        and "//" not in spaced
        and "/./" not in spaced
        and "/../" not in spaced
    )
    if fine and not joined.isascii():
        try:
            joined.encode("utf-8")
        except UnicodeEncodeError:
            fine = is_name(joined)
    if not fine:
        bad = next(e.path for e in entries if not _is_path(e.path))
        raise MalformedTreeError(f"not a tree object: bad path {bad[:80]!r}")


def is_name(text: str) -> bool:
    """Whether ``text`` is the text Python holds some name's bytes as (``surrogateescape``):
    not a surrogate no byte gives, nor two that UTF-8 bytes would give as one letter."""
    if text.isascii():
        return True
    try:
        return name_bytes(text).decode("utf-8", "surrogateescape") == text
    except UnicodeEncodeError:  # a surrogate outside U+DC80..U+DCFF
        return False


def _is_path(path: str) -> bool:
    parts = path.split("/")
    return "\0" not in path and is_name(path) and all(p not in ("", ".", "..") for p in parts)


def name_bytes(path: str) -> bytes:
    """The bytes a tree path (or any workspace path) names on disk."""
    return path.encode("utf-8", "surrogateescape")


def entry_json(path: str, size: int, xxh: str, sha: str) -> str:
    """One entry of a tree's canonical bytes (keys in sorted order: path, sha256, size,
    xxh3-128). A tree's bytes are ``[`` + its entries, in path order, joined by ``,`` + ``]``.

    Written by hand: the same text as :func:`entry_json_reference` (see the module's
    notes) at a third of the cost."""
    return f'{{"path":{_json_str(path)},"sha256":"{sha}","size":{size},"xxh3-128":"{xxh}"}}'


def entry_json_reference(path: str, size: int, xxh: str, sha: str) -> str:
    """:func:`entry_json` by the canonical-JSON encoder (:mod:`mlrepro.canonical`), with
    the surrogates of names that are not UTF-8 escaped: the reference."""
    return _escape_surrogates(canonical_text({"path": path, "size": size, XXH: xxh, SHA: sha}))


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
        """The tree's canonical bytes: its entries' :func:`entry_json`, in path order."""
        parts = [entry_json(e.path, e.size, e.xxh, e.sha) for e in self.entries]
        return ("[" + ",".join(parts) + "]").encode("utf-8")

    def to_bytes_reference(self) -> bytes:
        """:meth:`to_bytes` by the canonical-JSON encoder: the reference."""
        text = canonical_text(
            [{"path": e.path, "size": e.size, XXH: e.xxh, SHA: e.sha} for e in self.entries]
        )
        return _escape_surrogates(text).encode("utf-8")

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
                and is_hex(e[XXH])
                and is_hex(e[SHA], SHA)
            ):
                raise MalformedTreeError(f"not a tree object: bad entry {str(e)[:80]}")
            entries.append(TreeEntry(path=e["path"], size=e["size"], xxh=e[XXH], sha=e[SHA]))
        _check_paths(entries)
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
