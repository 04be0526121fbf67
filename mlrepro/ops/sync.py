"""``mlrepro push``, ``fetch`` and ``pull``: share the cache through a remote.

What moves is chosen as by DVC: the cached outputs and data recorded in
``mlrepro.lock``, narrowed by targets (stage names or output paths, with
``with_deps`` their upstream stages too), and widened by revisions: the lock at the
tip of every branch (``all_branches``), every tag (``all_tags``), every commit
(``all_commits``) or the named ones (``revs``, an mlrepro extension: DVC's push has
no ``--rev``). At a commit, its own pipeline says which outputs are cached; targets
there match a stage's name or id, or an output's path. ``pull`` is ``fetch`` then
``checkout`` of the workspace.

The engine is :mod:`mlrepro.remote.transfer`; every push and fetch that moved
something is recorded in the audit log (``remote.push``, ``remote.fetch``: the
remote's name and URL with credentials masked, objects and bytes moved).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

from mlrepro.audit.recorder import Recorder
from mlrepro.dag.plan import select
from mlrepro.dag.workstate import WorkState
from mlrepro.errors import MlreproError
from mlrepro.ops.checkout import CheckoutResult, checkout
from mlrepro.remote.base import Backend
from mlrepro.remote.known import Known, record_path
from mlrepro.remote.open import open_backend, read_epoch
from mlrepro.remote.transfer import QUIET, Moved, Progress, Want, fetch, push
from mlrepro.secrets import redact
from mlrepro.snapshot.revisions import Revisions
from mlrepro.snapshot.scope import commits_in_scope
from mlrepro.spec.model import Pipeline
from mlrepro.store.digest import bare
from mlrepro.workspace.lockfile import Artifact, Lock
from mlrepro.workspace.project import Project
from mlrepro.workspace.repolock import RepoLock

DEFAULT_JOBS = 4 * (os.cpu_count() or 1)  # as DVC: transfers wait on the network, not the CPU


@dataclass(frozen=True, slots=True)
class Scope:
    """Which recorded artifacts a command moves."""

    targets: tuple[str, ...] = ()
    with_deps: bool = False
    all_branches: bool = False
    all_tags: bool = False
    all_commits: bool = False
    revs: tuple[str, ...] = ()

    @property
    def history(self) -> bool:
        return self.all_branches or self.all_tags or self.all_commits or bool(self.revs)


WORKSPACE_ONLY = Scope()  # everything the workspace's lock records


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


# -- what is wanted ---------------------------------------------------------------------


Owned = tuple[str | None, Artifact]  # the stage that makes an artifact (None: data), and it


def artifacts(project: Project, scope: Scope) -> tuple[list[Owned], tuple[str, ...]]:
    """Every cached artifact in scope with its stage (workspace first, then each commit;
    an artifact recorded at several revisions comes once), and the revisions read."""
    found: dict[str, Owned] = {}

    def add(owned: Iterator[Owned]) -> None:
        for stage, a in owned:
            if a.digest is not None:
                found.setdefault(a.digest, (stage, a))

    add(_workspace(WorkState.load(project), scope))
    revisions = ["workspace"]
    if scope.history:
        with Revisions.of(project) as revs:
            for commit in commits_in_scope(
                revs.git, scope.all_branches, scope.all_tags, scope.all_commits, scope.revs
            ):
                rev = revs.revision(commit)
                add(_at_commit(revs.lock(rev), revs.pipeline(rev), scope.targets))
                revisions.append(commit)
    return list(found.values()), tuple(revisions)


def want(a: Artifact) -> Want:
    assert a.digest is not None
    return Want(bare(a.digest), bare(a.sha256) if a.sha256 else None, a.size, a.isdir, a.path)


def _workspace(ctx: WorkState, scope: Scope) -> Iterator[Owned]:
    data = set(ctx.lock.data) & set(scope.targets)
    stage_targets = [t for t in scope.targets if t not in data]
    for path in sorted(ctx.lock.data if not scope.targets else data):
        yield None, ctx.lock.data[path]
    if scope.targets and not stage_targets:
        return
    chosen = select(ctx, stage_targets or None, single=bool(stage_targets) and not scope.with_deps)
    for sid in chosen:
        record = ctx.lock.stages.get(sid)
        if record is not None:
            cached = {o.path for o in ctx.by_id[sid].all_outs if o.cache}
            yield from ((sid, a) for a in record.outs if a.path in cached)


def _at_commit(lock: Lock, pipeline: Pipeline, targets: tuple[str, ...]) -> Iterator[Owned]:
    def wanted(names: tuple[str, ...], path: str) -> bool:
        return not targets or any(
            t in names or path == t or path.startswith(t.rstrip("/") + "/") for t in targets
        )

    for path, a in lock.data.items():
        if wanted((), path):
            yield None, a
    for stage in pipeline.stages:
        record = lock.stages.get(stage.id)
        if record is None:
            continue
        cached = {o.path for o in stage.all_outs if o.cache}
        for a in record.outs:
            if a.path in cached and wanted((stage.id, stage.name), a.path):
                yield stage.id, a


# -- the commands -------------------------------------------------------------------------


def do_push(
    project: Project,
    scope: Scope = WORKSPACE_ONLY,
    *,
    remote: str | None = None,
    jobs: int | None = None,
    progress: Progress = QUIET,
    wait_for_lock: float = 0.0,
) -> SyncResult:
    """Upload what the remote lacks of the artifacts in ``scope``."""
    with RepoLock(project.state_dir, wait=wait_for_lock):
        owned, revisions = artifacts(project, scope)
        wanted = [want(a) for _, a in owned]
        return _move("push", project, remote, wanted, revisions, jobs, progress)


def do_fetch(
    project: Project,
    scope: Scope = WORKSPACE_ONLY,
    *,
    remote: str | None = None,
    jobs: int | None = None,
    progress: Progress = QUIET,
    wait_for_lock: float = 0.0,
) -> SyncResult:
    """Download what the cache lacks of the artifacts in ``scope``."""
    with RepoLock(project.state_dir, wait=wait_for_lock):
        owned, revisions = artifacts(project, scope)
        wanted = [want(a) for _, a in owned]
        return _move("fetch", project, remote, wanted, revisions, jobs, progress)


def do_pull(
    project: Project,
    scope: Scope = WORKSPACE_ONLY,
    *,
    remote: str | None = None,
    jobs: int | None = None,
    progress: Progress = QUIET,
    wait_for_lock: float = 0.0,
) -> SyncResult:
    """:func:`do_fetch`, then a checkout of the workspace's artifacts in scope."""
    fetched = do_fetch(
        project, scope, remote=remote, jobs=jobs, progress=progress, wait_for_lock=wait_for_lock
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
    wanted: list[Want],
    revisions: tuple[str, ...],
    jobs: int | None,
    progress: Progress,
) -> SyncResult:
    with connected(project, remote) as (backend, known, options):
        engine = push if direction == "push" else fetch
        moved: Moved = engine(
            project.store, backend, known, wanted, jobs=jobs or jobs_for(options), progress=progress
        )
        if direction == "fetch" and moved.objects:
            project.store.sync()  # durable before a checkout or a lock relies on them
    result = SyncResult(
        backend.name,
        redact(backend.url),
        revisions,
        moved.objects,
        moved.bytes,
        moved.present,
        tuple(moved.missing),
        tuple(moved.failed),
    )
    if result.objects or not result.ok:
        audit = Recorder(project.root, project.state_dir)
        try:
            audit.record(f"remote.{direction}", _details(result), flush=True)
        finally:
            audit.close()
    return result


def jobs_for(options: dict[str, Any]) -> int:
    value = options.get("jobs")
    if value is None:
        return DEFAULT_JOBS
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
    }
