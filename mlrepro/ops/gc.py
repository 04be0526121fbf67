"""``mlrepro gc``: delete cache objects that no kept revision needs.

What is kept: every object an output or data input of the workspace's
``mlrepro.lock`` needs, plus, as asked, those of the lock file at the tip of every
branch (``all_branches``), every tag (``all_tags``) or every commit (``all_commits``).
A folder keeps its tree object and every file object the tree names. Everything
else in ``.mlrepro/cache/`` goes, and one audit entry lists what went.

A tree object a kept lock names but the cache lacks cannot say which file objects
it needs: gc refuses to run rather than delete objects that might be those files
(``cache verify --repair`` or a pull restores the tree first). Run-cache records
whose objects are gone are left: a restore checks its objects and runs the stage
when they are missing.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass

from mlrepro.audit.recorder import Recorder
from mlrepro.errors import MlreproError
from mlrepro.snapshot.scope import commits_in_scope
from mlrepro.store.digest import bare, tag_xxh
from mlrepro.store.objects import CorruptObjectError, MissingObjectError
from mlrepro.store.tree import Tree
from mlrepro.workspace.lockfile import LOCK_FILE, Lock, LockFileError, parse_lock, read_lock
from mlrepro.workspace.project import Project
from mlrepro.workspace.repolock import RepoLock

# an entry lists every removed object up to this many; beyond, their count and the
# SHA-256 of the sorted list (which the removed set can be checked against)
LISTED = 10_000


@dataclass(frozen=True, slots=True)
class GcResult:
    kept_revisions: tuple[str, ...]  # "workspace" and the commits whose locks were read
    kept: int  # objects kept
    removed: tuple[tuple[str, int], ...]  # (xxh3-128 hex, size) of each object removed
    dry: bool

    @property
    def freed(self) -> int:
        return sum(size for _, size in self.removed)


def gc(
    project: Project,
    *,
    all_branches: bool = False,
    all_tags: bool = False,
    all_commits: bool = False,
    dry: bool = False,
    wait_for_lock: float = 0.0,
) -> GcResult:
    with RepoLock(project.state_dir, wait=wait_for_lock):
        locks = {"workspace": read_lock(project.root)}
        for commit, lock in locks_at(project.root, all_branches, all_tags, all_commits):
            locks[commit] = lock
        keep = _needed(project, locks)
        store = project.store
        removed = []
        for xxh in store.iter_objects():
            if xxh not in keep:
                try:
                    size = os.stat(store.path(xxh)).st_size
                except FileNotFoundError:
                    continue
                removed.append((xxh, size))
        result = GcResult(tuple(locks), len(keep), tuple(removed), dry)
        if dry or not removed:
            return result
        audit = Recorder(project.root, project.state_dir)
        try:
            # the entry is durable before the first object goes
            audit.record(
                "cache.gc", gc_details(result, all_branches, all_tags, all_commits), flush=True
            )
            for xxh, _ in removed:
                store.remove(xxh)
            store.clean_tmp()
        finally:
            audit.close()
        return result


def gc_details(
    result: GcResult, all_branches: bool, all_tags: bool, all_commits: bool
) -> dict[str, object]:
    names = sorted(tag_xxh(x) for x, _ in result.removed)
    details: dict[str, object] = {
        "kept": {
            "workspace": True,
            "all_branches": all_branches,
            "all_tags": all_tags,
            "all_commits": all_commits,
            "commits": len(result.kept_revisions) - 1,
            "objects": result.kept,
        },
        "removed": len(names),
        "bytes": result.freed,
        "removed_sha256": hashlib.sha256("\n".join(names).encode()).hexdigest(),
    }
    if len(names) <= LISTED:
        details["objects"] = names
    return details


def locks_at(
    root: str, all_branches: bool, all_tags: bool, all_commits: bool, revs: Sequence[str] = ()
) -> list[tuple[str, Lock]]:
    """(commit, its lock) for each commit asked for; commits without a lock are skipped."""
    if not (all_branches or all_tags or all_commits or revs):
        return []
    from mlrepro.git.repo import GitRepo  # GitPython only when history is asked for

    git = GitRepo(root)
    try:
        found = []
        for commit in commits_in_scope(git, all_branches, all_tags, all_commits, revs):
            blob = git.files_at(commit, LOCK_FILE)
            if blob is None:
                continue
            text = git.read_blob(blob).decode("utf-8", "replace")
            try:
                found.append((commit, parse_lock(text, f"{LOCK_FILE} at {commit[:12]}")))
            except LockFileError as exc:
                raise MlreproError(
                    exc.message,
                    hint="gc keeps what every lock names, so it cannot run past an unreadable one",
                ) from None
        return found
    finally:
        git.close()


def _needed(project: Project, locks: dict[str, Lock]) -> set[str]:
    """Every object (xxh3-128 hex) the artifacts of ``locks`` need."""
    store = project.store
    keep: set[str] = set()
    trees: set[str] = set()
    for lock in locks.values():
        artifacts = [a for r in lock.stages.values() for a in r.outs]
        artifacts += list(lock.data.values())
        for a in artifacts:
            if not a.digest or not a.digest.startswith("xxh3-128:"):
                continue
            xxh = bare(a.digest)
            keep.add(xxh)
            if a.isdir:
                trees.add(xxh)
    for xxh in sorted(trees):
        try:
            tree = Tree.from_bytes(store.read_bytes(xxh))
        except MissingObjectError:
            raise MlreproError(
                f"the tree object xxh3-128:{xxh} of a kept folder is not in the cache, so gc "
                "cannot tell which file objects it needs",
                hint="restore it first (`mlrepro cache verify --repair`, or pull the cache)",
            ) from None
        except CorruptObjectError:
            raise MlreproError(
                f"the tree object xxh3-128:{xxh} of a kept folder is corrupt",
                hint="run `mlrepro cache verify --repair` first",
            ) from None
        keep.update(e.xxh for e in tree.entries)
    return keep
