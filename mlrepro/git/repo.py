"""Reading any commit of the repository without checking it out (the implementation of
:class:`mlrepro.git.api.GitReader`).

The only module that imports GitPython. Blobs are read through one long-lived
``git cat-file --batch`` process (GitPython's object database), so reading the
lock file, params and metrics of 200 commits costs 200 round trips to one
process, not 200 process starts. Listings of a commit's files are cached per
commit.
"""

from __future__ import annotations

import git
from git.exc import BadName, GitCommandError

from mlrepro.errors import MlreproError

# the values it returns are the protocol's, and stay importable from here
from mlrepro.git.api import BlobRef as BlobRef
from mlrepro.git.api import CommitInfo as CommitInfo
from mlrepro.git.api import RevisionError as RevisionError

_LOG_FORMAT = "%H%x1f%P%x1f%an%x1f%ae%x1f%cI%x1f%s%x1e"


class GitRepo:
    """The :class:`mlrepro.git.api.GitReader` of the repository at ``root``."""

    def __init__(self, root: str) -> None:
        self.root = root
        try:
            self._repo = git.Repo(root)
        except (git.InvalidGitRepositoryError, git.NoSuchPathError):
            raise MlreproError(
                f"'{root}' is not inside a git repository",
                hint="revisions are git commits: run this in a git work tree",
            ) from None
        self._listings: dict[str, dict[str, BlobRef]] = {}
        self._resolved: dict[str, str] = {}

    def close(self) -> None:
        self._repo.close()

    def resolve(self, rev: str) -> str:
        """The full commit id ``rev`` names (a branch, tag, id, ``HEAD~2``...)."""
        if rev in self._resolved:
            return self._resolved[rev]
        try:
            obj = self._repo.rev_parse(rev)
            commit = obj if obj.type == "commit" else obj.object  # an annotated tag
            if commit.type != "commit":
                raise ValueError(rev)
        except (BadName, ValueError, GitCommandError, IndexError, AttributeError):
            raise RevisionError(
                f"unknown revision '{rev}'",
                hint="name a commit, branch or tag that exists here (see `git log --oneline`)",
            ) from None
        self._resolved[rev] = commit.hexsha
        return commit.hexsha

    def files(self, commit: str) -> dict[str, BlobRef]:
        """Every file of ``commit`` (path -> blob), from one ``git ls-tree``."""
        listing = self._listings.get(commit)
        if listing is None:
            out = self._repo.git.ls_tree("-r", "-l", "-z", "--full-tree", commit)
            listing = {}
            for record in out.split("\0"):
                if not record:
                    continue
                meta, _, path = record.partition("\t")
                _mode, kind, sha, size = meta.split()
                if kind == "blob":
                    listing[path] = BlobRef(sha, int(size) if size != "-" else 0)
            self._listings[commit] = listing
        return listing

    def files_at(self, commit: str, path: str) -> str | None:
        """The blob id of ``path`` at ``commit`` (None when absent), reading only the trees
        on its way, not a listing of the whole commit."""
        listing = self._listings.get(commit)
        if listing is not None:
            ref = listing.get(path)
            return ref.sha if ref is not None else None
        try:
            obj = self._repo.commit(commit).tree / path
        except KeyError:
            return None
        return obj.hexsha if obj.type == "blob" else None

    def read_blob(self, sha: str) -> bytes:
        data: bytes = self._repo.odb.stream(bytes.fromhex(sha)).read()
        return data

    def read(self, commit: str, path: str) -> bytes | None:
        """The bytes of ``path`` at ``commit``, None when it has no such file."""
        ref = self.files(commit).get(path)
        return None if ref is None else self.read_blob(ref.sha)

    def refs(self, kind: str) -> list[tuple[str, str]]:
        """(short name, commit) of every branch (``heads``) or tag (``tags``) that names a
        commit, sorted by name (git lets a tag name a tree or a blob: those are skipped)."""
        out = self._repo.git.for_each_ref(
            "--format=%(refname:short)%09%(objectname)%09%(objecttype)"
            "%09%(*objectname)%09%(*objecttype)",
            f"refs/{kind}",
        )
        found = []
        for line in out.splitlines():
            name, obj, kind_, peeled, peeled_kind = [*line.split("\t"), "", "", "", ""][:5]
            if peeled:  # an annotated tag: what it names
                obj, kind_ = peeled, peeled_kind
            if kind_ == "commit":
                found.append((name, obj))
        return sorted(found)

    def all_commits(self) -> list[str]:
        """Every commit reachable from any ref, newest first (not the audit log's own
        commits under ``refs/mlrepro/``, which hold no pipeline)."""
        out: str = self._repo.git.rev_list("--exclude=refs/mlrepro/*", "--all")
        return out.split()

    def active_branch(self) -> str | None:
        try:
            return self._repo.active_branch.name
        except TypeError:  # detached HEAD
            return None

    def log(
        self, rev_range: str = "HEAD", *, paths: tuple[str, ...] = (), limit: int | None = None
    ) -> list[CommitInfo]:
        """Commits of ``rev_range`` (``A..B`` or a revision), newest first."""
        args = [f"--format={_LOG_FORMAT}"]
        if limit is not None:
            args.append(f"-n{limit}")
        try:
            out = self._repo.git.log(*args, rev_range, "--", *paths)
        except GitCommandError:
            raise RevisionError(
                f"unknown revision or range '{rev_range}'",
                hint="use a revision or A..B with revisions that exist here",
            ) from None
        commits = []
        for record in out.split("\x1e"):
            record = record.strip("\n")
            if not record:
                continue
            sha, parents, author, email, date, subject = record.split("\x1f")
            commits.append(CommitInfo(sha, tuple(parents.split()), author, email, date, subject))
        return commits
