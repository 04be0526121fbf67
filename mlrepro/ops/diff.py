"""``mlrepro diff``: params, metrics, data and stages between two revisions at once."""

from __future__ import annotations

import math
from dataclasses import dataclass

from mlrepro.errors import MlreproError
from mlrepro.snapshot.datadiff import DataChange, data_diff
from mlrepro.snapshot.revisions import Revision, Revisions
from mlrepro.snapshot.stagediff import StageChange, stage_diff
from mlrepro.snapshot.values import Delta, compare, read_metrics, read_params
from mlrepro.spec.model import Pipeline
from mlrepro.workspace.hashing import Hasher


@dataclass(frozen=True, slots=True)
class FullDiff:
    old: Revision
    new: Revision
    params: tuple[Delta, ...] = ()
    metrics: tuple[Delta, ...] = ()
    data: tuple[DataChange, ...] = ()
    stages: tuple[StageChange, ...] = ()
    notes: tuple[str, ...] = ()

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
    notes: list[str] = []
    values: list[tuple[Delta, ...]] = []
    for reader in (read_params, read_metrics):
        a, b = reader(revs, old), reader(revs, new)
        for r in (a, b):
            if r.failed is not None:
                notes.append(f"{r.rev.label}: {r.failed}")
            notes += [f"{e.path} at {e.rev}: {e.message}" for e in r.errors]
        values.append(
            tuple(d for d in compare(a, b, all_keys=all_keys) if _within(d.path, targets))
        )
    params, metrics = values

    changes: tuple[DataChange, ...] = ()
    if hasher is None and (old.is_workspace or new.is_workspace):
        notes.append("data not compared with the workspace: not an mlrepro project here")
    else:
        data = data_diff(revs, old, new, hasher)
        changes = tuple(c for c in data.changes if _within(c.path, targets))
        notes += [
            f"{path}: contents not compared ({why})"
            for path, why in data.unreadable
            if _within(path, targets)
        ]

    def pipeline(rev: Revision) -> Pipeline | None:
        try:
            return revs.pipeline(rev)
        except MlreproError:
            return None  # already noted above

    stages = stage_diff(pipeline(old), pipeline(new))
    return FullDiff(old, new, params, metrics, changes, stages, tuple(dict.fromkeys(notes)))
