"""``mlrepro diff``: params, metrics, data and stages between two revisions at once."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from mlrepro.errors import MlreproError
from mlrepro.ops.metrics import Delta, compare, read_metrics, read_params
from mlrepro.snapshot.datadiff import DataChange, data_diff
from mlrepro.snapshot.revisions import Revision, Revisions
from mlrepro.snapshot.stagediff import StageChange, stage_diff
from mlrepro.spec.model import Pipeline
from mlrepro.workspace.hashing import Hasher


@dataclass
class FullDiff:
    old: Revision
    new: Revision
    params: list[Delta] = field(default_factory=list)
    metrics: list[Delta] = field(default_factory=list)
    data: list[DataChange] = field(default_factory=list)
    stages: list[StageChange] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.params or self.metrics or self.data or self.stages)


def relative(d: Delta) -> float | None:
    """(new - old) / |old| for numbers (not booleans), None otherwise or when old is 0."""
    if isinstance(d.old, bool) or isinstance(d.new, bool):
        return None
    if not isinstance(d.old, int | float) or not isinstance(d.new, int | float):
        return None
    if d.old == 0 or math.isnan(d.old) or math.isinf(d.old):
        return None
    return (d.new - d.old) / abs(d.old)


def _within(path: str, targets: tuple[str, ...]) -> bool:
    return not targets or any(path == t or path.startswith(t.rstrip("/") + "/") for t in targets)


def full_diff(
    revs: Revisions,
    old: Revision,
    new: Revision,
    *,
    hasher: Hasher | None = None,
    targets: tuple[str, ...] = (),
    all_keys: bool = False,
) -> FullDiff:
    out = FullDiff(old, new)

    for reader, dest in ((read_params, out.params), (read_metrics, out.metrics)):
        a, b = reader(revs, old), reader(revs, new)
        for r in (a, b):
            if r.failed is not None:
                out.notes.append(f"{r.rev.label}: {r.failed}")
            out.notes += [f"{e.path} at {e.rev}: {e.message}" for e in r.errors]
        dest += [d for d in compare(a, b, all_keys=all_keys) if _within(d.path, targets)]

    if hasher is None and (old.is_workspace or new.is_workspace):
        out.notes.append("data not compared with the workspace: not an mlrepro project here")
    else:
        data = data_diff(revs, old, new, hasher)
        out.data = [c for c in data.changes if _within(c.path, targets)]
        out.notes += [
            f"{path}: contents not compared ({why})"
            for path, why in data.unreadable
            if _within(path, targets)
        ]

    def pipeline(rev: Revision) -> Pipeline | None:
        try:
            return revs.pipeline(rev)
        except MlreproError:
            return None  # already noted above

    out.stages = stage_diff(pipeline(old), pipeline(new))
    out.notes = list(dict.fromkeys(out.notes))
    return out
