"""``cache verify``: re-hash every object, find the corrupt ones, and repair what can be."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from mlrepro.audit.recorder import Recorder, artifact_json
from mlrepro.errors import MlreproError
from mlrepro.ops.artifacts import all_present, save
from mlrepro.ops.context import Context
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


def verify(project: Project, *, repair: bool = False, wait_for_lock: float = 0.0) -> VerifyResult:
    if not repair:
        # Only reads, so it takes no lock and writes nothing: it works on a full or
        # read-only disk, and beside a running command (objects appear whole, by a
        # rename; one `gc` deletes meanwhile is not counted, see _check) (issue 15).
        objects, corrupt = _check(project.store)
        return VerifyResult(len(objects), corrupt, False, 0)
    with RepoLock(project.state_dir, wait=wait_for_lock):
        store = project.store
        objects, corrupt = _check(store)
        audit = Recorder(project.root, project.state_dir)
        try:
            if corrupt:  # recorded before the objects go
                removed = sorted(f"xxh3-128:{x}" for x in corrupt)
                audit.record("cache.repair", {"removed": removed}, flush=True)
            for x in corrupt:
                store.remove(x)
            stray = store.clean_tmp()
            recached = _recache(project, audit)
        finally:
            audit.close()
        return VerifyResult(len(objects), corrupt, True, stray, tuple(recached))


def _check(store: ObjectStore) -> tuple[list[str], tuple[str, ...]]:
    """Every object, and those whose bytes no longer match their address; an object
    that failed because it was deleted meanwhile (by a `gc` in another process, when
    no lock is held) is not corrupt, just gone."""
    objects = list(store.iter_objects())
    with ThreadPoolExecutor(4) as pool:
        ok = list(pool.map(store.verify, objects, chunksize=64))
    corrupt = tuple(x for x, good in zip(objects, ok, strict=True) if not good and store.has(x))
    return objects, corrupt


def _recache(project: Project, audit: Recorder) -> list[str]:
    """Cache again every recorded output or data input whose objects are gone but whose
    workspace copy still matches the lock file."""
    try:
        ctx = Context.load(project)
    except MlreproError:
        return []  # an invalid pipeline: nothing to compare against
    recorded = [a for r in ctx.lock.stages.values() for a in r.outs] + list(ctx.lock.data.values())
    done: list[str] = []
    try:
        for a in sorted(recorded, key=lambda a: a.path):
            if a.digest is None or all_present(project.store, a):
                continue
            st = ctx.state(a.path)
            if st.exists and f"xxh3-128:{st.xxh}" == a.digest:
                again = save(project.store, ctx.hasher, a.path)
                audit.record("cache.recache", {"artifact": artifact_json(again)})
                done.append(a.path)
        project.store.sync()
    finally:
        project.stats.flush()
    return done
