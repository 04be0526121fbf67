"""What readers of past revisions need from git, as a :class:`GitReader` protocol.

``snapshot``, ``lineage`` and the history and metrics use cases read commits without
checking them out: they resolve a revision, list a commit's files, read a file's bytes
at a commit, and walk commits and branches. They are typed against
:class:`GitReader`, not against its implementation (:class:`mlrepro.git.repo.GitRepo`,
which imports GitPython), so importing them costs nothing of GitPython's start-up and
they do not depend on how the questions are asked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from mlrepro.errors import MlreproError


class RevisionError(MlreproError):
    """A revision that does not name a commit."""


@dataclass(frozen=True, slots=True)
class BlobRef:
    sha: str
    size: int


@dataclass(frozen=True, slots=True)
class CommitInfo:
    sha: str
    parents: tuple[str, ...]
    author: str
    email: str
    date: str  # committer date, ISO 8601 strict
    subject: str

    @property
    def short(self) -> str:
        return self.sha[:7]


class GitReader(Protocol):
    """Any commit of one repository, read without checking it out."""

    def resolve(self, rev: str) -> str:
        """The full commit id ``rev`` names (a branch, tag, id, ``HEAD~2``...);
        :class:`RevisionError` when it names none."""
        ...

    def files(self, commit: str) -> dict[str, BlobRef]:
        """Every file of ``commit``: path -> blob."""
        ...

    def files_at(self, commit: str, path: str) -> str | None:
        """The blob id of ``path`` at ``commit`` (None when absent)."""
        ...

    def read_blob(self, sha: str) -> bytes:
        """The bytes of the blob ``sha``."""
        ...

    def read(self, commit: str, path: str) -> bytes | None:
        """The bytes of ``path`` at ``commit``, None when it has no such file."""
        ...

    def refs(self, kind: str) -> list[tuple[str, str]]:
        """(short name, commit) of every branch (``heads``) or tag (``tags``) that
        names a commit, sorted by name."""
        ...

    def all_commits(self) -> list[str]:
        """Every commit reachable from any ref but mlrepro's own, newest first."""
        ...

    def active_branch(self) -> str | None:
        """The checked-out branch (None: a detached HEAD)."""
        ...

    def log(
        self, rev_range: str = "HEAD", *, paths: tuple[str, ...] = (), limit: int | None = None
    ) -> list[CommitInfo]:
        """Commits of ``rev_range`` (``A..B`` or a revision), newest first;
        :class:`RevisionError` when it names none."""
        ...

    def close(self) -> None: ...
