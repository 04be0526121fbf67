"""Which stages were added, removed or changed between two revisions' pipelines.

Stages are compared as the loader resolves them (templating expanded), field by
field: a change of command, dependencies, outputs, tracked params or flags is
named, so a reviewer sees "train@cnn: cmd, params" rather than "dvc.yaml changed".
A stage whose name changed appears as one removed and one added; when their
definitions are otherwise equal it is reported as renamed.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from mlrepro.dag.pipeline import stage_json
from mlrepro.spec.model import Pipeline

# fields compared, in the order they are reported
FIELDS = ("cmd", "wdir", "deps", "outs", "metrics", "plots", "params", "frozen", "always_changed")


class StageChangeKind(StrEnum):
    """How a stage changed (``diff --json``'s ``change``), in the order they are listed."""

    ADDED = "added"
    REMOVED = "removed"
    RENAMED = "renamed"
    MODIFIED = "modified"


_ORDER = {kind: i for i, kind in enumerate(StageChangeKind)}


@dataclass(frozen=True, slots=True)
class StageChange:
    stage: str
    kind: StageChangeKind
    fields: tuple[str, ...] = ()  # for MODIFIED: what differs
    old: dict[str, Any] | None = None
    new: dict[str, Any] | None = None
    renamed_from: str | None = None


def _defs(pipeline: Pipeline | None) -> dict[str, dict[str, Any]]:
    if pipeline is None:
        return {}
    return {s.id: {k: v for k, v in stage_json(s).items() if k in FIELDS} for s in pipeline.stages}


def stage_diff(old: Pipeline | None, new: Pipeline | None) -> tuple[StageChange, ...]:
    a, b = _defs(old), _defs(new)
    changes: list[StageChange] = []
    for sid in sorted(a.keys() & b.keys()):
        diff = tuple(f for f in FIELDS if a[sid][f] != b[sid][f])
        if diff:
            changes.append(StageChange(sid, StageChangeKind.MODIFIED, diff, a[sid], b[sid]))
    removed = sorted(a.keys() - b.keys())
    added = sorted(b.keys() - a.keys())
    for sid in list(added):
        twin = next((r for r in removed if a[r] == b[sid]), None)
        if twin is not None:
            removed.remove(twin)
            added.remove(sid)
            changes.append(
                StageChange(sid, StageChangeKind.RENAMED, (), a[twin], b[sid], renamed_from=twin)
            )
    changes += [StageChange(sid, StageChangeKind.REMOVED, (), a[sid], None) for sid in removed]
    changes += [StageChange(sid, StageChangeKind.ADDED, (), None, b[sid]) for sid in added]
    return tuple(sorted(changes, key=lambda c: (_ORDER[c.kind], c.stage)))
