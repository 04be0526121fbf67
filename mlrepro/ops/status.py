"""``status``: which stages would run and why, and which data inputs changed."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from mlrepro.ops.context import Context
from mlrepro.ops.plan import DataStatus, StageStatus, data_status, plan, select
from mlrepro.workspace.project import Project


@dataclass(frozen=True, slots=True)
class StatusReport:
    stages: tuple[StageStatus, ...]
    data: tuple[DataStatus, ...]

    @property
    def changed(self) -> bool:
        return any(s.changed for s in self.stages) or any(d.state != "unchanged" for d in self.data)


def status(project: Project, *, targets: Iterable[str] | None = None) -> StatusReport:
    # loaded before the flush is due: an invalid pipeline is reported as itself, never
    # hidden behind a stat cache that could not even be opened (a full disk, issue 15)
    ctx = Context.load(project)
    try:
        order = select(ctx, targets)
        statuses = plan(ctx, order)
        data = data_status(ctx)
    finally:
        project.stats.flush()
    return StatusReport(tuple(statuses[s] for s in order), tuple(data))
