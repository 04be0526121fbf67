"""``checkout``: make the workspace match the lock file, from the cache."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from mlrepro.audit.recorder import Recorder, artifact_json
from mlrepro.dag.plan import select
from mlrepro.dag.workstate import WorkState
from mlrepro.engine.artifacts import Linker
from mlrepro.store.objects import CorruptObjectError, MissingObjectError
from mlrepro.store.tree import MalformedTreeError
from mlrepro.workspace.lockfile import Artifact
from mlrepro.workspace.project import Project
from mlrepro.workspace.repolock import RepoLock


@dataclass(frozen=True, slots=True)
class CheckoutResult:
    restored: tuple[str, ...]  # paths rewritten from the cache
    unchanged: tuple[str, ...]
    missing: tuple[tuple[str, str], ...]  # (path, why) that could not be restored
    files_written: int


def checkout(
    project: Project,
    *,
    targets: Iterable[str] | None = None,
    with_deps: bool = False,
    wait_for_lock: float = 0.0,
) -> CheckoutResult:
    with RepoLock(project.state_dir, wait=wait_for_lock):
        ctx = WorkState.load(project)
        targets = list(targets or ())
        # a target may be data added with `mlrepro add`, or a stage or output
        data = [t for t in targets if t in ctx.lock.data]
        stages = [t for t in targets if t not in ctx.lock.data]
        wanted: list[Artifact] = [ctx.lock.data[p] for p in data]
        if stages or not targets:
            # as DVC: the targets only, unless their upstream stages are asked for too
            for sid in select(ctx, stages, single=bool(stages) and not with_deps):
                record = ctx.lock.stages.get(sid)
                if record is None:
                    continue
                cached = {o.path for o in ctx.by_id[sid].all_outs if o.cache}
                wanted += [a for a in record.outs if a.path in cached]
        if not targets:
            wanted += list(ctx.lock.data.values())
        linker = Linker(project.store, ctx.hasher, project.config.link_types, project.tmp_dir)
        restored: list[str] = []
        unchanged: list[str] = []
        missing: list[tuple[str, str]] = []
        written = 0
        audit = Recorder(project.root, project.state_dir)
        try:
            for a in sorted(wanted, key=lambda a: a.path):
                if a.digest is None:
                    continue
                now = ctx.state(a.path)
                if now.exists and now.digest == a.digest:
                    unchanged.append(a.path)
                    continue
                try:
                    written += linker.restore(a)
                    restored.append(a.path)
                    audit.record("checkout", {"artifact": artifact_json(a)}, flush=True)
                except (MissingObjectError, CorruptObjectError, MalformedTreeError) as exc:
                    missing.append((a.path, exc.message))
                ctx.forget(a.path)
        finally:
            project.stats.flush()
            audit.close()
        return CheckoutResult(tuple(restored), tuple(unchanged), tuple(missing), written)
