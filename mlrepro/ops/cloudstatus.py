"""``mlrepro status -c``: which objects are missing from the cache or from a remote.

Per stage (or ``mlrepro add``\\ ed data) and output, and for a folder output per file in
it, as DVC does: ``new`` (in the cache, not on the remote), ``deleted`` (on the
remote, not in the cache) or ``missing`` (in neither). What is in scope is chosen as
by ``push`` (:func:`mlrepro.ops.sync.artifacts`).

The remote is asked, never the local record of what it holds: this is the command
that sees objects deleted from the remote behind mlrepro's back. When the remote
lacks something the record lists, the record is dropped (the next push asks again).
A folder's files are read from its tree object: the cache's copy, or else the
remote's, checked against its digests like any download (and not stored).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal

from mlrepro.ops.sync import connected, jobs_for
from mlrepro.remote.transfer import Want, member, present, tree_of
from mlrepro.secrets import redact
from mlrepro.snapshot.scope import WORKSPACE_ONLY, Scope, artifacts, want
from mlrepro.store.digest import tag_xxh
from mlrepro.workspace.project import Project
from mlrepro.workspace.repolock import RepoLock

State = Literal["new", "deleted", "missing"]


@dataclass(frozen=True, slots=True)
class CloudEntry:
    path: str  # an output or data path, or a file inside a folder one
    stage: str | None  # the stage that makes it; None for data added with `mlrepro add`
    digest: str  # tagged xxh3-128
    state: State


@dataclass(frozen=True, slots=True)
class CloudStatus:
    remote: str
    url: str  # credentials masked
    entries: tuple[CloudEntry, ...]  # what is out of sync, by stage then path
    compared: int  # objects looked at

    @property
    def in_sync(self) -> bool:
        return not self.entries


def cloud_status(
    project: Project,
    scope: Scope = WORKSPACE_ONLY,
    *,
    remote: str | None = None,
    jobs: int | None = None,
    wait_for_lock: float = 0.0,
) -> CloudStatus:
    with RepoLock(project.state_dir, wait=wait_for_lock):
        owned, _ = artifacts(project, scope)
        store = project.store
        with connected(project, remote) as (backend, known, options):
            jobs = jobs or jobs_for(options, backend)
            with ThreadPoolExecutor(jobs) as pool:
                tops = [(stage, want(a)) for stage, a in owned]
                on_remote, _ = present(backend, [w.xxh for _, w in tops], pool, jobs=jobs)
                rows: list[tuple[str | None, Want]] = []
                for stage, w in tops:
                    rows.append((stage, w))
                    if w.isdir:
                        tree = tree_of(store, backend, w)
                        rows += [(stage, member(w, e)) for e in tree.entries] if tree else []
                names = list(dict.fromkeys(w.xxh for _, w in rows))
                on_remote, seen = present(backend, names, pool, jobs=jobs)
            if any(x in known and x not in on_remote for x in names):
                known.forget()  # it claimed what the remote no longer has
            known.add(on_remote | seen)
            url = redact(backend.url)
    entries = []
    for stage, w in rows:
        state = _state(store.has(w.xxh), w.xxh in on_remote)
        if state is not None:
            entries.append(CloudEntry(w.path, stage, tag_xxh(w.xxh), state))
    entries.sort(key=lambda e: (e.stage or "", e.path))
    return CloudStatus(backend.name, url, tuple(entries), len(names))


def _state(local: bool, remote: bool) -> State | None:
    if local and not remote:
        return "new"
    if remote and not local:
        return "deleted"
    if not local and not remote:
        return "missing"
    return None
