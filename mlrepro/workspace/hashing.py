"""What workspace paths hash to, through the stat cache.

``PathState`` describes a dependency or output as it is now: missing, a file
or a directory (as a tree). Files are only read when the stat cache cannot
vouch for them.
"""

from __future__ import annotations

import os
import stat as statmod
from dataclasses import dataclass

from mlrepro.store.digest import Digest, hash_file
from mlrepro.store.tree import Tree, TreeEntry
from mlrepro.workspace.statcache import StatCache, StatKey

# Never part of a tracked directory: version-control and tool metadata.
_SKIP_NAMES = frozenset({".git", ".mlrepro", ".dvc"})


@dataclass(frozen=True, slots=True)
class PathState:
    kind: str  # "file", "dir" or "missing"
    xxh: str | None = None
    sha: str | None = None
    size: int = 0
    nfiles: int = 0
    tree: Tree | None = None

    @property
    def exists(self) -> bool:
        return self.kind != "missing"


MISSING = PathState("missing")


class Hasher:
    def __init__(self, root: str, stats: StatCache) -> None:
        self.root = root
        self.stats = stats

    def file(self, relpath: str, st: os.stat_result | None = None, *, sha: bool = False) -> Digest:
        full = os.path.join(self.root, relpath)
        if st is None:
            st = os.stat(full)
        key = StatKey.of(st)
        cached = self.stats.get(relpath, key)
        if cached is not None and (cached.sha or not sha):
            return cached
        digest = hash_file(full, sha=sha)
        after = os.stat(full)
        if StatKey.of(after) == key:  # not modified while we read it
            self.stats.put(relpath, key, digest)
        return digest

    def state(self, relpath: str, *, sha: bool = False) -> PathState:
        """The current state of a root-relative path (``sha``: also sha256 for a file)."""
        full = os.path.join(self.root, relpath)
        try:
            st = os.stat(full)
        except (FileNotFoundError, NotADirectoryError):
            return MISSING
        if statmod.S_ISDIR(st.st_mode):
            tree = self.tree(relpath)
            xxh, sha256 = tree.digests()
            return PathState(
                "dir", xxh=xxh, sha=sha256, size=tree.size, nfiles=len(tree.entries), tree=tree
            )
        d = self.file(relpath, st, sha=sha)
        return PathState("file", xxh=d.xxh, sha=d.sha, size=d.size, nfiles=1)

    def tree(self, relpath: str) -> Tree:
        self.stats.preload(relpath)
        entries: list[TreeEntry] = []
        base = os.path.join(self.root, relpath)
        stack = [""]
        while stack:
            sub = stack.pop()
            with os.scandir(os.path.join(base, sub) if sub else base) as it:
                for entry in it:
                    if entry.name in _SKIP_NAMES:
                        continue
                    rel = f"{sub}/{entry.name}" if sub else entry.name
                    if entry.is_dir():
                        stack.append(rel)
                    elif entry.is_file():
                        d = self.file(f"{relpath}/{rel}", entry.stat(), sha=True)
                        assert d.sha is not None
                        entries.append(TreeEntry(rel, d.size, d.xxh, d.sha))
        return Tree.build(entries)
