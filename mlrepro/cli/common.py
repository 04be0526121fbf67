"""What the commands that work in a project share: finding it and closing it.

Errors are not mapped here: an :class:`~mlrepro.errors.MlreproError` raised in the block
(not a git work tree, not initialised, anything the use case refuses) goes on to
``cli.main``, the one place that turns it into ``error:``/``hint:`` lines and the exit
code documented in docs/cli.md (or a traceback under ``--debug``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from mlrepro.workspace.project import Project


@contextlib.contextmanager
def project_at(start: str | None = None, *, require_init: bool = True) -> Iterator[Project]:
    """The project holding ``start`` (default: the current directory), closed when the
    block ends, however it ends. ``require_init=False``: any git work tree will do (the
    commands that only read revisions)."""
    project = Project.find(start, require_init=require_init)
    try:
        yield project
    finally:
        project.close()
