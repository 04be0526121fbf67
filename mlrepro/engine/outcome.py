"""What ``repro`` reports: an event per step as it happens, and each stage's outcome."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mlrepro.dag.plan import Reason

# on_event(kind, stage_id, text): kind is "start", "command" (each command as it starts),
# "line" (its output), "restored", "skipped", "done", "failed"
EventSink = Callable[[str, str, str], None]


def quiet(kind: str, stage_id: str, text: str) -> None:
    return None


@dataclass(frozen=True, slots=True)
class StageOutcome:
    id: str
    # "ran", "restored", "up-to-date", "failed", "blocked", "interrupted", "would-run",
    # "would-restore"
    action: str
    reasons: tuple[Reason, ...] = ()
    message: str = ""
    duration: float = 0.0
    hint: str | None = None  # what to do, for a failure that knows


@dataclass(frozen=True, slots=True)
class ReproResult:
    outcomes: tuple[StageOutcome, ...]

    @property
    def failed(self) -> list[StageOutcome]:
        return [o for o in self.outcomes if o.action == "failed"]

    @property
    def interrupted(self) -> bool:
        return any(o.action == "interrupted" for o in self.outcomes)


class RunFailed(Exception):
    """A stage's command failed, or what it left cannot be cached (raised in a worker)."""

    def __init__(
        self,
        message: str,
        duration: float = 0.0,
        exit_status: int | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.duration = duration
        self.exit_status = exit_status
        self.hint = hint


class RunInterrupted(Exception):
    """A stage's command was stopped by Ctrl-C or a CI cancel."""
