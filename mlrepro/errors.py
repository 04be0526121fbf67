"""The one exception root of mlrepro and its documented exit codes.

Every error a user can cause is an :class:`MlreproError`. The CLI boundary
(``mlrepro.cli.main``) is the only place that turns one into ``error:`` /
``hint:`` lines and an exit code; the core never prints or exits.
"""

from __future__ import annotations

# Exit codes are part of the CLI contract (docs/cli.md).
EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_CHANGED = 3  # `status --check`: something is out of date
EXIT_INTERRUPTED = 130


class MlreproError(Exception):
    """A failure the user can act on: what went wrong, where, and what to do."""

    exit_code: int = EXIT_ERROR

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UsageError(MlreproError):
    """The command line itself is wrong (bad option values, unknown target)."""

    exit_code = EXIT_USAGE


class NotInRepositoryError(MlreproError):
    """The command needs a git work tree (or an mlrepro project) and found none."""


class PipelineError(MlreproError):
    """A pipeline file (dvc.yaml, params or vars file) is invalid.

    ``path`` and ``line`` locate the problem; ``stage`` names the stage when
    there is one. The message is rendered as ``path:line: stage 'x': what``.
    """

    def __init__(
        self,
        what: str,
        *,
        path: str | None = None,
        line: int | None = None,
        stage: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.what = what
        self.path = path
        self.line = line
        self.stage = stage
        super().__init__(self._format(), hint)

    def _format(self) -> str:
        parts = []
        if self.path:
            parts.append(f"{self.path}:{self.line}" if self.line else self.path)
        if self.stage:
            parts.append(f"stage '{self.stage}'")
        parts.append(self.what)
        return ": ".join(parts)

    def located(self, *, path: str | None = None, line: int | None = None) -> PipelineError:
        """The same error with a location filled in where it had none."""
        return PipelineError(
            self.what,
            path=self.path or path,
            line=self.line or line,
            stage=self.stage,
            hint=self.hint,
        )
