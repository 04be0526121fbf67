"""Any commit, branch or tag, or the workspace, read as a revision.

A revision answers: what bytes did ``path`` hold, what did ``mlrepro.lock`` say,
and what was the pipeline. For a commit everything comes from git objects;
nothing is checked out. Outputs that git does not hold (cached outputs are
gitignored) are found through the revision's lock file and read from the cache,
verified against their digest; a file inside a recorded folder (the tutorial's
``eval/metrics.json`` in the output ``eval``) through the folder's tree object.

The pipeline of a commit is loaded by the same loader as the workspace's, from
a scratch copy of the files it can read: every ``dvc.yaml``, the ignore files,
``.dvc/`` markers of sub-projects, and the params and vars files the pipeline
files name (any ``params.yaml``, and every YAML, JSON, TOML or Python file whose
name appears in a ``dvc.yaml``). Commits whose copies would be identical share
one load, so walking 200 commits of a pipeline that rarely changes loads it a
few times, not 200.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import shutil
import tempfile
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mlrepro.dag.pipeline import load_pipeline
from mlrepro.errors import MlreproError, PipelineError
from mlrepro.git.api import GitReader
from mlrepro.spec.model import Pipeline
from mlrepro.store.digest import bare, tag_xxh
from mlrepro.store.objects import CorruptObjectError, MissingObjectError, ObjectStore
from mlrepro.store.tree import MalformedTreeError, Tree
from mlrepro.workspace.lockfile import LOCK_FILE, Artifact, Lock, parse_lock

if TYPE_CHECKING:
    from mlrepro.workspace.project import Project

WORKSPACE = "workspace"
_PIPELINE_NAMES = frozenset({"dvc.yaml", ".dvcignore", ".gitignore"})
_PARAMS_EXTS = (".yaml", ".yml", ".json", ".toml", ".py")
_PARAMS_MAX = 1 << 20  # bytes: larger files are not params files


@dataclass(frozen=True, slots=True)
class Revision:
    label: str  # as the user named it ("HEAD", "main", "v1.2"), or "workspace"
    commit: str | None  # full id; None for the workspace

    @property
    def is_workspace(self) -> bool:
        return self.commit is None


class Unreadable(MlreproError):
    """A file a revision names but whose bytes cannot be had (not in git, not in the cache)."""


class Revisions:
    """Reads revisions of one repository; holds the git reader and the loaded pipelines."""

    def __init__(self, root: str, store: ObjectStore | None = None) -> None:
        self.root = root
        self.store = store
        self._git: GitReader | None = None
        self._scratch: list[str] = []
        self._by_content: dict[str, Pipeline | PipelineError] = {}
        self._pipelines: dict[str | None, Pipeline | PipelineError] = {}
        self._locks: dict[str | None, Lock] = {}
        self._trees: dict[str, Tree] = {}

    @classmethod
    def of(cls, project: Project) -> Revisions:
        """The project's revisions, reading cached outputs from its cache if it has one."""
        return cls(project.root, project.store if os.path.isdir(project.cache_dir) else None)

    @property
    def git(self) -> GitReader:
        if self._git is None:
            # imported here, not at the top: GitPython costs about 90 ms to import, which
            # a command that reads only the workspace does not pay
            from mlrepro.git.repo import GitRepo

            self._git = GitRepo(self.root)
        return self._git

    def close(self) -> None:
        if self._git is not None:
            self._git.close()
        for d in self._scratch:
            shutil.rmtree(d, ignore_errors=True)
        self._scratch.clear()

    def __enter__(self) -> Revisions:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def revision(self, name: str | None) -> Revision:
        """``name`` as a revision; None or ``workspace`` is the workspace."""
        if name is None or name == WORKSPACE:
            return Revision(WORKSPACE, None)
        return Revision(name, self.git.resolve(name))

    # -- files ------------------------------------------------------------

    def tracked(self, rev: Revision, path: str) -> bytes | None:
        """What git (or the workspace) holds at ``path``; None when nothing is there."""
        if rev.commit is None:
            norm = posixpath.normpath(path)
            if posixpath.isabs(norm) or norm == ".." or norm.startswith("../"):
                # a path from a pipeline file never reaches outside the repository
                raise Unreadable(f"'{path}' is outside the repository")
            full = os.path.join(self.root, norm)
            try:
                with open(full, "rb") as f:
                    return f.read()
            except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
                return None
        return self.git.read(rev.commit, path)

    def read(self, rev: Revision, path: str) -> bytes | None:
        """The bytes of a file at ``rev``: from git, or for an output git does not hold,
        from the cache by the digest the revision's lock recorded. None when the
        revision has no such file; :class:`Unreadable` when it has one we cannot read."""
        data = self.tracked(rev, path)
        if data is not None or rev.commit is None:
            return data
        digest = self.recorded_digest(rev, path)
        if digest is None:
            return None
        return self._cached(rev, path, digest)

    def _cached(self, rev: Revision, path: str, digest: str) -> bytes:
        """The cache object ``digest`` that holds ``path`` at ``rev``."""
        if self.store is None:
            raise Unreadable(f"'{path}' at {rev.label} is only in the cache")
        try:
            return self.store.read_bytes(bare(digest))
        except MissingObjectError:
            raise Unreadable(
                f"'{path}' at {rev.label} is not in the cache ({digest})",
                hint="pull the cache, or run the pipeline at that revision",
            ) from None
        except CorruptObjectError:
            raise Unreadable(
                f"'{path}' at {rev.label}: its cache object is corrupt ({digest})",
                hint="run `mlrepro cache verify --repair`",
            ) from None

    def files_under(self, rev: Revision, folder: str) -> list[str]:
        """Files git (or the workspace) holds below ``folder`` at ``rev``, sorted."""
        if rev.commit is None:
            base = os.path.join(self.root, folder)
            found = []
            for dirpath, dirnames, filenames in os.walk(base):
                dirnames[:] = sorted(d for d in dirnames if d not in (".git", ".mlrepro"))
                rel = os.path.relpath(dirpath, self.root).replace(os.sep, "/")
                found += [posixpath.join(rel, f) for f in filenames]
            return sorted(found)
        prefix = folder.rstrip("/") + "/"
        listed = {p for p in self.git.files(rev.commit) if p.startswith(prefix)}
        # and what recorded folders (gitignored outputs) hold there
        for art in _recorded(self.lock(rev)):
            if not art.isdir or not (
                art.path.startswith(prefix) or prefix.startswith(art.path + "/")
            ):
                continue
            try:
                entries = self._tree(rev, art).entries
            except Unreadable:
                continue  # reading the file itself says why, with a hint
            listed.update(
                p for p in (f"{art.path}/{e.path}" for e in entries) if p.startswith(prefix)
            )
        return sorted(listed)

    def recorded_digest(self, rev: Revision, path: str) -> str | None:
        """The digest ``rev``'s lock recorded for the output or data input ``path``, or
        for a file inside a recorded folder (read from the folder's tree object)."""
        folder: Artifact | None = None
        for art in _recorded(self.lock(rev)):
            if art.path == path and not art.isdir:
                return art.digest
            if art.isdir and path.startswith(art.path + "/"):
                folder = art
        if folder is None:
            return None
        rel = path[len(folder.path) + 1 :]
        entry = next((e for e in self._tree(rev, folder).entries if e.path == rel), None)
        return tag_xxh(entry.xxh) if entry is not None else None

    def _tree(self, rev: Revision, folder: Artifact) -> Tree:
        """The tree object of a recorded folder: as in DVC, the files inside a folder
        output are known at any revision from its recorded listing."""
        assert folder.digest is not None
        tree = self._trees.get(folder.digest)
        if tree is None:
            try:
                tree = Tree.from_bytes(self._cached(rev, folder.path, folder.digest))
            except MalformedTreeError as exc:
                raise Unreadable(
                    f"'{folder.path}' at {rev.label}: {exc.message}", hint=exc.hint
                ) from None
            self._trees[folder.digest] = tree
        return tree

    # -- lock and pipeline ----------------------------------------------------

    def lock(self, rev: Revision) -> Lock:
        """The revision's ``mlrepro.lock`` (empty when it has none)."""
        if rev.commit not in self._locks:
            data = self.tracked(rev, LOCK_FILE)
            where = LOCK_FILE if rev.commit is None else f"{LOCK_FILE} at {rev.label}"
            self._locks[rev.commit] = (
                parse_lock(data.decode("utf-8", "replace"), where) if data else Lock()
            )
        return self._locks[rev.commit]

    def pipeline(self, rev: Revision) -> Pipeline:
        """The revision's pipeline, loaded as DVC would (PipelineError when it cannot be)."""
        if rev.commit not in self._pipelines:
            self._pipelines[rev.commit] = self._load(rev)
        got = self._pipelines[rev.commit]
        if isinstance(got, PipelineError):
            if rev.commit is None:
                raise got
            err = PipelineError(
                got.what, path=got.path, line=got.line, stage=got.stage, hint=got.hint
            )
            err.message = f"at {rev.label}: {got.message}"
            raise err
        return got

    def _load(self, rev: Revision) -> Pipeline | PipelineError:
        if rev.commit is None:
            try:
                return load_pipeline(self.root)
            except PipelineError as exc:
                return exc
        files = self.git.files(rev.commit)
        texts = {
            p: self.git.read_blob(ref.sha)
            for p, ref in files.items()
            if posixpath.basename(p) == "dvc.yaml"
        }
        named = b"\n".join(texts.values())
        picked = {
            p: ref
            for p, ref in files.items()
            if posixpath.basename(p) in _PIPELINE_NAMES
            or p.startswith(".dvc/")
            or "/.dvc/" in p
            or (
                p.endswith(_PARAMS_EXTS)
                and ref.size <= _PARAMS_MAX
                and (
                    posixpath.basename(p) == "params.yaml"
                    or posixpath.basename(p).encode("utf-8", "surrogateescape") in named
                )
            )
        }
        key = hashlib.sha256(
            "\n".join(f"{p}\0{ref.sha}" for p, ref in sorted(picked.items())).encode(
                "utf-8", "surrogateescape"
            )
        ).hexdigest()
        if key not in self._by_content:
            scratch = tempfile.mkdtemp(prefix="mlrepro-rev-")
            self._scratch.append(scratch)
            for p, ref in picked.items():
                dest = os.path.join(scratch, *p.split("/"))
                os.makedirs(os.path.dirname(dest), exist_ok=True)
                data = texts.get(p)
                with open(dest, "wb") as f:
                    f.write(data if data is not None else self.git.read_blob(ref.sha))
            try:
                self._by_content[key] = load_pipeline(scratch)
            except PipelineError as exc:
                self._by_content[key] = exc
        return self._by_content[key]


def _recorded(lock: Lock) -> list[Artifact]:
    """Every output and data input a lock records, with a digest."""
    found = [a for record in lock.stages.values() for a in record.outs]
    found += lock.data.values()
    return [a for a in found if a.digest is not None]
