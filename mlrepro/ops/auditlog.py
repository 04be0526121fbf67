"""``audit log``: the entries of this clone's audit log that match a query, newest first,
with the check of the whole log (a listing marks entries that fail verification and
warns when the log does not verify, whatever the query kept).

The query reads entries as they are stored, edited ones included: a field that is not
the mapping it should be (``details``, ``actor``, ``git``) matches as an empty one,
never an error, so a tampered entry is still listed (and marked) rather than hidden.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlrepro.audit.entry import part
from mlrepro.audit.store import AuditStore
from mlrepro.audit.verify import Checked, Report, check_log
from mlrepro.workspace.project import Project


@dataclass(frozen=True, slots=True)
class LogFilter:
    """What ``audit log`` keeps; every field given must match (None: any)."""

    commit: str | None = None  # a commit id or a prefix of one (already resolved)
    since: str | None = None  # an ISO 8601 UTC time: entries at or after it
    actor: str | None = None  # part of the git name, email or OS user, any case
    action: str | None = None  # the whole action: stage.run, checkout, add...
    stage: str | None = None  # the stage an entry is about

    def matches(self, entry: dict[str, Any]) -> bool:
        if self.commit is not None:
            made_on = str(part(entry, "git").get("commit") or "")
            if not made_on.startswith(self.commit):
                return False
        # ISO 8601 UTC times, all written alike, compare as text
        if self.since is not None and str(entry.get("time", "")) < self.since:
            return False
        if self.actor is not None:
            who = " ".join(str(v) for v in part(entry, "actor").values())
            if self.actor.lower() not in who.lower():
                return False
        if self.action is not None and entry.get("action") != self.action:
            return False
        return self.stage is None or part(entry, "details").get("stage") == self.stage


@dataclass(frozen=True, slots=True)
class LogListing:
    entries: tuple[Checked, ...]  # the entries kept, newest first
    report: Report  # the whole log checked, unfiltered (``report.ok``: it verifies)


def audit_log(
    project: Project,
    *,
    commit: str | None = None,
    since: str | None = None,
    actor: str | None = None,
    action: str | None = None,
    stage: str | None = None,
) -> LogListing:
    """The entries matching every filter given. ``commit`` is a revision (a branch, a tag,
    ``HEAD~2``: its commit) or else taken as a commit id prefix. Nothing is written."""
    store = AuditStore(project.root, project.state_dir)
    try:
        report = check_log(store)
        if commit is not None:
            commit = store.git.tip(f"{commit}^{{commit}}") or commit
    finally:
        store.close()
    query = LogFilter(commit=commit, since=since, actor=actor, action=action, stage=stage)
    return LogListing(
        entries=tuple(c for c in reversed(report.entries) if query.matches(c.entry)),
        report=report,
    )
