"""``mlrepro gc -c``: delete the objects on a remote that no kept revision needs.

The scope is local gc's (the workspace's lock always, plus ``-a``/``-T``/``-A`` and
``--rev``). A kept folder keeps its tree and every file the tree names; the tree is
read from the cache or, failing that, from the remote (checked against its digests).
A kept tree found in neither place cannot say which files it needs, so gc refuses
to run, as local gc does.

Never losing data: gc never deletes what a kept lock needs, and it never deletes an
object written less than ``grace`` seconds ago (default a day), which may belong to a
push in flight whose commit this clone has not seen. Before deleting anything it
writes a new epoch to the remote, so every clone's record of what the remote holds
(:mod:`mlrepro.remote.known`) is dropped at its next command; then it deletes, in
the order that keeps the remote's invariants: run-cache entries that name a doomed
object, then trees, then files (a tree on the remote always has its files). One
audit entry (``remote.gc``), durable before the first deletion, lists what went.
"""

from __future__ import annotations

import contextlib
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from mlrepro.audit.recorder import Recorder
from mlrepro.engine.runcache import BadEntry, parse_entry
from mlrepro.errors import MlreproError
from mlrepro.ops.gc import LISTED, locks_at
from mlrepro.ops.sync import connected, jobs_for
from mlrepro.remote.base import OBJECTS, Backend, key_object, object_key, run_key
from mlrepro.remote.open import EPOCH_KEY
from mlrepro.remote.transfer import Moved, receive_runs, remote_runs, tree_of
from mlrepro.secrets import redact
from mlrepro.snapshot.scope import want
from mlrepro.store.digest import bare, tag_xxh
from mlrepro.store.tree import MalformedTreeError, Tree
from mlrepro.workspace.lockfile import Artifact, Lock, read_lock
from mlrepro.workspace.project import Project
from mlrepro.workspace.repolock import RepoLock

GRACE = 24 * 3600  # seconds: objects younger than this are never deleted
_TREE_MAX = 1 << 26  # bytes: an object larger than this is taken for a file (64 MiB of JSON)


@dataclass(frozen=True, slots=True)
class RemoteGcResult:
    remote: str
    url: str  # credentials masked
    kept_revisions: tuple[str, ...]
    kept: int  # objects kept because a revision needs them
    young: int  # objects kept only because they are younger than the grace period
    removed: tuple[tuple[str, int], ...]  # (xxh3-128 hex, size) of each object removed
    runs_removed: int  # run-cache entries removed (they named a removed object)
    dry: bool

    @property
    def freed(self) -> int:
        return sum(size for _, size in self.removed)


def remote_gc(
    project: Project,
    *,
    remote: str | None = None,
    all_branches: bool = False,
    all_tags: bool = False,
    all_commits: bool = False,
    revs: tuple[str, ...] = (),
    grace: float = GRACE,
    dry: bool = False,
    wait_for_lock: float = 0.0,
) -> RemoteGcResult:
    with RepoLock(project.state_dir, wait=wait_for_lock):
        locks = {"workspace": read_lock(project.root)}
        for commit, lock in locks_at(project.root, all_branches, all_tags, all_commits, revs):
            locks[commit] = lock
        with connected(project, remote) as (backend, known, options):
            keep = _needed(project, backend, locks)
            now = time.time()
            doomed: list[tuple[str, int]] = []
            young = 0
            for item in backend.scan(OBJECTS):
                xxh = key_object(item.key)
                if xxh is None or xxh in keep:
                    continue
                if now - item.mtime < grace:
                    young += 1
                    continue
                doomed.append((xxh, item.size))
            gone = {x for x, _ in doomed}
            runs = _runs_naming(backend, gone, jobs_for(options, backend))
            result = RemoteGcResult(
                backend.name,
                redact(backend.url),
                tuple(locks),
                len(keep),
                young,
                tuple(sorted(doomed)),
                len(runs),
                dry,
            )
            if dry or not (doomed or runs):
                return result
            audit = Recorder(project.root, project.state_dir)
            try:
                audit.record("remote.gc", _details(result, locks), flush=True)
                backend.write(EPOCH_KEY, os.urandom(16).hex().encode() + b"\n")
                known.forget()
                backend.delete([run_key(k) for k in runs])
                trees = _trees_among(project, backend, gone)
                backend.delete([object_key(x) for x in sorted(trees)])
                backend.delete([object_key(x) for x in sorted(gone - trees)])
            finally:
                audit.close()
            return result


