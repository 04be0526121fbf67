"""Single questions about files, one ``git`` process each: which of some paths git
tracks, and what a file held at a revision.

For callers that ask once per command, where GitPython's import (about 90 ms)
would cost more than the question (see :mod:`mlrepro.git.process`).
"""

from __future__ import annotations

from mlrepro.git.process import git_output


def tracked(root: str, paths: list[str]) -> list[str]:
    """The files git tracks at or below ``paths`` (relative to ``root``, ``/``-separated),
    from ``git ls-files``; none when git cannot tell (not a repository, no git)."""
    out = git_output(root, "ls-files", "-z", "--", *paths)
    if out is None:
        return []
    return [f for f in out.decode("utf-8", "surrogateescape").split("\0") if f]


def file_at(root: str, rev: str, path: str) -> bytes | None:
    """The bytes of ``path`` at ``rev`` (``HEAD``, a commit...); None when ``rev`` has
    no such file, or names no commit."""
    return git_output(root, "cat-file", "blob", f"{rev}:{path}")
