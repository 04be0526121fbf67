"""Finding an exact artifact by digest across history: which commits and stages produced
it, which consumed it, where it was added as data.

Lock files change far less often than commits, so the index is keyed by the lock
file's git blob: each distinct ``mlrepro.lock`` is parsed once, ever, and every
artifact it records (outputs and data inputs with both digests, dependencies with
their xxh3-128) becomes a row. A query maps sha256 -> xxh3-128 through the rows
that have both, finds the lock blobs naming either, then the commits holding those
blobs. The index is a cache at ``.mlrepro/state/lineage.db`` (:func:`index_path`): it
holds nothing that git does not, and deleting it only costs the next query a rebuild.

Files inside a tracked folder are found through their folder (the folder's own
digests are indexed, its tree's entries are not).

Paths (and stage names) are held as the stat cache holds them: as TEXT, except one
that is not UTF-8 (a name of bytes, which Python gives as ``surrogateescape`` text and
SQLite cannot take as TEXT), held as a BLOB of its bytes and read back exactly
(issue 15). Every UTF-8 path, and so every existing index, is unchanged.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass

from mlrepro.names import held, name_of
from mlrepro.snapshot.revisions import Revisions
from mlrepro.workspace.lockfile import LOCK_FILE, LockFileError, parse_lock
from mlrepro.workspace.project import Project

INDEX_VERSION = 1


def index_path(project: Project) -> str:
    """Where the project's index is kept: ``.mlrepro/state/lineage.db``, beside the stat
    cache (``.mlrepro/state/`` is ignored by git: see ``ops/init.py``)."""
    return os.path.join(project.state_dir, "state", "lineage.db")


@dataclass(frozen=True, slots=True)
class Hit:
    commit: str
    role: str  # "produced", "data" or "consumed"
    stage: str | None
    path: str
    digest: str | None
    sha256: str | None


class DigestIndex:
    """The index at ``path`` over the history ``revs`` reads; closed by ``close()`` or
    at the end of a ``with`` block."""

    def __init__(self, revs: Revisions, path: str) -> None:
        self.revs = revs
        os.makedirs(os.path.dirname(path), exist_ok=True)
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        if self.db.execute("PRAGMA user_version").fetchone()[0] != INDEX_VERSION:
            self.db.executescript("DROP TABLE IF EXISTS lock; DROP TABLE IF EXISTS art;")
        self.db.executescript(
            """
            CREATE TABLE IF NOT EXISTS lock (blob TEXT PRIMARY KEY, ok INTEGER) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS art (
                blob TEXT, role TEXT, stage TEXT, path TEXT, xxh TEXT, sha TEXT
            );
            CREATE INDEX IF NOT EXISTS art_sha ON art (sha);
            CREATE INDEX IF NOT EXISTS art_xxh ON art (xxh);
            """
        )
        self.db.execute(f"PRAGMA user_version={INDEX_VERSION}")

    @classmethod
    def of(cls, project: Project, revs: Revisions) -> DigestIndex:
        """The project's own index (at :func:`index_path`)."""
        return cls(revs, index_path(project))

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> DigestIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _lock_blobs(self, all_commits: bool) -> tuple[list[str], dict[str, list[str]]]:
        """The commits searched (newest first: every commit, or HEAD's history), and
        lock blob -> the commits holding it."""
        git = self.revs.git
        commits = git.all_commits() if all_commits else [c.sha for c in git.log("HEAD")]
        holders: dict[str, list[str]] = {}
        for sha in commits:
            ref = git.files_at(sha, LOCK_FILE)
            if ref is not None:
                holders.setdefault(ref, []).append(sha)
        return commits, holders

    def _scan(self, blobs: list[str]) -> None:
        known = {b for (b,) in self.db.execute("SELECT blob FROM lock")}
        todo = [b for b in blobs if b not in known]
        if not todo:
            return
        rows: list[tuple[str, str, str | bytes | None, str | bytes, str | None, str | None]] = []
        done: list[tuple[str, int]] = []
        for blob in todo:
            try:
                lock = parse_lock(self.revs.git.read_blob(blob).decode("utf-8", "replace"))
            except LockFileError:
                done.append((blob, 0))
                continue
            for sid, record in lock.stages.items():
                stage = held(sid)
                for role, arts in (("produced", record.outs), ("consumed", record.deps)):
                    rows += [(blob, role, stage, held(a.path), a.digest, a.sha256) for a in arts]
            rows += [
                (blob, "data", None, held(a.path), a.digest, a.sha256) for a in lock.data.values()
            ]
            done.append((blob, 1))
        with self.db:
            self.db.execute("BEGIN")
            self.db.executemany("INSERT INTO art VALUES (?, ?, ?, ?, ?, ?)", rows)
            self.db.executemany("INSERT OR REPLACE INTO lock VALUES (?, ?)", done)

    def find(self, digest: str, *, all_commits: bool = False) -> list[Hit]:
        """Every commit and stage that produced, consumed or added ``digest``
        (``sha256:<hex>`` or ``xxh3-128:<hex>``)."""
        commits, holders = self._lock_blobs(all_commits)
        self._scan(list(holders))
        if digest.startswith("sha256:"):
            xxhs = {
                x
                for (x,) in self.db.execute("SELECT DISTINCT xxh FROM art WHERE sha = ?", (digest,))
            }
        else:
            xxhs = {digest}
        if not xxhs:
            return []
        marks = ",".join("?" * len(xxhs))
        rows = self.db.execute(
            f"SELECT blob, role, stage, path, xxh, sha FROM art WHERE xxh IN ({marks})",
            tuple(xxhs),
        ).fetchall()
        hits = [
            Hit(commit, role, None if stage is None else name_of(stage), name_of(path), xxh, sha)
            for blob, role, stage, path, xxh, sha in rows
            for commit in holders.get(blob, [])
        ]
        order = {c: i for i, c in enumerate(commits)}
        return sorted(hits, key=lambda h: (order.get(h.commit, 0), h.role, h.stage or "", h.path))
