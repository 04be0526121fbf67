"""What ``repro`` reports: an event per step as it happens, and each stage's outcome.

The kinds of both are string enums whose values are what ``--json`` output, audit
entries and older string comparisons hold, so a member equals (and prints as) its
string (issue 16: types where strings were compared)."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from mlrepro.dag.reasons import Reason
from mlrepro.errors import MlreproError
from mlrepro.spec.model import Stage
from mlrepro.spec.yamlio import line_of


class Action(StrEnum):
    """What became of a stage in a repro (``--dry``: what would)."""

    RAN = "ran"
    RESTORED = "restored"  # its outputs brought back from the cache, its command not run
    UP_TO_DATE = "up-to-date"
    FAILED = "failed"
    BLOCKED = "blocked"  # not started: an upstream stage failed, or the run stopped
    INTERRUPTED = "interrupted"
    WOULD_RUN = "would-run"
    WOULD_RESTORE = "would-restore"


# a stage whose outcome is one of these leaves its downstream stages blocked
UNFINISHED = frozenset({Action.FAILED, Action.BLOCKED, Action.INTERRUPTED})


class Event(StrEnum):
    """What the runner tells as it goes, with a stage id and a text (see :data:`EventSink`)."""

    START = "start"  # text: why it runs
    COMMAND = "command"  # text: one of its commands, as it starts (credentials masked)
    LINE = "line"  # text: a line of its output, or a note of the runner's
    RESTORED = "restored"  # text: where from
    SKIPPED = "skipped"  # text: why ("up to date", "frozen")
    DONE = "done"  # text: how long it took ("1.2s")
    FAILED = "failed"  # text: why


# on_event(event, stage_id, text); called from worker threads too (COMMAND, LINE)
EventSink = Callable[[Event, str, str], None]


def quiet(event: Event, stage_id: str, text: str) -> None:
    return None


@dataclass(frozen=True, slots=True)
class StageOutcome:
    id: str
    action: Action
    reasons: tuple[Reason, ...] = ()
    message: str = ""
    duration: float = 0.0
    hint: str | None = None  # what to do, for a failure that knows


@dataclass(frozen=True, slots=True)
class ReproResult:
    outcomes: tuple[StageOutcome, ...]

    @property
    def failed(self) -> list[StageOutcome]:
        return [o for o in self.outcomes if o.action is Action.FAILED]

    @property
    def interrupted(self) -> bool:
        return any(o.action is Action.INTERRUPTED for o in self.outcomes)

    def count(self, action: Action) -> int:
        return sum(o.action is action for o in self.outcomes)


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


class MissingDependencyError(MlreproError):
    """A stage due to run depends on a path that does not exist (and that no stage run
    before it wrote). ``stage`` is its id, ``dependency`` the path as the pipeline names
    it, ``dvcfile`` and ``line`` where the stage is defined (``line`` None when it cannot
    be found). The message reads ``dvc.yaml:12: stage 'train': dependency 'x' does not
    exist``."""

    def __init__(self, stage: Stage, dependency: str, line: int | None) -> None:
        self.stage = stage.id
        self.dependency = dependency
        self.dvcfile = stage.dvcfile
        self.line = line
        where = f"{stage.dvcfile}:{line}" if line is not None else stage.dvcfile
        super().__init__(
            f"{where}: stage '{stage.name}': dependency '{dependency}' does not exist",
            hint="create it, or add a stage that writes it",
        )

    @classmethod
    def of(cls, root: str, stage: Stage, dependency: str) -> MissingDependencyError:
        """The error, with the line of the stage's definition read from its dvc.yaml."""
        return cls(stage, dependency, stage_line(root, stage))


def stage_line(root: str, stage: Stage) -> int | None:
    """The line defining ``stage`` in its dvc.yaml (a ``foreach``/``matrix`` member: its
    group's), None when the file cannot be read or the stage not found."""
    try:
        with open(os.path.join(root, stage.dvcfile), encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError):
        return None
    # a generated stage (``train@cnn``) is defined by its group's entry, ``train``
    return line_of(text, ("stages", stage.name.rsplit("@", 1)[0]))
