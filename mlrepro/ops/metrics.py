"""``metrics show`` and ``metrics diff``: the metrics of revisions, and how two compare.

``metrics_show`` reads the workspace's metrics, and with ``all_branches``, ``all_tags``
or ``all_commits`` those of every branch, tag or commit too (one per commit, its names
joined with commas); as DVC does, the workspace is left out then when its values equal
the active branch's. ``metrics_diff`` compares two revisions (by default ``HEAD`` and the
workspace). What could not be read is returned beside the values, as warnings, and never
stops the command (:mod:`mlrepro.snapshot.values`).
"""

from __future__ import annotations

from dataclasses import dataclass

from mlrepro.snapshot.revisions import WORKSPACE, Revision, Revisions
from mlrepro.snapshot.values import Delta, RevisionValues, compare, read_metrics, read_warnings
from mlrepro.workspace.project import Project


@dataclass(frozen=True, slots=True)
class MetricsShown:
    revisions: tuple[RevisionValues, ...]  # the workspace (unless hidden), then the others
    many: bool  # branches, tags or commits were asked for: each row names its revision
    warnings: tuple[str, ...] = ()  # what could not be read, one line each


@dataclass(frozen=True, slots=True)
class MetricsDiff:
    old: RevisionValues
    new: RevisionValues
    deltas: tuple[Delta, ...]  # changed keys (every key with ``all_keys``), in show's order
    warnings: tuple[str, ...] = ()


def metrics_show(
    project: Project,
    targets: tuple[str, ...] = (),
    *,
    all_branches: bool = False,
    all_tags: bool = False,
    all_commits: bool = False,
) -> MetricsShown:
    """The metrics of the workspace (and of branches, tags or commits)."""
    many = all_branches or all_tags or all_commits
    with Revisions.of(project) as revs:
        results = [
            read_metrics(revs, rev, targets)
            for rev in _revisions(revs, all_branches, all_tags, all_commits)
        ]
        if many:
            results = _hide_clean_workspace(revs, results)
    return MetricsShown(tuple(results), many, tuple(read_warnings(results, grouped=many)))


def metrics_diff(
    project: Project,
    a_rev: str | None = None,
    b_rev: str | None = None,
    *,
    targets: tuple[str, ...] = (),
    all_keys: bool = False,
) -> MetricsDiff:
    """The metrics of ``a_rev`` (default HEAD) against ``b_rev`` (default the workspace)."""
    with Revisions.of(project) as revs:
        a, b = compared_revisions(revs, a_rev, b_rev)
        old, new = read_metrics(revs, a, targets), read_metrics(revs, b, targets)
    deltas = compare(old, new, all_keys=all_keys)
    return MetricsDiff(old, new, tuple(deltas), tuple(read_warnings([old, new])))


def compared_revisions(
    revs: Revisions, a_rev: str | None, b_rev: str | None
) -> tuple[Revision, Revision]:
    """The two revisions a diff compares: ``a_rev`` or HEAD, ``b_rev`` or the workspace."""
    return revs.revision(a_rev or "HEAD"), revs.revision(b_rev or WORKSPACE)


def _revisions(revs: Revisions, branches: bool, tags: bool, commits: bool) -> list[Revision]:
    """The workspace, then branches, tags or all commits; one per commit, names joined."""
    found = [revs.revision(None)]
    if not (branches or tags or commits):
        return found
    labels: dict[str, list[str]] = {}
    if commits:
        for sha in revs.git.all_commits():
            labels.setdefault(sha, []).append(sha)
    else:
        kinds = (["heads"] if branches else []) + (["tags"] if tags else [])
        for kind in kinds:
            for name, sha in revs.git.refs(kind):
                labels.setdefault(sha, []).append(name)
    found += [Revision(",".join(names), sha) for sha, names in labels.items()]
    return found


def _hide_clean_workspace(revs: Revisions, results: list[RevisionValues]) -> list[RevisionValues]:
    """As DVC: the workspace row goes when it equals the active branch's."""
    active = revs.git.active_branch()
    if active is None:
        return results
    branch = next((r for r in results[1:] if active in r.rev.label.split(",")), None)
    ws = results[0]
    if branch is not None and branch.files == ws.files and not ws.errors and not branch.errors:
        return results[1:]
    return results
