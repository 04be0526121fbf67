"""``cache verify``: re-hash every object, find the corrupt ones and those the lock file
needs that are gone, check that every run-cache entry is bound to the audit log, and
repair what can be."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from mlrepro.audit.recorder import Recorder, artifact_json
from mlrepro.dag.workstate import WorkState
from mlrepro.engine.artifacts import Missing, all_present, missing_objects, save
from mlrepro.engine.runcache import RunCache, Unbound
from mlrepro.errors import MlreproError
from mlrepro.store.digest import tag_xxh
from mlrepro.store.objects import ObjectStore
from mlrepro.workspace.project import Project
from mlrepro.workspace.repolock import RepoLock


@dataclass(frozen=True, slots=True)
class VerifyResult:
    checked: int
    corrupt: tuple[str, ...]  # bare xxh3-128 hex of corrupt objects
    removed: bool  # whether corrupt objects were deleted (--repair)
    stray_tmp: int  # leftover temporary files removed
    recached: tuple[str, ...] = ()  # workspace paths cached again (--repair)
    # what mlrepro.lock needs and the cache lacks (after the repair, with --repair)
    missing: tuple[Missing, ...] = ()
    # why the lock file could not be checked (an invalid pipeline), or None
    unchecked: str | None = None
    runs_checked: int = 0  # run-cache entries
    # run-cache entries not bound to this clone's audit log (removed, with --repair)
    unbound: tuple[Unbound, ...] = ()

    @property
    def forged(self) -> tuple[Unbound, ...]:
        return tuple(u for u in self.unbound if u.forged)


def verify(project: Project, *, repair: bool = False, wait_for_lock: float = 0.0) -> VerifyResult:
    if not repair:
        # Only reads, so it takes no lock and writes nothing: it works on a full or
        # read-only disk, and beside a running command (objects appear whole, by a
        # rename; one `gc` deletes meanwhile is not counted, see _check) (issue 15).
        objects, corrupt = _check(project.store)
        missing, unchecked = _lock_check(project)
        with RunCache(project) as runs:
            run_entries, unbound = runs.check_all()
        return VerifyResult(
            len(objects), corrupt, False, 0, (), missing, unchecked, run_entries, tuple(unbound)
        )
    with RepoLock(project.state_dir, wait=wait_for_lock):
        store = project.store
        objects, corrupt = _check(store)
        audit = Recorder(project.root, project.state_dir)
        runs = RunCache(project)
        try:
            run_entries, unbound = runs.check_all()
            details: dict[str, object] = {}
            if corrupt:
                details["removed"] = sorted(tag_xxh(x) for x in corrupt)
            if unbound:
                # "run_key", not "key": the audit log masks values under names like "key"
                details["run_entries"] = [{"run_key": u.key, "why": u.why} for u in unbound]
            if details:  # recorded before anything goes
                audit.record("cache.repair", details, flush=True)
            for x in corrupt:
                store.remove(x)
            for u in unbound:
                runs.remove(u.key)
            stray = store.clean_tmp()
            recached = _recache(project, audit)
        finally:
            runs.close()
            audit.close()
        missing, unchecked = _lock_check(project)
        return VerifyResult(
            len(objects),
            corrupt,
            True,
            stray,
            tuple(recached),
            missing,
            unchecked,
            run_entries,
            tuple(unbound),
        )


def _check(store: ObjectStore) -> tuple[list[str], tuple[str, ...]]:
    """Every object, and those whose bytes no longer match their address; an object
    that failed because it was deleted meanwhile (by a `gc` in another process, when
    no lock is held) is not corrupt, just gone."""
    objects = list(store.iter_objects())
    with ThreadPoolExecutor(4) as pool:
        ok = list(pool.map(store.verify, objects, chunksize=64))
    corrupt = tuple(x for x, good in zip(objects, ok, strict=True) if not good and store.has(x))
    return objects, corrupt


def _lock_check(project: Project) -> tuple[tuple[Missing, ...], str | None]:
    """What the lock file needs and the cache lacks (issue 15: a verify that passed
    with the model's object gone); the pipeline says which outputs are cached."""
    try:
        ctx = WorkState.load(project)
    except MlreproError as exc:
        return (), exc.message
    found = missing_objects(
        project.store, ctx.lock, ctx.by_id, list(ctx.lock.stages), data=list(ctx.lock.data)
    )
    return tuple(found), None


def _recache(project: Project, audit: Recorder) -> list[str]:
    """Cache again every recorded output or data input whose objects are gone but whose
    workspace copy still matches the lock file."""
    try:
        ctx = WorkState.load(project)
    except MlreproError:
        return []  # an invalid pipeline: nothing to compare against
    artifacts = [a for r in ctx.lock.stages.values() for a in r.outs] + list(ctx.lock.data.values())
    done: list[str] = []
    try:
        for a in sorted(artifacts, key=lambda a: a.path):
            if a.digest is None or all_present(project.store, a):
                continue
            st = ctx.state(a.path)
            if st.exists and st.digest == a.digest:
                again = save(project.store, ctx.hasher, a.path)
                audit.record("cache.recache", {"artifact": artifact_json(again)})
                done.append(a.path)
        project.store.sync()
    finally:
        project.stats.flush()
    return done
