"""Path rules for pipeline files: how a path written in dvc.yaml maps to the project."""

from __future__ import annotations

import posixpath
from functools import cache


def is_url(path: str) -> bool:
    return "://" in path


def is_external(path: str) -> bool:
    """URLs and absolute paths are kept exactly as written."""
    return is_url(path) or path.startswith("/")


def join_rel(base: str, path: str) -> str:
    """``path`` (written relative to ``base``) relative to the project root.

    Normalised with forward slashes: no ``./``, no ``x/..``, no doubled or
    trailing slash; may start with ``../`` when it leaves the root; the root
    itself is ``.``.
    """
    if is_external(path):
        return path
    return posixpath.normpath(posixpath.join(base, path))


def parts(root: str, path: str) -> tuple[str, ...]:
    """Components of the absolute, normalised form of a root-relative path."""
    if path.startswith("/"):
        return tuple(p for p in posixpath.normpath(path).split("/") if p)
    root_parts = _root_parts(root)
    if path == ".":
        return root_parts
    if not path.startswith("../"):
        # loader paths are already normalised: split without normpath
        return root_parts + tuple(path.split("/"))
    full = posixpath.normpath(posixpath.join(root, path))
    return tuple(p for p in full.split("/") if p)


@cache
def _root_parts(root: str) -> tuple[str, ...]:
    return tuple(p for p in posixpath.normpath(root).split("/") if p)
