"""Throw-away git work trees of hostile names, and git's own verdict on them.

Shared by the tests of the ignore rules (``test_gitmatch``, ``test_ignore``,
``test_discover``): :func:`build` writes a tree (a ``dvc.yaml`` in every folder) and
its ``.gitignore`` files, :func:`check_against_git` compares what mlrepro ignores, and
what its pipeline walk finds, with what ``git status`` reports.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from mlrepro.spec.discover import walk_pipeline_files
from mlrepro.spec.ignore import gitignore
from tests.ops.conftest import git_env

Tree = dict[str, Any]  # name -> None (a file) or a Tree (a folder)


@contextmanager
def isolated(home: Path) -> Iterator[None]:
    """No global excludes file of this machine, for git and for mlrepro alike."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HOME", str(home))
        mp.setenv("XDG_CONFIG_HOME", str(home / ".config"))
        yield


def build(root: Path, tree: Tree, ignores: dict[str, bytes]) -> None:
    """A git work tree holding ``tree`` (a dvc.yaml in every folder) and the .gitignore
    files ``ignores`` (folder -> bytes)."""
    subprocess.run(["git", "init", "-q", str(root)], check=True, env=git_env())

    def write(base: bytes, sub: Tree) -> None:
        os.makedirs(base, exist_ok=True)
        with open(os.path.join(base, b"dvc.yaml"), "wb") as f:
            f.write(b"stages: {}\n")
        for name, child in sub.items():
            path = os.path.join(base, os.fsencode(name))
            if child is None:
                with open(path, "wb") as f:
                    f.write(b"x")
            else:
                write(path, child)

    write(os.fsencode(root), tree)
    for folder, data in ignores.items():
        with open(os.path.join(os.fsencode(root / folder), b".gitignore"), "wb") as f:
            f.write(data)


def every_file(root: Path) -> set[bytes]:
    base = os.fsencode(root)
    found: set[bytes] = set()
    for dirpath, dirs, names in os.walk(base):
        dirs[:] = [d for d in dirs if d != b".git"]
        found.update(os.path.relpath(os.path.join(dirpath, n), base) for n in names)
    return found


def ignored_by_git(root: Path) -> set[bytes]:
    """The files git reports as ignored, one by one (inside ignored folders too)."""
    out = subprocess.run(
        ["git", "status", "--porcelain", "--ignored=traditional", "-uall", "-z"],
        cwd=root,
        capture_output=True,
        check=True,
        env=git_env(),
    ).stdout
    return {rec[3:] for rec in out.split(b"\0") if rec.startswith(b"!! ")}


def check_against_git(root: Path, tree: Tree, ignores: dict[str, bytes]) -> None:
    build(root, tree, ignores)
    expected = ignored_by_git(root)
    files = every_file(root)
    rules = gitignore(str(root))
    got = {f for f in files if rules.path_ignored(os.fsdecode(f), is_dir=False)}
    assert got == expected, (ignores, sorted(got ^ expected))
    # the pipeline walk finds exactly the dvc.yaml files git does not ignore
    walked = walk_pipeline_files(str(root), lambda rel: [])
    wanted = {f for f in files - expected if os.path.basename(f) == b"dvc.yaml"}
    assert {os.fsencode(w) for w in walked} == wanted, ignores


def tree_of(paths: list[str]) -> Tree:
    tree: Tree = {}
    for p in paths:
        *folders, name = p.split("/")
        node = tree
        for folder in folders:
            node = node.setdefault(folder, {})
        node[name] = None
    return tree
