"""``mlrepro push``, ``fetch`` and ``pull``: share the cache through a remote.

What moves is chosen as by DVC: the cached outputs and data that the locks in a
:class:`~mlrepro.snapshot.scope.Scope` record (the workspace's, narrowed by targets,
and those of branches, tags, commits or named revisions; ``--rev`` is an mlrepro
extension, DVC's push has none). ``pull`` is ``fetch`` then ``checkout`` of the
workspace.

With ``run_cache``, the run-cache entries go too: a push sends each entry this clone
could use itself (bound to its log, every output with its sha256 and in the cache),
after the objects it names; a fetch keeps an entry from the remote only once every
object it names has arrived and checked out. ``repro --pull`` (:func:`pull_for_repro`)
adds the audit log from git's ``origin``, which a fetched entry needs to be used.

The engine is :mod:`mlrepro.remote.transfer`; every push and fetch that moved
something (or failed to) is recorded in the audit log (``remote.push``,
``remote.fetch``: the remote's name and URL with credentials masked, objects, bytes
and run-cache entries moved).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

from mlrepro.audit.recorder import Recorder
from mlrepro.dag.workstate import WorkState
from mlrepro.engine.artifacts import all_present
from mlrepro.engine.runcache import (
    BadEntry,
    entry_bytes,
    entry_keys,
    parse_entry,
    read_entry,
    store_entry,
)
from mlrepro.errors import MlreproError
from mlrepro.ops.checkout import CheckoutResult, checkout
from mlrepro.remote.base import Backend
from mlrepro.remote.known import Known, record_path
from mlrepro.remote.open import open_backend, read_epoch
from mlrepro.remote.transfer import (
    QUIET,
    Moved,
    Progress,
    Want,
    fetch,
    push,
    receive_runs,
    remote_runs,
    send_runs,
)
from mlrepro.secrets import redact
from mlrepro.snapshot.scope import WORKSPACE_ONLY, Owned, Scope, artifacts, want
from mlrepro.workspace.lockfile import Artifact
from mlrepro.workspace.project import Project
from mlrepro.workspace.repolock import RepoLock


@dataclass(frozen=True, slots=True)
class SyncResult:
    remote: str
    url: str  # credentials masked
    revisions: tuple[str, ...]  # "workspace" and the commits whose locks were read
    objects: int  # moved
    bytes: int
    present: int  # the other side had them
    missing: tuple[tuple[str, str], ...]  # (path, digest) in neither place
    failed: tuple[tuple[str, str], ...]  # (path, why)
    checkout: CheckoutResult | None = None  # pull only
    runs: int = 0  # run-cache entries moved

    @property
    def ok(self) -> bool:
        return not self.missing and not self.failed


def remote_for(project: Project, name: str | None) -> tuple[str, dict[str, Any]]:
    """The remote ``name`` (default: ``core.remote``) and its options."""
    config = project.config
    if name is None:
        name = config.default_remote
        if name is None:
            raise MlreproError(
                "no remote given, and no default remote is set",
                hint="name one with -r NAME, or set a default: `mlrepro remote default NAME`"
                if config.remotes
                else "add one first: `mlrepro remote add -d NAME URL`",
            )
    if name not in config.remotes:
        raise MlreproError(f"remote '{name}' does not exist", hint="see `mlrepro remote list`")
    return name, config.remotes[name]


@contextlib.contextmanager
def connected(
    project: Project, remote: str | None
) -> Iterator[tuple[Backend, Known, dict[str, Any]]]:
    """The remote ``remote`` (default: ``core.remote``) opened, the record of what it
    holds (under its current epoch), and its options; closed when the block ends."""
    name, options = remote_for(project, remote)
    backend: Backend = open_backend(name, options, project.root)
    try:
        yield (
            backend,
            Known(record_path(project.state_dir, backend.url), read_epoch(backend)),
            options,
        )
    finally:
        backend.close()


# -- the commands -------------------------------------------------------------------------


def do_push(
    project: Project,
    scope: Scope = WORKSPACE_ONLY,
    *,
    remote: str | None = None,
    jobs: int | None = None,
    run_cache: bool = False,
    progress: Progress = QUIET,
    wait_for_lock: float = 0.0,
) -> SyncResult:
    """Upload what the remote lacks of the artifacts in ``scope`` (``run_cache``: and
    every run-cache entry, after the objects it names)."""
    with RepoLock(project.state_dir, wait=wait_for_lock):
        owned, revisions = artifacts(project, scope)
        return _move("push", project, remote, owned, revisions, jobs, run_cache, progress)


def do_fetch(
    project: Project,
    scope: Scope = WORKSPACE_ONLY,
    *,
    remote: str | None = None,
    jobs: int | None = None,
    run_cache: bool = False,
    progress: Progress = QUIET,
    wait_for_lock: float = 0.0,
) -> SyncResult:
    """Download what the cache lacks of the artifacts in ``scope`` (``run_cache``: and
    every run-cache entry the remote has, kept once the objects it names check out)."""
    with RepoLock(project.state_dir, wait=wait_for_lock):
        owned, revisions = artifacts(project, scope)
        return _move("fetch", project, remote, owned, revisions, jobs, run_cache, progress)


def do_pull(
    project: Project,
    scope: Scope = WORKSPACE_ONLY,
    *,
    remote: str | None = None,
    jobs: int | None = None,
    run_cache: bool = False,
    progress: Progress = QUIET,
    wait_for_lock: float = 0.0,
) -> SyncResult:
    """:func:`do_fetch`, then a checkout of the workspace's artifacts in scope."""
    fetched = do_fetch(
        project,
        scope,
        remote=remote,
        jobs=jobs,
        run_cache=run_cache,
        progress=progress,
        wait_for_lock=wait_for_lock,
    )
    restored = checkout(
        project,
        targets=list(scope.targets) or None,
        with_deps=scope.with_deps,
        wait_for_lock=wait_for_lock,
    )
    return replace(fetched, checkout=restored)


