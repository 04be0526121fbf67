"""What ``status`` and ``repro`` say about a stage or a data input: whether it is out
of date and why, as codes (``status --json``) with their messages (``status --why``).
Deciding is :mod:`mlrepro.dag.plan`'s."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class ReasonCode(StrEnum):
    """Why a stage must run (``status --why``, ``status --json``'s ``code``)."""

    NEVER_RUN = "never-run"
    CMD_CHANGED = "cmd-changed"
    ALWAYS_CHANGED = "always-changed"
    NO_DEPS = "no-deps"
    FORCED = "forced"
    UPSTREAM = "upstream"  # path: the upstream stage
    UPSTREAM_BYTES = "upstream-bytes"  # path: the upstream stage
    DEP_CHANGED = "dep-changed"
    DEP_MISSING = "dep-missing"
    DEP_ADDED = "dep-added"
    DEP_REMOVED = "dep-removed"
    PARAM_CHANGED = "param-changed"
    PARAM_ADDED = "param-added"
    PARAM_REMOVED = "param-removed"
    OUT_MISSING = "out-missing"
    OUT_MODIFIED = "out-modified"
    OUT_ADDED = "out-added"


@dataclass(frozen=True, slots=True)
class Reason:
    code: ReasonCode
    path: str | None = None
    old: Any = None
    new: Any = None

    def describe(self, show: Callable[[str], str] = str) -> str:
        """The reason in words; ``show`` writes its path as the reader is shown paths
        (render.names.shown_path for a terminal, which quotes a line break)."""
        return _MESSAGES[self.code].format(
            path=None if self.path is None else show(self.path),
            old=self.old,
            new=self.new,
            old_digest=_short(self.old),
            new_digest=_short(self.new),
        )

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {"code": self.code.value, "message": self.describe()}
        if self.path is not None:
            d["path"] = self.path
        if self.old is not None:
            d["old"] = self.old
        if self.new is not None:
            d["new"] = self.new
        return d


# code -> message; {old}/{new} are values, {old_digest}/{new_digest} shortened digests
_MESSAGES: dict[ReasonCode, str] = {
    ReasonCode.NEVER_RUN: "never run (no entry in mlrepro.lock)",
    ReasonCode.CMD_CHANGED: "command changed",
    ReasonCode.ALWAYS_CHANGED: "always_changed is set",
    ReasonCode.NO_DEPS: "it has neither dependencies nor outputs, so it always runs (as in DVC)",
    ReasonCode.FORCED: "forced",
    ReasonCode.UPSTREAM: "upstream stage '{path}' will run",
    ReasonCode.UPSTREAM_BYTES: "will run if upstream stage '{path}' produces different bytes",
    ReasonCode.DEP_CHANGED: "dependency '{path}' changed ({old_digest} -> {new_digest})",
    ReasonCode.DEP_MISSING: "dependency '{path}' is missing",
    ReasonCode.DEP_ADDED: "dependency '{path}' added",
    ReasonCode.DEP_REMOVED: "dependency '{path}' removed",
    ReasonCode.PARAM_CHANGED: "param '{path}' changed: {old!r} -> {new!r}",
    ReasonCode.PARAM_ADDED: "param '{path}' added: {new!r}",
    ReasonCode.PARAM_REMOVED: "param '{path}' removed (was {old!r})",
    ReasonCode.OUT_MISSING: "output '{path}' is missing",
    ReasonCode.OUT_MODIFIED: "output '{path}' was modified ({old_digest} -> {new_digest})",
    ReasonCode.OUT_ADDED: "output '{path}' added",
}


def _short(digest: Any) -> str:
    if not isinstance(digest, str):
        return "none"
    algo, _, hexpart = digest.partition(":")
    return f"{algo}:{hexpart[:8]}" if hexpart else digest


@dataclass(frozen=True, slots=True)
class StageStatus:
    """Whether a stage will run, and why.

    ``after`` names the upstream stages that will run first when every reason of
    this one follows from them: then it runs only if they write different bytes
    than the lock recorded, which repro can only tell once they ran. ``restore``:
    its inputs were seen before and its outputs are cached, so repro restores them."""

    id: str
    frozen: bool
    reasons: tuple[Reason, ...]
    after: tuple[str, ...] = ()
    restore: bool = False  # repro would restore its outputs from the cache, not run it

    @property
    def changed(self) -> bool:
        return bool(self.reasons)

    @property
    def conditional(self) -> bool:
        return bool(self.after)


class DataState(StrEnum):
    """How a data input stands against its record in the lock file."""

    NEW = "new"
    MODIFIED = "modified"
    MISSING = "missing"
    UNCHANGED = "unchanged"


@dataclass(frozen=True, slots=True)
class DataStatus:
    path: str
    state: DataState
    old: str | None = None
    new: str | None = None
