"""``params diff``: the params of two revisions compared (by default ``HEAD`` and the
workspace), with DVC's choice of files (:mod:`mlrepro.snapshot.values`)."""

from __future__ import annotations

from dataclasses import dataclass

from mlrepro.ops.metrics import compared_revisions
from mlrepro.snapshot.revisions import Revisions
from mlrepro.snapshot.values import Delta, RevisionValues, compare, read_params, read_warnings
from mlrepro.workspace.project import Project


@dataclass(frozen=True, slots=True)
class ParamsDiff:
    old: RevisionValues
    new: RevisionValues
    deltas: tuple[Delta, ...]  # changed keys (every key with ``all_keys``)
    warnings: tuple[str, ...] = ()  # what could not be read, one line each


def params_diff(
    project: Project,
    a_rev: str | None = None,
    b_rev: str | None = None,
    *,
    targets: tuple[str, ...] = (),
    all_keys: bool = False,
    deps_only: bool = False,
) -> ParamsDiff:
    """The params of ``a_rev`` (default HEAD) against ``b_rev`` (default the workspace);
    ``deps_only``: only those stages depend on."""
    with Revisions.of(project) as revs:
        a, b = compared_revisions(revs, a_rev, b_rev)
        old = read_params(revs, a, deps_only=deps_only, targets=targets)
        new = read_params(revs, b, deps_only=deps_only, targets=targets)
    deltas = compare(old, new, all_keys=all_keys)
    return ParamsDiff(old, new, tuple(deltas), tuple(read_warnings([old, new])))