def _needed(project: Project, backend: Backend, locks: dict[str, Lock]) -> set[str]:
    """Every object the artifacts of ``locks`` need, a folder's files included."""
    keep: set[str] = set()
    folders: dict[str, Artifact] = {}
    for lock in locks.values():
        for a in [a for r in lock.stages.values() for a in r.outs] + list(lock.data.values()):
            if a.digest is None:
                continue
            keep.add(bare(a.digest))
            if a.isdir:
                folders[bare(a.digest)] = a
    for _, a in sorted(folders.items()):
        keep.update(e.xxh for e in _tree(project, backend, a).entries)
    return keep


def _tree(project: Project, backend: Backend, a: Artifact) -> Tree:
    tree = tree_of(project.store, backend, want(a))
    if tree is None:
        raise MlreproError(
            f"the tree object {a.digest} of the kept folder '{a.path}' is in neither the "
            "cache nor the remote (or does not check out), so gc cannot tell which files it "
            "needs",
            hint="push it from a clone that has it, then run gc again; nothing was deleted",
        )
    return tree


def _runs_naming(backend: Backend, gone: set[str], jobs: int) -> list[str]:
    """The remote's run-cache entries that name an object about to go (or that are not
    entries at all), read ``jobs`` at a time."""
    unread = Moved()
    with ThreadPoolExecutor(jobs) as pool:
        entries = receive_runs(backend, pool, sorted(remote_runs(backend)), unread)
    if unread.failed:
        what, why = unread.failed[0]
        raise MlreproError(
            f"cannot read {what} on remote '{backend.name}': {why}",
            hint="nothing was deleted; run gc again once the remote answers",
        )
    found = []
    for key, data in entries.items():
        try:
            entry = parse_entry(key, data)
        except BadEntry:
            found.append(key)
            continue
        if any(a.digest and bare(a.digest) in gone for a in entry.outs):
            found.append(key)
    return sorted(found)


def _trees_among(project: Project, backend: Backend, gone: set[str]) -> set[str]:
    """Which of ``gone`` are trees (deleted before the files: a reader never sees a tree
    whose files are gone). What every commit's lock says (a folder's digest is a tree,
    a file's is not) settles most without a request; the rest are read, if small."""
    trees: set[str] = set()
    files: set[str] = set()
    locks = [read_lock(project.root)]
    with contextlib.suppress(MlreproError):  # no commit yet: the objects are read instead
        locks += [lock for _, lock in locks_at(project.root, False, False, True)]
    for lock in locks:
        for a in [a for r in lock.stages.values() for a in r.outs] + list(lock.data.values()):
            if a.digest is not None:
                (trees if a.isdir else files).add(bare(a.digest))
    unknown = gone - trees - files
    for xxh in sorted(unknown):
        try:
            if backend.size(object_key(xxh)) <= _TREE_MAX:
                Tree.from_bytes(backend.read(object_key(xxh)))
                trees.add(xxh)
        except (FileNotFoundError, MalformedTreeError, ValueError):
            pass
    return trees & gone


def _details(result: RemoteGcResult, locks: dict[str, Lock]) -> dict[str, object]:
    names = sorted(tag_xxh(x) for x, _ in result.removed)
    details: dict[str, object] = {
        "remote": result.remote,
        "url": result.url,
        "kept_revisions": len(locks),
        "kept": result.kept,
        "kept_young": result.young,
        "removed": len(names),
        "bytes": result.freed,
        "run_cache_entries_removed": result.runs_removed,
    }
    if len(names) <= LISTED:
        details["objects"] = names
    return details
