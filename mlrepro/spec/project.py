"""Finding the project root and every ``dvc.yaml`` in it, as DVC collects them."""

from __future__ import annotations

import os
import posixpath
import subprocess

from mlrepro.errors import NotInRepositoryError, PipelineError
from mlrepro.spec.ignore import DvcIgnore

PIPELINE_FILE = "dvc.yaml"
# Never descended into, wherever they are (same defaults as DVC).
_SKIP_DIRS = frozenset({".git", ".hg", ".dvc", ".mlrepro"})


def find_root(start: str | None = None) -> str:
    """The top of the git work tree holding ``start`` (default: the cwd)."""
    here = os.path.abspath(start or os.getcwd())
    probe = here
    while True:
        if os.path.exists(os.path.join(probe, ".git")):
            return probe
        parent = os.path.dirname(probe)
        if parent == probe:
            raise NotInRepositoryError(
                f"'{here}' is not inside a git work tree",
                hint="run mlrepro inside a git repository (git init creates one)",
            )
        probe = parent


def find_pipeline_files(root: str) -> list[str]:
    """Relative paths of every dvc.yaml under ``root`` in walk order (DFS, sorted).

    Honours ``.dvcignore`` files at any depth and skips nested git
    repositories, ``.git``, ``.dvc`` and ``.mlrepro``. Git-ignored files are
    removed later by :func:`drop_gitignored`.
    """
    ignore = DvcIgnore(root)
    found: list[str] = []
    stack: list[str] = [""]
    while stack:
        reldir = stack.pop()
        absdir = os.path.join(root, reldir) if reldir else root
        ignore.load_dir(reldir)
        try:
            entries = sorted(os.scandir(absdir), key=lambda e: e.name)
        except OSError:
            continue
        subdirs: list[str] = []
        for entry in entries:
            rel = f"{reldir}/{entry.name}" if reldir else entry.name
            if entry.is_dir(follow_symlinks=False):
                if entry.name in _SKIP_DIRS or ignore.ignored(rel, is_dir=True):
                    continue
                if os.path.exists(os.path.join(entry.path, ".git")):
                    continue  # a nested repository is a project of its own
                subdirs.append(rel)
            elif entry.name == PIPELINE_FILE and not ignore.ignored(rel, is_dir=False):
                if entry.is_file():
                    found.append(rel)
        stack.extend(reversed(subdirs))
    return found


def drop_gitignored(root: str, relpaths: list[str]) -> list[str]:
    """``relpaths`` without those git ignores (DVC skips git-ignored files)."""
    if not relpaths:
        return relpaths
    try:
        proc = subprocess.run(
            ["git", "check-ignore", "--no-index", "--stdin", "-z"],
            cwd=root,
            input="\0".join(relpaths) + "\0",
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError:
        return relpaths
    if proc.returncode not in (0, 1):
        return relpaths
    ignored = {p for p in proc.stdout.split("\0") if p}
    return [p for p in relpaths if p not in ignored]


def under_any(path: str, dirs: set[str]) -> bool:
    """Whether a proper parent directory of ``path`` is one of ``dirs``."""
    parent = posixpath.dirname(path)
    while parent:
        if parent in dirs:
            return True
        parent = posixpath.dirname(parent)
    return False


def relpath_in_root(root: str, path: str) -> str:
    rel = os.path.relpath(os.path.abspath(path), root)
    if rel.startswith(".."):
        raise PipelineError(f"'{path}' is outside the project root '{root}'")
    return rel.replace(os.sep, "/")
