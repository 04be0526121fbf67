"""What workspace paths hash to, through the stat cache.

``PathState`` describes a dependency or output as it is now: missing, a file
or a directory (as a tree). Files are only read when the stat cache cannot
vouch for them; the files of a large folder are read by a small thread pool
(the work is mostly system calls, which run outside the GIL).
"""

from __future__ import annotations

import os
import stat as statmod
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from mlrepro.errors import MlreproError
from mlrepro.git.blobs import GitBlobs
from mlrepro.store.digest import SMALL, Digest, hash_file, tag_xxh
from mlrepro.store.objects import ObjectStore
from mlrepro.store.tree import Tree, TreeEntry
from mlrepro.store.workers import add_small_files, add_unstated_files, workers_for
from mlrepro.workspace.folders import SKIP_NAMES, folder_digests
from mlrepro.workspace.statcache import StatCache, StatKey

_THREADS = 4


@dataclass(frozen=True, slots=True)
class PathState:
    kind: str  # "file", "dir" or "missing"
    xxh: str | None = None
    sha: str | None = None
    size: int = 0
    nfiles: int = 0

    @property
    def exists(self) -> bool:
        return self.kind != "missing"

    @property
    def digest(self) -> str | None:
        """The tagged address (``xxh3-128:<hex>``), None for a missing path."""
        return tag_xxh(self.xxh) if self.xxh is not None else None


MISSING = PathState("missing")


