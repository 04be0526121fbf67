"""``cache verify``: re-hash every object and find the corrupt ones."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from mlrepro.workspace.project import Project
from mlrepro.workspace.repolock import RepoLock


@dataclass(frozen=True, slots=True)
class VerifyResult:
    checked: int
    corrupt: tuple[str, ...]  # bare xxh3-128 hex of corrupt objects
    removed: bool  # whether corrupt objects were deleted (--repair)
    stray_tmp: int  # leftover temporary files removed


def verify(project: Project, *, repair: bool = False, wait_for_lock: float = 0.0) -> VerifyResult:
    with RepoLock(project.state_dir, wait=wait_for_lock):
        store = project.store
        objects = list(store.iter_objects())
        with ThreadPoolExecutor(4) as pool:
            ok = list(pool.map(store.verify, objects, chunksize=64))
        corrupt = tuple(x for x, good in zip(objects, ok, strict=True) if not good)
        stray = 0
        if repair:
            for x in corrupt:
                store.remove(x)
            stray = store.clean_tmp()
        return VerifyResult(len(objects), corrupt, repair, stray)
