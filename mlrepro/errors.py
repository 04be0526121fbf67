"""The one exception root of mlrepro and its documented exit codes.

Every error a user can cause is an :class:`MlreproError`. The CLI boundary
(``mlrepro.cli.main``) is the only place that turns one into ``error:`` /
``hint:`` lines and an exit code; the core never prints or exits.
"""

from __future__ import annotations

import errno as _errno
import os

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


class FileSystemError(MlreproError):
    """The system refused a file operation: a full or read-only disk, a permission, a
    limit. The user's to fix, not a bug in mlrepro (issue 15). ``errno`` and ``path``
    say what and where; ``stage`` names the stage whose work it was, when known."""

    def __init__(
        self,
        message: str,
        hint: str | None = None,
        *,
        errno: int | None = None,
        path: str | None = None,
        stage: str | None = None,
    ) -> None:
        super().__init__(message, hint)
        self.errno = errno
        self.path = path
        self.stage = stage


def add_path(exc: OSError, path: str, *, instead: bool = False) -> None:
    """Make ``exc`` name ``path`` when it names nothing (errors of calls on an open file
    descriptor: ``write``, ``fsync``, ``ftruncate``), before raising it again;
    ``instead``: also in place of the names it has (a temporary name, or one relative
    to an open folder). Only a system error (one with an errno) is given a name: an
    OSError made with a message alone would print the name in place of its message."""
    if exc.errno is not None and (instead or exc.filename is None):
        exc.filename = path
        if instead:
            exc.filename2 = None


def os_error(
    exc: OSError, *, stage: str | None = None, doing: str = "", path: str | None = None
) -> FileSystemError:
    """The user error an OSError stands for: one line naming the path (``path`` where
    ``exc`` names none), the stage and what failed, and a hint saying what to do.

    ``doing`` says what was under way (``"caching its outputs"``). Every command maps
    a stray OSError through this at the CLI boundary; code that knows the stage calls
    it itself (``raise os_error(exc, stage=...) from exc``)."""
    code = exc.errno
    where = _shown(exc.filename if exc.filename is not None else path)
    other = _shown(exc.filename2)
    what, hint = _describe(code, where, other, exc.strerror or str(exc))
    parts = [f"stage '{stage}'"] if stage else []
    if doing:
        parts.append(doing)
    parts.append(what)
    return FileSystemError(
        ": ".join(parts),
        hint,
        errno=code,
        path=where,
        stage=stage,
    )


_FREE_SPACE = (
    "free space there (delete what you do not need; `mlrepro gc -w` deletes the cache "
    "objects the workspace does not need) and run the command again"
)
_READ_ONLY = (
    "remount it read-write, or work in a writable clone; the commands that only read "
    "(status, diff, audit verify, cache verify) work as it is"
)
_ACCESS = (
    "let the user running mlrepro read and write it: check the owner and mode of it and "
    "its folders (`ls -ld`), and immutable flags (`lsattr`)"
)
_FILES = "raise the limit (`ulimit -n 4096`), or run fewer stages at once (-j)"

# errno -> (what, naming {path}; what, when no path is known; what to do)
_KNOWN: dict[int, tuple[str, str, str]] = {
    _errno.ENOSPC: (
        "no space left on the device holding {path}",
        "no space left on the device",
        _FREE_SPACE,
    ),
    _errno.EDQUOT: (
        "disk quota exceeded on the device holding {path}",
        "disk quota exceeded",
        _FREE_SPACE,
    ),
    _errno.EROFS: ("{path} is on a read-only file system", "read-only file system", _READ_ONLY),
    _errno.EACCES: ("permission denied: {path}", "permission denied", _ACCESS),
    _errno.EPERM: ("operation not permitted: {path}", "operation not permitted", _ACCESS),
    _errno.EMFILE: ("too many open files (opening {path})", "too many open files", _FILES),
    _errno.ENFILE: ("too many open files (opening {path})", "too many open files", _FILES),
    _errno.ENOMEM: (
        "out of memory (at {path})",
        "out of memory",
        "free memory, or run fewer stages at once (-j)",
    ),
    _errno.EIO: (
        "input/output error at {path}",
        "input/output error",
        "the device may be failing or gone: check it (`dmesg`), then run the command again",
    ),
    _errno.EFBIG: (
        "{path} is too large for its file system",
        "a file is too large for its file system",
        "keep the repository and its cache on a file system that allows larger files",
    ),
    _errno.ENAMETOOLONG: (
        "file name too long: {path}",
        "a file name is too long",
        "use shorter file and folder names",
    ),
    _errno.ELOOP: (
        "too many levels of symbolic links: {path}",
        "too many levels of symbolic links",
        "remove the loop of symbolic links",
    ),
}


def _describe(
    code: int | None, where: str | None, other: str | None, reason: str
) -> tuple[str, str]:
    """What went wrong, and what to do."""
    # a rename or link names two paths: the device and its space are the first's
    both = f"{where} -> {other}" if where and other and other != where else where
    known = _KNOWN.get(code) if code is not None else None
    if known is not None:
        named, unnamed, hint = known
        shown = both if code in (_errno.EACCES, _errno.EPERM) else where
        return (named.format(path=shown) if shown else unnamed), hint
    reason = reason[:1].lower() + reason[1:]  # "No such device" -> "no such device"
    what = f"{both}: {reason}" if both else reason
    return what, "fix that and run the command again (`mlrepro --debug ...` shows where it failed)"


def _shown(name: object) -> str | None:
    """A path as the user knows it: relative to the current folder when inside it."""
    if name is None:
        return None
    path = os.fsdecode(name) if isinstance(name, str | bytes) else str(name)
    try:
        here = os.getcwd()
    except OSError:
        return path
    if os.path.isabs(path) and path.startswith(here.rstrip("/") + "/"):
        return os.path.relpath(path, here)
    return path
