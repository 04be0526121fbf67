"""A tracked folder's digests from one walk, without a lookup per file when little changed.

Asking "is this 50,000-file folder unchanged?" through the per-file stat cache
costs a database row, a comparison and a tree entry for every file. Instead the
walk's stat results are fingerprinted at two levels, both kept in the stat cache:

- each directory inside the folder: a fingerprint of its own files (names, inode,
  size, mtime), with those files' tree entries already formatted;
- the whole folder: a fingerprint over every directory's fingerprint, with the
  folder's digests.

When nothing changed the whole-folder fingerprint matches and the answer costs the
walk alone. When a file changed, only its directory is looked up file by file (and
the changed file read); every other directory contributes its stored entries, and
the tree's bytes are assembled from them in path order. The result is always the
tree that :meth:`Hasher.tree` builds: the same bytes and so the same digests.

Both levels follow the stat cache's racy rule: a summary is used only if it was
recorded at least 50 ms after the newest mtime it covers.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import xxhash

from mlrepro.store.digest import sha_bytes, xxh_bytes
from mlrepro.store.tree import entry_json
from mlrepro.workspace.statcache import FolderPart, FolderSum

if TYPE_CHECKING:
    from mlrepro.workspace.hashing import Hasher

# Never part of a tracked directory: version-control and tool metadata.
SKIP_NAMES = frozenset({".git", ".mlrepro", ".dvc"})
_PRELOAD_FROM = 1000  # files to look up


@dataclass(slots=True)
class _Dir:
    files: list[tuple[str, os.stat_result]] = field(default_factory=list)
    subdirs: list[str] = field(default_factory=list)
    fp: str = ""
    max_mtime_ns: int = 0


@dataclass(frozen=True, slots=True)
class FolderDigests:
    xxh: str
    sha: str
    size: int
    nfiles: int


def _walk(base: str) -> dict[str, _Dir]:
    """Every directory below ``base`` ("" for itself) with its files and subdirectories.

    Files are regular files or links to them (followed, as the tree does); links to
    directories and special files are not part of a tree."""
    dirs: dict[str, _Dir] = {}
    stack = [""]
    while stack:
        sub = stack.pop()
        d = dirs[sub] = _Dir()
        with os.scandir(os.path.join(base, sub) if sub else base) as it:
            for entry in it:
                name = entry.name
                if name in SKIP_NAMES:
                    continue
                if entry.is_dir(follow_symlinks=False):
                    d.subdirs.append(name)
                    stack.append(f"{sub}/{name}" if sub else name)
                elif entry.is_file():
                    d.files.append((name, entry.stat()))
    return dirs


def _fingerprint(dirs: dict[str, _Dir]) -> tuple[str, int]:
    """Fingerprint each directory's own files; return the whole folder's and its newest mtime."""
    newest = 0
    for d in dirs.values():
        d.files.sort(key=lambda f: f[0])
        d.fp = xxhash.xxh3_128_hexdigest(
            "\n".join(
                f"{name}\0{st.st_ino}\0{st.st_size}\0{st.st_mtime_ns}" for name, st in d.files
            ).encode("utf-8", "surrogateescape")
        )
        d.max_mtime_ns = max((st.st_mtime_ns for _, st in d.files), default=0)
        newest = max(newest, d.max_mtime_ns)
    whole = xxhash.xxh3_128_hexdigest(
        "\n".join(f"{sub}\0{dirs[sub].fp}" for sub in sorted(dirs)).encode(
            "utf-8", "surrogateescape"
        )
    )
    return whole, newest


def folder_digests(hasher: Hasher, relpath: str) -> FolderDigests:
    """Digests of the folder at root-relative ``relpath``, as its tree would give them."""
    stats = hasher.stats
    started = time.time_ns()
    dirs = _walk(os.path.join(hasher.root, relpath))
    whole, newest = _fingerprint(dirs)
    summary = stats.folder_sum(relpath)
    if summary is not None and summary.fp == whole and summary.trusted:
        return FolderDigests(summary.xxh, summary.sha, summary.size, summary.nfiles)

    stored = stats.folder_parts(relpath)
    entries: dict[str, list[str]] = {}  # sub -> its own files' entries, in name order
    sizes: dict[str, int] = {}
    stale: list[str] = []
    for sub, d in dirs.items():
        part = stored.get(sub)
        if part is not None and part.fp == d.fp and part.trusted:
            entries[sub] = part.entries.split("\n") if part.entries else []
            sizes[sub] = part.size
        else:
            stale.append(sub)

    wanted = [
        (f"{sub}/{name}" if sub else name, st) for sub in stale for name, st in dirs[sub].files
    ]
    if len(wanted) > _PRELOAD_FROM:
        stats.preload(relpath)  # one query instead of one per file
    digests = iter(hasher.digests([(f"{relpath}/{rel}", st) for rel, st in wanted]))
    fresh: dict[str, FolderPart] = {}
    for sub in stale:
        d = dirs[sub]
        own: list[str] = []
        size = 0
        for name, _st in d.files:
            digest = next(digests)
            assert digest.sha is not None
            own.append(
                entry_json(f"{sub}/{name}" if sub else name, digest.size, digest.xxh, digest.sha)
            )
            size += digest.size
        entries[sub] = own
        sizes[sub] = size
        fresh[sub] = FolderPart(
            fp=d.fp,
            max_mtime_ns=d.max_mtime_ns,
            recorded_ns=started,
            size=size,
            nfiles=len(own),
            entries="\n".join(own),
        )

    ordered: list[str] = []
    _emit(dirs, entries, "", ordered)
    data = ("[" + ",".join(ordered) + "]").encode("utf-8")
    result = FolderDigests(xxh_bytes(data), sha_bytes(data), sum(sizes.values()), len(ordered))
    stats.put_folder(
        relpath,
        FolderSum(
            fp=whole,
            max_mtime_ns=newest,
            recorded_ns=started,
            xxh=result.xxh,
            sha=result.sha,
            size=result.size,
            nfiles=result.nfiles,
        ),
        fresh,
        drop={sub for sub in stored if sub not in dirs},
    )
    return result


def _emit(dirs: dict[str, _Dir], entries: dict[str, list[str]], sub: str, out: list[str]) -> None:
    """Append the entries below ``sub`` in the tree's order (by path).

    Every path below a subdirectory ``c`` starts with ``c/``, so they sort as one
    run, placed where the key ``c/`` sorts among the directory's own file names."""
    d = dirs[sub]
    own = entries[sub]
    if not d.subdirs:
        out.extend(own)
        return
    keyed: list[tuple[str, str | None, str]] = [
        (name, entry, "") for (name, _), entry in zip(d.files, own, strict=True)
    ]
    keyed += [(name + "/", None, f"{sub}/{name}" if sub else name) for name in d.subdirs]
    keyed.sort(key=lambda k: k[0])
    for _, entry, child in keyed:
        if entry is None:
            _emit(dirs, entries, child, out)
        else:
            out.append(entry)