def _move(
    direction: str,
    project: Project,
    remote: str | None,
    owned: list[Owned],
    revisions: tuple[str, ...],
    jobs: int | None,
    run_cache: bool,
    progress: Progress,
) -> SyncResult:
    wanted = [want(a) for _, a in owned]
    runs = 0
    with connected(project, remote) as (backend, known, options):
        jobs = jobs or jobs_for(options, backend)
        with ThreadPoolExecutor(jobs) as pool:
            if direction == "push":
                entries = _local_entries(project) if run_cache else {}
                wanted += [w for _, ws in entries.values() for w in ws]
                moved = push(project.store, backend, known, wanted, jobs=jobs, progress=progress)
                if entries:
                    there = remote_runs(backend)
                    ready = {
                        key: data
                        for key, (data, ws) in entries.items()
                        if key not in there and all(w.xxh in known for w in ws)
                    }
                    runs = send_runs(backend, pool, ready, moved)
            else:
                moved = Moved()
                received = _remote_entries(project, backend, pool, moved) if run_cache else {}
                wanted += [want(a) for _, outs in received.values() for a in outs]
                got = fetch(project.store, backend, known, wanted, jobs=jobs, progress=progress)
                moved = _joined(moved, got)
                if received:
                    # durable before the entries here name them. Any other record naming
                    # them comes from a later command, which flushes the cache's whole file
                    # system (syncfs) before it writes, as every record writer does
                    project.store.sync()
                for key, (data, outs) in received.items():
                    if all(all_present(project.store, a) for a in outs):
                        store_entry(project.cache_dir, key, data)
                        runs += 1
    result = SyncResult(
        backend.name,
        redact(backend.url),
        revisions,
        moved.objects,
        moved.bytes,
        moved.present,
        tuple(moved.missing),
        tuple(moved.failed),
        runs=runs,
    )
    if result.objects or result.runs or not result.ok:
        audit = Recorder(project.root, project.state_dir)
        try:
            audit.record(f"remote.{direction}", _details(result), flush=True)
        finally:
            audit.close()
    return result


def _joined(a: Moved, b: Moved) -> Moved:
    return Moved(
        a.objects + b.objects,
        a.bytes + b.bytes,
        a.present + b.present,
        a.missing + b.missing,
        a.failed + b.failed,
    )


