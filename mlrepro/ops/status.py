"""``status``: which stages would run and why, which data inputs changed, and which
up-to-date outputs the cache no longer holds."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from mlrepro.dag.plan import data_status, plan, select
from mlrepro.dag.reasons import DataState, DataStatus, StageStatus
from mlrepro.dag.workstate import WorkState
from mlrepro.engine.artifacts import missing_objects
from mlrepro.engine.runcache import RunCache
from mlrepro.store.digest import tag_xxh
from mlrepro.workspace.project import Project


class Fix(StrEnum):
    """What brings a missing object back (``CacheGap.fix``; ``status --json``'s ``fix``)."""

    REPRO = "repro"  # repro re-saves the lost outputs of an up-to-date stage, and data inputs
    REPAIR = "cache verify --repair"  # caches again what the workspace holds as recorded
    ADD = "add"  # data that no stage uses: `mlrepro add PATH`
    PULL = "pull"  # the workspace does not hold it either


@dataclass(frozen=True, slots=True)
class CacheGap:
    """A recorded output or data input, as recorded in the workspace, whose object the
    cache does not hold: nothing needs to run, but checkout could not bring it back."""

    path: str
    stage: str | None  # None for a data input
    object: str  # "xxh3-128:<hex>": the file's, or a folder's tree object
    fix: Fix


@dataclass(frozen=True, slots=True)
class StatusReport:
    stages: tuple[StageStatus, ...]
    data: tuple[DataStatus, ...]
    cache: tuple[CacheGap, ...] = ()

    @property
    def changed(self) -> bool:
        # A gap in the cache is not "out of date": repro would run nothing, and the
        # workspace matches the lock file. `cache verify` is the check that fails on it.
        return any(s.changed for s in self.stages) or any(
            d.state is not DataState.UNCHANGED for d in self.data
        )


def status(project: Project, *, targets: Iterable[str] | None = None) -> StatusReport:
    # loaded before the flush is due: an invalid pipeline is reported as itself, never
    # hidden behind a stat cache that could not even be opened (a full disk, issue 15)
    ctx = WorkState.load(project)
    try:
        order = select(ctx, targets)
        with RunCache(project) as runs:
            statuses = plan(ctx, order, runs)
        data = data_status(ctx)
        gaps = _cache_gaps(ctx, [statuses[s] for s in order], data)
    finally:
        project.stats.flush()
    return StatusReport(tuple(statuses[s] for s in order), tuple(data), tuple(gaps))


def _cache_gaps(
    ctx: WorkState, stages: list[StageStatus], data: list[DataStatus]
) -> list[CacheGap]:
    """The up-to-date outputs and unchanged data inputs whose object is gone (issue 15:
    status said "up to date" with the model's object deleted). One ``stat`` each: the
    file's object, or a folder's tree object. A folder's files are not looked at, nor
    is any object re-hashed: for 50,000 files that would cost more than the whole
    status (measured: +0.17 s on 0.25 s); ``cache verify`` checks them all."""
    frozen = {s.id for s in stages if s.frozen}
    found = missing_objects(
        ctx.project.store,
        ctx.lock,
        ctx.by_id,
        [s.id for s in stages if not s.changed],
        data=[d.path for d in data if d.state is DataState.UNCHANGED],
        files=False,
    )
    if not found:
        return []
    inputs = set(ctx.data_inputs()) if any(m.stage is None for m in found) else set()
    gaps: list[CacheGap] = []
    for m in found:
        if m.stage is None:
            # repro caches again the data inputs of the pipeline, each time it runs
            fix = Fix.REPRO if m.artifact in inputs else Fix.ADD
        elif m.stage not in frozen:
            fix = Fix.REPRO  # an up-to-date stage's lost outputs are saved again
        else:  # repro skips a frozen stage; its workspace copy may still be as recorded
            record = ctx.lock.stages[m.stage]
            digest = next(a.digest for a in record.outs if a.path == m.artifact)
            now = ctx.state(m.artifact)
            fix = Fix.REPAIR if now.exists and now.digest == digest else Fix.PULL
        gaps.append(CacheGap(m.path, m.stage, tag_xxh(m.xxh), fix))
    return gaps