class Hasher:
    def __init__(self, root: str, stats: StatCache) -> None:
        self.root = root
        self.stats = stats
        self.git = GitBlobs(root)

    def file(
        self,
        relpath: str,
        st: os.stat_result | None = None,
        *,
        sha: bool = False,
        store: ObjectStore | None = None,
    ) -> Digest:
        """The file's digest; with ``store``, also make sure the store holds its bytes."""
        full = os.path.join(self.root, relpath)
        if st is None:
            st = os.stat(full)
        key = StatKey.of(st)
        cached = self.stats.get(relpath, key)
        if (
            cached is not None
            and (cached.sha or not sha)
            and (store is None or store.has(cached.xxh))
        ):
            return cached
        blob = self.git.blob(relpath) if store is None else None
        known = self.stats.get_blob(blob) if blob else None
        if known is not None and (known.sha or not sha):
            self.stats.put(relpath, key, known)
            return known
        after: os.stat_result | None = None
        if store is not None and st.st_size <= SMALL:
            digest, after = store.add_small(full)
        elif store is not None:
            digest = store.add_file(full, sha=True, size=st.st_size)
        else:
            digest = hash_file(full, sha=sha, size=st.st_size)
        if blob:
            self.stats.put_blob(blob, digest)
        if after is None:
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
            f = folder_digests(self, relpath)
            return PathState("dir", xxh=f.xxh, sha=f.sha, size=f.size, nfiles=f.nfiles)
        d = self.file(relpath, st, sha=sha)
        return PathState("file", xxh=d.xxh, sha=d.sha, size=d.size, nfiles=1)

    def _check_link(self, relpath: str, full: str) -> None:
        # Caching a folder follows links to files: a link to a folder, or to
        # anything outside the repository, would copy what lies elsewhere.
        real = os.path.realpath(full)
        root = os.path.realpath(self.root)
        if os.path.isdir(full) or not (real == root or real.startswith(root + os.sep)):
            raise MlreproError(
                f"'{relpath}' is a symbolic link to a folder, or leads outside the repository",
                hint="tracked folders may hold files and links to files inside the repository only",
            )

    def tree(self, relpath: str, store: ObjectStore | None = None) -> Tree:
        """The folder as a tree (each file with its sha256); ``store``: cache each file too.

        When the folder is being stored and the stat cache holds nothing under it (a
        first ``add``), no lookup can hit: the files are not stat-ed while the folder
        is walked (the walk then costs one ``getdents`` per folder, not one ``stat`` per
        file), and each is stat-ed when it is opened to be stored."""
        self.stats.preload(relpath)
        unknown = store is not None and not self.stats.knows_under(relpath)
        files: list[tuple[str, os.stat_result | None]] = []
        base = os.path.join(self.root, relpath)
        stack = [""]
        while stack:
            sub = stack.pop()
            with os.scandir(os.path.join(base, sub) if sub else base) as it:
                for entry in it:
                    if entry.name in SKIP_NAMES:
                        continue
                    rel = f"{sub}/{entry.name}" if sub else entry.name
                    if store is not None and entry.is_symlink():
                        self._check_link(f"{relpath}/{rel}", entry.path)
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(rel)
                    elif entry.is_file():
                        files.append((rel, None if unknown else entry.stat()))

        paths = [f"{relpath}/{rel}" for rel, _ in files]
        if unknown and store is not None and workers_for(len(paths), store) > 1:
            digests = self._store_unknown(paths, store)
        else:
            stats = [
                st if st is not None else os.stat(os.path.join(base, rel)) for rel, st in files
            ]
            digests = self.digests(list(zip(paths, stats, strict=True)), store)
        return Tree.build(
            TreeEntry(rel, d.size, d.xxh, d.sha)  # type: ignore[arg-type]
            for (rel, _), d in zip(files, digests, strict=True)
        )

    def _store_unknown(self, paths: list[str], store: ObjectStore) -> list[Digest]:
        """Store many root-relative files that were not stat-ed (see :meth:`tree`), in
        worker processes; a file larger than ``SMALL`` goes the usual way."""
        prefix = os.path.join(self.root, "")  # joined by hand: 50,000 joins cost ~25 ms
        stored = add_unstated_files(store, [prefix + p for p in paths])
        out: list[Digest | None] = []
        large = []
        for i, (path, (digest, key, same)) in enumerate(zip(paths, stored, strict=True)):
            if digest is None:
                large.append(i)
            elif same:
                self.stats.put(path, StatKey(*key), digest)
            out.append(digest)
        if large:
            found = [(paths[i], os.stat(os.path.join(self.root, paths[i]))) for i in large]
            for i, digest in zip(large, self.digests(found, store), strict=True):
                out[i] = digest
        return out  # type: ignore[return-value]

    def digests(
        self, files: list[tuple[str, os.stat_result]], store: ObjectStore | None = None
    ) -> list[Digest]:
        """Digests, with sha256, of many root-relative files (``store``: cache each too).

        Stat-cache hits are settled in one pass. Small files to read are read here,
        one after another: each costs a few short system calls, and threads would
        spend more handing the GIL to each other than they save (to store many, see
        :mod:`mlrepro.store.workers`). Large files go to a thread pool: hashing and
        copying them happens outside the GIL."""
        out: list[Digest | None] = self.stats.get_many(files)
        misses = [
            i
            for i, d in enumerate(out)
            if d is None or not d.sha or (store is not None and not store.has(d.xxh))
        ]
        small = [i for i in misses if files[i][1].st_size <= SMALL]
        large = [i for i in misses if files[i][1].st_size > SMALL]

        if store is not None and workers_for(len(small), store) > 1:
            prefix = os.path.join(self.root, "")
            stored = add_small_files(store, [prefix + files[i][0] for i in small])
            for i, (digest, after) in zip(small, stored, strict=True):
                relpath, st = files[i]
                key = StatKey.of(st)
                if after == (key.ino, key.size, key.mtime_ns):  # unchanged while read
                    self.stats.put(relpath, key, digest)
                out[i] = digest
            small = []

        def one(i: int) -> Digest:
            relpath, st = files[i]
            return self.file(relpath, st, sha=True, store=store)

        for i in small:
            out[i] = one(i)
        if len(large) < 2:
            for i in large:
                out[i] = one(i)
        else:
            with ThreadPoolExecutor(_THREADS) as pool:
                for i, d in zip(large, pool.map(one, large), strict=True):
                    out[i] = d
        return out  # type: ignore[return-value]