def _local_entries(project: Project) -> dict[str, tuple[bytes, list[Want]]]:
    """Each run-cache entry worth sharing, with the objects it names: one bound to an
    audit entry (version 2), whose outputs all carry a sha256 and are all in the cache
    (an entry whose objects gc removed stays here)."""
    found = {}
    for key in entry_keys(project.cache_dir):
        try:
            entry = read_entry(project.cache_dir, key)
        except (BadEntry, OSError):
            continue  # `cache verify` reports it
        if entry is None or not _shareable(entry.audit, entry.outs):
            continue
        if all(all_present(project.store, a) for a in entry.outs):
            found[key] = (entry_bytes(project.cache_dir, key), [want(a) for a in entry.outs])
    return found


def _remote_entries(
    project: Project, backend: Backend, pool: ThreadPoolExecutor, moved: Moved
) -> dict[str, tuple[bytes, tuple[Artifact, ...]]]:
    """The remote's run-cache entries this cache lacks, read and checked for form."""
    here = set(entry_keys(project.cache_dir))
    keys = sorted(remote_runs(backend) - here)
    found = {}
    for key, data in receive_runs(backend, pool, keys, moved).items():
        try:
            entry = parse_entry(key, data)
        except BadEntry as exc:
            moved.failed.append((f"run-cache entry {key[:16]}…", f"{exc}: not used"))
            continue
        if not _shareable(entry.audit, entry.outs):
            moved.failed.append(
                (f"run-cache entry {key[:16]}…", "names no audit entry or no sha256: not used")
            )
            continue
        found[key] = (data, entry.outs)
    return found


def _shareable(audit: object, outs: tuple[Artifact, ...]) -> bool:
    return audit is not None and all(a.digest and a.sha256 for a in outs)


def jobs_for(options: dict[str, Any], backend: Backend) -> int:
    """Transfers at once: the remote's ``jobs`` option, else what suits its kind."""
    value = options.get("jobs")
    if value is None:
        return backend.jobs
    try:
        jobs = int(value)
    except (TypeError, ValueError):
        jobs = 0
    if jobs < 1:
        raise MlreproError(
            f"remote option 'jobs' must be a whole number of at least 1, not {value!r}",
            hint="fix it with `mlrepro remote modify NAME jobs N`",
        )
    return jobs


def _details(result: SyncResult) -> dict[str, Any]:
    return {
        "remote": result.remote,
        "url": result.url,
        "revisions": len(result.revisions),
        "objects": result.objects,
        "bytes": result.bytes,
        "present": result.present,
        "missing": [d for _, d in result.missing[:100]],
        "failed": len(result.failed),
        "run_cache_entries": result.runs,
    }


def pull_for_repro(
    project: Project,
    *,
    jobs: int | None = None,
    progress: Progress = QUIET,
    wait_for_lock: float = 0.0,
) -> tuple[SyncResult, str]:
    """``repro --pull``: what a fresh clone needs to restore outputs computed elsewhere.
    First the audit log from git's ``origin`` (a run-cache entry is used only once the
    log entry it is bound to is here), then, from the default remote, the run-cache
    entries and every object the workspace's lock names, and the raw data (``mlrepro
    add``) missing from the workspace is checked out. Returns the fetch and a line on
    the audit log; a log that cannot be pulled is said, not fatal (its entries are then
    not used, and the stages run)."""
    from mlrepro.audit.store import AuditStore
    from mlrepro.audit.sync import pull as pull_log

    store = AuditStore(project.root, project.state_dir)
    try:
        with RepoLock(project.state_dir, wait=wait_for_lock):
            how = pull_log(store, "origin").how
        note = {
            "nothing": "origin has no audit log",
            "up-to-date": "the audit log is up to date with origin",
        }.get(how, f"audit log pulled from origin ({how})")
    except MlreproError as exc:
        note = f"the audit log was not pulled from origin: {exc.message}"
    finally:
        store.close()
    fetched = do_fetch(
        project, jobs=jobs, run_cache=True, progress=progress, wait_for_lock=wait_for_lock
    )
    # raw data the stages read must be in the workspace (as DVC's repro --pull brings a
    # missing dependency); data that is there, edited or not, is the user's and stays
    lock = WorkState.load(project).lock
    absent = [p for p in lock.data if not os.path.lexists(os.path.join(project.root, p))]
    if absent:
        checkout(project, targets=absent, wait_for_lock=wait_for_lock)
    return fetched, note
