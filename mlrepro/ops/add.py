"""``add``: put data that no stage produces into the cache and record it."""

from __future__ import annotations

import os
from dataclasses import dataclass

from mlrepro.audit.recorder import Recorder, artifact_json
from mlrepro.dag.workstate import WorkState, git_tracked
from mlrepro.engine.artifacts import save
from mlrepro.engine.gitignore import check_ignorable, ignore_outputs
from mlrepro.errors import MlreproError
from mlrepro.spec.discover import relpath_in_root
from mlrepro.workspace.lockfile import Artifact, write_lock
from mlrepro.workspace.project import Project
from mlrepro.workspace.repolock import RepoLock


@dataclass(frozen=True, slots=True)
class AddResult:
    added: tuple[Artifact, ...]  # one per path, in the order given


def add(project: Project, paths: list[str], *, cwd: str, wait_for_lock: float = 0.0) -> AddResult:
    """Cache ``paths`` (relative to ``cwd``) and record them as data."""
    with RepoLock(project.state_dir, wait=wait_for_lock):
        ctx = WorkState.load(project)
        rels = []
        for p in paths:
            rel = relpath_in_root(project.root, os.path.join(cwd, p))
            if rel in (".", "") or rel.split("/")[0] in (".git", ".mlrepro"):
                raise MlreproError(
                    f"cannot add '{p}'", hint="add a data file or folder inside the repository"
                )
            if not os.path.exists(os.path.join(project.root, rel)):
                raise MlreproError(f"'{rel}' does not exist")
            check_ignorable(rel, what="data")  # refused before anything is cached
            producers = ctx.trie.overlapping(rel)
            if producers:
                raise MlreproError(
                    f"'{rel}' overlaps output '{producers[0][1]}' of stage '{producers[0][0].id}'",
                    hint="stage outputs are cached by `mlrepro repro`; add only raw data",
                )
            rels.append(rel)
        tracked = git_tracked(project.root, rels)
        if tracked:
            first = sorted(tracked)[0]
            raise MlreproError(
                f"git already tracks '{first}'",
                hint=f"stop tracking it first: git rm -r --cached {first}",
            )
        added: list[Artifact] = []
        audit = Recorder(project.root, project.state_dir)
        try:
            for rel in rels:
                artifact = save(project.store, ctx.hasher, rel)
                ctx.lock = ctx.lock.with_data(artifact)
                added.append(artifact)
            for artifact in added:
                audit.record("add", {"artifact": artifact_json(artifact)})
            project.stats.flush()  # while the store's background flush runs
            project.store.sync()  # objects and audit entries durable before the lock
            write_lock(project.root, ctx.lock)
            ignore_outputs(project.root, rels)
        finally:
            project.stats.flush()
            audit.close()
        return AddResult(tuple(added))
