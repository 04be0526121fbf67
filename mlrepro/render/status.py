"""Rendering ``status`` reports as text and versioned JSON."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from mlrepro.dag.reasons import DataState, ReasonCode, StageStatus
from mlrepro.engine.outcome import Action, ReproResult
from mlrepro.ops.status import CacheGap, Fix, StatusReport
from mlrepro.render.names import shown_path

if TYPE_CHECKING:  # status -c's modules are imported only when it runs
    from mlrepro.ops.cloudstatus import CloudStatus

STATUS_JSON_VERSION = 1


def to_text(report: StatusReport, *, why: bool) -> str:
    lines: list[str] = []
    for s in report.stages:
        if not s.changed:
            continue
        if why:
            lines.append(f"{s.id}{_restore_note(s)}:")
            lines += [f"    {r.describe(shown_path)}" for r in s.reasons]
        else:
            lines.append(
                f"{s.id}: {s.reasons[0].describe(shown_path)}"
                + (f" (+{len(s.reasons) - 1} more)" if len(s.reasons) > 1 else "")
                + _restore_note(s)
            )
    changed_data = [d for d in report.data if d.state is not DataState.UNCHANGED]
    if changed_data:
        lines.append("data:")
        lines += [f"    {d.state}: {shown_path(d.path)}" for d in changed_data]
    if report.cache:  # up to date, but checkout could not bring these back (issue 15)
        lines.append("cache:")
        lines += [f"    missing: {_gap(g)}" for g in report.cache]
    if not lines:
        return "Everything is up to date."
    return "\n".join(lines)


_FIXES = {
    Fix.REPRO: "`mlrepro repro` caches it again",
    Fix.REPAIR: "`mlrepro cache verify --repair` caches it again",
    Fix.ADD: "`mlrepro add {path}` caches it again",
    Fix.PULL: "not in the workspace either: pull the cache from a remote",
}


def _gap(g: CacheGap) -> str:
    owner = f"stage '{g.stage}'" if g.stage is not None else "data"
    path = shown_path(g.path)
    return f"{path} ({owner}): " + _FIXES[g.fix].format(path=path)


def _restore_note(s: StageStatus) -> str:
    if not s.restore:
        return ""
    return " (else restored from the cache)" if s.conditional else " (restored from the cache)"


def to_json(report: StatusReport) -> str:
    doc: dict[str, Any] = {
        "version": STATUS_JSON_VERSION,
        "changed": report.changed,
        "stages": [
            {
                "id": s.id,
                "changed": s.changed,
                "frozen": s.frozen,
                "reasons": [r.to_json() for r in s.reasons],
                # runs only if these upstream stages write different bytes than recorded
                "conditional_on": list(s.after),
                "restore": s.restore,
            }
            for s in report.stages
        ],
        "data": [
            {"path": d.path, "state": d.state.value, "old": d.old, "new": d.new}
            for d in report.data
        ],
        # added in version 1 (keys are only added): up-to-date outputs and data whose
        # object the cache lacks; they do not make "changed" true
        "cache": [
            {
                "path": g.path,
                "stage": g.stage,
                "object": g.object,
                "state": "missing",
                "fix": g.fix.value,
            }
            for g in report.cache
        ],
    }
    return json.dumps(doc, indent=2, ensure_ascii=False, default=str)


def dry_run(result: ReproResult) -> str:
    """What ``repro --dry`` would do, one line a stage that it would not skip."""
    lines = []
    for o in result.outcomes:
        if o.action not in (Action.WOULD_RUN, Action.WOULD_RESTORE):
            continue
        ups = [r.path for r in o.reasons if r.code is ReasonCode.UPSTREAM_BYTES]
        why = "; ".join(
            r.describe(shown_path) for r in o.reasons if r.code is not ReasonCode.UPSTREAM_BYTES
        )
        why = f": {why}" if why else ""
        names = " or ".join(f"'{u}'" for u in ups)
        bytes_ = f"{names} produce{'s' if len(ups) == 1 else ''} different bytes"
        if o.action is Action.WOULD_RESTORE:
            lines.append(
                f"would restore '{o.id}' from the cache"
                + (f" unless {bytes_}" if ups else "")
                + why
            )
        else:
            lines.append(f"would run '{o.id}'" + (f" if {bytes_}" if ups else "") + why)
    return "\n".join(lines) or "Everything is up to date."


# -- status -c ----------------------------------------------------------------------------


def cloud_text(report: CloudStatus) -> str:
    """DVC's lines (a tab, the state padded to 20 columns, the path), grouped under the
    stage that makes each output (``data:`` for added data)."""
    if report.in_sync:
        return f"Cache and remote '{report.remote}' are in sync."
    lines: list[str] = []
    group: object = object()
    for e in report.entries:
        if e.stage != group:
            group = e.stage
            lines.append(f"{e.stage}:" if e.stage is not None else "data:")
        lines.append("\t" + f"{e.state}:".ljust(20) + shown_path(e.path))
    return "\n".join(lines)


def cloud_json(report: CloudStatus) -> str:
    return json.dumps(
        {
            "version": STATUS_JSON_VERSION,
            "remote": report.remote,
            "url": report.url,
            "in_sync": report.in_sync,
            "compared": report.compared,
            "objects": [
                {"path": e.path, "stage": e.stage, "digest": e.digest, "state": e.state}
                for e in report.entries
            ],
        },
        indent=2,
    )
