"""Finding the project root and every ``dvc.yaml`` in it, as DVC collects them."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable

from mlrepro.errors import NotInRepositoryError, PipelineError
from mlrepro.spec.ignore import dvcignore, gitignore

PIPELINE_FILE = "dvc.yaml"


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


def walk_pipeline_files(root: str, load: Callable[[str], Iterable[str]]) -> list[str]:
    """Find and load every dvc.yaml under ``root`` in DVC's walk order.

    ``load(relpath)`` loads one pipeline file and returns the local output
    paths it declares. As DVC's walk does, a folder is not entered when it is
    ignored (``.dvcignore`` at any depth, git's ignore rules), when it holds
    a ``.dvc`` folder of its own (a sub-project), or when it is an output
    of a pipeline file loaded before its parent folder was listed. Folders
    are visited depth first, in name order. Returns the files loaded.
    """
    dvc_ignore = dvcignore(root)
    git_ignore = gitignore(root)
    outs: set[str] = set()
    loaded: list[str] = []
    stack: list[str] = [""]
    while stack:
        reldir = stack.pop()
        absdir = os.path.join(root, reldir) if reldir else root
        dvc_ignore.load_dir(reldir)
        git_ignore.load_dir(reldir)
        try:
            entries = sorted(os.scandir(absdir), key=lambda e: e.name)
        except OSError:
            continue
        subdirs: list[str] = []
        for entry in entries:
            rel = f"{reldir}/{entry.name}" if reldir else entry.name
            if entry.is_dir(follow_symlinks=False):
                subdirs.append(rel)
            elif (
                entry.name == PIPELINE_FILE
                and entry.is_file()
                and not dvc_ignore.ignored(rel, is_dir=False)
                and not git_ignore.ignored(rel, is_dir=False)
            ):
                outs.update(load(rel))
                loaded.append(rel)
        keep = [
            d
            for d in subdirs
            if d not in outs
            and not dvc_ignore.ignored(d, is_dir=True)
            and not git_ignore.ignored(d, is_dir=True)
            and not os.path.exists(os.path.join(root, d, ".dvc"))
        ]
        stack.extend(reversed(keep))
    return loaded


def relpath_in_root(root: str, path: str) -> str:
    rel = os.path.relpath(os.path.abspath(path), root)
    if rel.startswith(".."):
        raise PipelineError(f"'{path}' is outside the project root '{root}'")
    return rel.replace(os.sep, "/")
