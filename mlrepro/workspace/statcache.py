"""The stat cache: which digest a workspace file had, so unchanged files are never re-read.

SQLite at ``.mlrepro/state/stat.db``. An entry is trusted when the file's
size, mtime and inode are those recorded, and the file was not modified in
the same clock tick as it was recorded (the "racy" case git also guards
against: a write right after hashing could leave mtime unchanged).

Table ``blob`` maps git blob ids to digests. Files git tracks and reports
unmodified are looked up by blob id, which is the same in every clone: a CI
job that restores ``.mlrepro/`` from its cache does not re-read them even
though every inode and mtime in its fresh checkout is new.

Paths are keys as text, except a path that is not UTF-8 (Linux names are bytes;
Python gives them as ``surrogateescape`` text, which SQLite cannot take as
TEXT): that one is stored as a BLOB of its bytes (issue 15). A BLOB never equals
a TEXT, and each path has exactly one form, so lookups stay exact; the text of
every UTF-8 path, and so every existing database, is unchanged.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
import urllib.parse
from dataclasses import dataclass

from mlrepro.names import held as _key
from mlrepro.names import name_of as _path
from mlrepro.store.digest import Digest

SCHEMA_VERSION = 2
RACY_NS = 50_000_000  # entries recorded within 50 ms of the file's mtime are re-checked


def _keys(paths: list[str]) -> list[str | bytes]:
    """:func:`_key` of many paths; checked all at once, as nearly every path is UTF-8."""
    joined = "".join(paths)
    if joined.isascii():
        return list(paths)
    try:
        joined.encode("utf-8")
    except UnicodeEncodeError:
        return [_key(p) for p in paths]
    return list(paths)


_TABLES = """
CREATE TABLE IF NOT EXISTS stat (
    path TEXT PRIMARY KEY, ino INTEGER, size INTEGER, mtime_ns INTEGER,
    recorded_ns INTEGER, xxh TEXT NOT NULL, sha TEXT
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS blob (
    blob TEXT PRIMARY KEY, size INTEGER, xxh TEXT NOT NULL, sha TEXT
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS folder (
    root TEXT NOT NULL, sub TEXT NOT NULL, fp TEXT NOT NULL,
    max_mtime_ns INTEGER, recorded_ns INTEGER, size INTEGER, nfiles INTEGER,
    entries TEXT NOT NULL, PRIMARY KEY (root, sub)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS foldersum (
    root TEXT PRIMARY KEY, fp TEXT NOT NULL, max_mtime_ns INTEGER,
    recorded_ns INTEGER, xxh TEXT NOT NULL, sha TEXT NOT NULL,
    size INTEGER, nfiles INTEGER
) WITHOUT ROWID;
"""


def _snapshot(path: str) -> sqlite3.Connection:
    """The database as the disk holds it, opened never to be written: ``immutable``
    needs no -shm or -wal file, which a full or read-only disk refuses (rows still in a
    -wal are missed, which only costs re-reading those files). An empty in-memory
    database when even that fails, or holds another version."""
    uri = "file:" + urllib.parse.quote(os.path.abspath(path)) + "?immutable=1"
    with contextlib.suppress(sqlite3.Error):
        db = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
        if db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION:
            return db
        db.close()
    db = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
    db.executescript(_TABLES)
    return db


@dataclass(frozen=True, slots=True)
class FolderPart:
    """One directory's own files (not those of its subdirectories), summarised."""

    fp: str  # fingerprint of the files' names and stat keys
    max_mtime_ns: int
    recorded_ns: int
    size: int
    nfiles: int
    entries: str  # their tree entries, in name order, joined by newlines

    @property
    def trusted(self) -> bool:
        return self.recorded_ns - self.max_mtime_ns >= RACY_NS


@dataclass(frozen=True, slots=True)
class FolderSum:
    """A whole tracked folder, summarised."""

    fp: str  # fingerprint of every file's path and stat key below the folder
    max_mtime_ns: int
    recorded_ns: int
    xxh: str
    sha: str
    size: int
    nfiles: int

    @property
    def trusted(self) -> bool:
        return self.recorded_ns - self.max_mtime_ns >= RACY_NS


@dataclass(frozen=True, slots=True)
class StatKey:
    ino: int
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, st: os.stat_result) -> StatKey:
        return cls(st.st_ino, st.st_size, st.st_mtime_ns)


class StatCache:
    def __init__(self, path: str) -> None:
        self.path = path
        # A cache, not a record: where it cannot be opened for writing (a full or
        # read-only disk, issue 15) the command goes on with what it can read.
        self.writable = True
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            self._db = sqlite3.connect(
                path, timeout=30, isolation_level=None, check_same_thread=False
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version not in (0, SCHEMA_VERSION):
                # A cache, not a record: rebuild it rather than refuse to work.
                self._db.executescript(
                    "DROP TABLE IF EXISTS stat; DROP TABLE IF EXISTS blob; "
                    "DROP TABLE IF EXISTS folder; DROP TABLE IF EXISTS foldersum;"
                )
            self._db.executescript(_TABLES)
            self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except (sqlite3.Error, OSError):
            self.writable = False
            self._db = _snapshot(path)
        self._pending: dict[str, tuple[int, int, int, int, str, str | None]] = {}
        self._pending_blobs: dict[str, tuple[int, str, str | None]] = {}
        self._loaded: dict[str, tuple[int, int, int, int, str, str | None]] = {}
        self._loaded_prefixes: set[str] = set()
        # root -> (sub -> part, or None to delete the row); root -> summary
        self._pending_parts: dict[str, dict[str, FolderPart | None]] = {}
        self._pending_sums: dict[str, FolderSum] = {}
        # stages are saved from worker threads: one lock around all state
        self._mutex = threading.RLock()

    def preload(self, prefix: str) -> None:
        with self._mutex:
            self._preload(prefix)

    def knows_under(self, prefix: str) -> bool:
        """Whether any entry is recorded at or below ``prefix`` (after :meth:`preload`
        of it, or of a folder above it, this asks nothing of the database)."""
        with self._mutex:
            if not self._covered(prefix):
                self._preload(prefix)
            below = prefix + "/"
            return any(p == prefix or p.startswith(below) for p in self._pending) or any(
                p == prefix or p.startswith(below) for p in self._loaded
            )

    def get(self, relpath: str, key: StatKey) -> Digest | None:
        with self._mutex:
            return self._get(relpath, key)

    def get_many(self, items: list[tuple[str, os.stat_result]]) -> list[Digest | None]:
        """:meth:`get` for many files at once (one lock, no per-file objects on a hit)."""
        out: list[Digest | None] = []
        with self._mutex:
            pending, loaded = self._pending, self._loaded
            for relpath, st in items:
                row = pending.get(relpath) or loaded.get(relpath)
                if row is None:
                    out.append(self._get(relpath, StatKey.of(st)))
                    continue
                ino, size, mtime_ns, recorded_ns, xxh, sha = row
                if (
                    ino == st.st_ino
                    and size == st.st_size
                    and mtime_ns == st.st_mtime_ns
                    and recorded_ns - mtime_ns >= RACY_NS
                ):
                    out.append(Digest(xxh=xxh, size=size, sha=sha))
                else:
                    out.append(None)
        return out

    def put(self, relpath: str, key: StatKey, digest: Digest) -> None:
        with self._mutex:
            self._put(relpath, key, digest)

    def get_blob(self, blob: str) -> Digest | None:
        with self._mutex:
            return self._get_blob(blob)

    def put_blob(self, blob: str, digest: Digest) -> None:
        with self._mutex:
            self._put_blob(blob, digest)

    def folder_sum(self, root: str) -> FolderSum | None:
        with self._mutex:
            pending = self._pending_sums.get(root)
            if pending is not None:
                return pending
            row = self._db.execute(
                "SELECT fp, max_mtime_ns, recorded_ns, xxh, sha, size, nfiles "
                "FROM foldersum WHERE root = ?",
                (_key(root),),
            ).fetchone()
            return FolderSum(*row) if row else None

    def folder_parts(self, root: str) -> dict[str, FolderPart]:
        """Every directory summary recorded for the tracked folder ``root``."""
        with self._mutex:
            rows = self._db.execute(
                "SELECT sub, fp, max_mtime_ns, recorded_ns, size, nfiles, entries "
                "FROM folder WHERE root = ?",
                (_key(root),),
            )
            parts = {_path(sub): FolderPart(*rest) for sub, *rest in rows}
            for sub, part in self._pending_parts.get(root, {}).items():
                if part is None:
                    parts.pop(sub, None)
                else:
                    parts[sub] = part
            return parts

    def put_folder(
        self,
        root: str,
        summary: FolderSum,
        parts: dict[str, FolderPart],
        drop: set[str],
    ) -> None:
        """Record a tracked folder: its summary, new directory summaries, and the
        directories (``drop``) whose summaries are stale or gone."""
        with self._mutex:
            pending = self._pending_parts.setdefault(root, {})
            pending.update(dict.fromkeys(drop))
            pending.update(parts)
            self._pending_sums[root] = summary

    def flush(self) -> None:
        with self._mutex:
            self._flush()

    def close(self) -> None:
        self.flush()
        self._db.close()

    def _preload(self, prefix: str) -> None:
        """Read every entry at or below ``prefix`` in one query (for large folders)."""
        if prefix in self._loaded_prefixes:
            return
        self._loaded_prefixes.add(prefix)
        query = (
            "SELECT path, ino, size, mtime_ns, recorded_ns, xxh, sha FROM stat "
            "WHERE path = ? OR (path >= ? AND path < ?)"
        )
        if isinstance(_key(prefix), str):  # else no path held as text lies below it
            rows = self._db.execute(query, (prefix, prefix + "/", prefix + "0"))  # '0' > '/'
            for path, ino, size, mtime_ns, recorded_ns, xxh, sha in rows:
                self._loaded[path] = (ino, size, mtime_ns, recorded_ns, xxh, sha)
        raw = prefix.encode("utf-8", "surrogateescape")  # paths held as bytes
        for path, ino, size, mtime_ns, recorded_ns, xxh, sha in self._db.execute(
            query, (raw, raw + b"/", raw + b"0")
        ):
            self._loaded[_path(path)] = (ino, size, mtime_ns, recorded_ns, xxh, sha)

    def _get(self, relpath: str, key: StatKey) -> Digest | None:
        row = self._pending.get(relpath) or self._loaded.get(relpath)
        if row is None and not self._covered(relpath):
            fetched = self._db.execute(
                "SELECT ino, size, mtime_ns, recorded_ns, xxh, sha FROM stat WHERE path = ?",
                (_key(relpath),),
            ).fetchone()
            row = tuple(fetched) if fetched else None
        if row is None:
            return None
        ino, size, mtime_ns, recorded_ns, xxh, sha = row
        if (ino, size, mtime_ns) != (key.ino, key.size, key.mtime_ns):
            return None
        if recorded_ns - mtime_ns < RACY_NS:
            return None  # possibly written again within the same clock tick
        return Digest(xxh=xxh, size=size, sha=sha)

    def _covered(self, relpath: str) -> bool:
        """Whether a preload already read every entry that could exist for ``relpath``."""
        probe = relpath
        while True:
            if probe in self._loaded_prefixes:
                return True
            if "/" not in probe:
                return False
            probe = probe.rsplit("/", 1)[0]

    def _put(self, relpath: str, key: StatKey, digest: Digest) -> None:
        self._pending[relpath] = (
            key.ino,
            key.size,
            key.mtime_ns,
            time.time_ns(),
            digest.xxh,
            digest.sha,
        )

    def _get_blob(self, blob: str) -> Digest | None:
        row = self._pending_blobs.get(blob)
        if row is None:
            fetched = self._db.execute(
                "SELECT size, xxh, sha FROM blob WHERE blob = ?", (blob,)
            ).fetchone()
            row = tuple(fetched) if fetched else None
        if row is None:
            return None
        size, xxh, sha = row
        return Digest(xxh=xxh, size=size, sha=sha)

    def _put_blob(self, blob: str, digest: Digest) -> None:
        self._pending_blobs[blob] = (digest.size, digest.xxh, digest.sha)

    def _flush(self) -> None:
        if not (self._pending or self._pending_blobs or self._pending_parts or self._pending_sums):
            return
        if self.writable:
            try:
                self._write_pending()
            except (sqlite3.OperationalError, OSError):
                # the disk filled up or went read-only meanwhile (issue 15): a cache,
                # so these entries are lost, not the command; the transaction rolled
                # back whole, so nothing is half-written
                self.writable = False
        self._loaded.update(self._pending)
        self._pending.clear()
        self._pending_blobs.clear()
        self._pending_parts.clear()
        self._pending_sums.clear()

    def _write_pending(self) -> None:
        with self._db:
            self._db.execute("BEGIN")
            pending = self._pending
            self._db.executemany(
                "INSERT OR REPLACE INTO stat VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(k, *row) for k, row in zip(_keys(list(pending)), pending.values(), strict=True)],
            )
            self._db.executemany(
                "INSERT OR REPLACE INTO blob VALUES (?, ?, ?, ?)",
                [(b, *row) for b, row in self._pending_blobs.items()],
            )
            for root, parts in self._pending_parts.items():
                rk = _key(root)
                self._db.executemany(
                    "DELETE FROM folder WHERE root = ? AND sub = ?",
                    [(rk, _key(sub)) for sub, part in parts.items() if part is None],
                )
                self._db.executemany(
                    "INSERT OR REPLACE INTO folder VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        (
                            rk,
                            _key(sub),
                            p.fp,
                            p.max_mtime_ns,
                            p.recorded_ns,
                            p.size,
                            p.nfiles,
                            p.entries,
                        )
                        for sub, p in parts.items()
                        if p is not None
                    ],
                )
            self._db.executemany(
                "INSERT OR REPLACE INTO foldersum VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        _key(root),
                        f.fp,
                        f.max_mtime_ns,
                        f.recorded_ns,
                        f.xxh,
                        f.sha,
                        f.size,
                        f.nfiles,
                    )
                    for root, f in self._pending_sums.items()
                ],
            )
