"""Path rules for pipeline files: how a path written in dvc.yaml maps to the project."""

from __future__ import annotations

import posixpath
from functools import cache
from urllib.parse import urlsplit

# URL schemes DVC accepts for dependencies and outputs (its remote types).
# `remote://name/path` needs a DVC remote, which mlrepro does not read.
URL_SCHEMES = frozenset(
    {
        "s3",
        "gs",
        "ssh",
        "hdfs",
        "webhdfs",
        "azure",
        "oss",
        "gdrive",
        "http",
        "https",
        "webdav",
        "webdavs",
    }
)


def is_url(path: str) -> bool:
    return "://" in path


def url_problem(path: str) -> str | None:
    """Why DVC would refuse ``path`` as a URL, or None when it is acceptable."""
    if "://" not in path:
        return None
    parsed = urlsplit(path)
    if not parsed.netloc:
        return None  # DVC reads `x:///p` as a local path
    if parsed.scheme == "remote":
        return f"'{path}' names a DVC remote ('remote://'), which mlrepro does not support"
    if parsed.scheme not in URL_SCHEMES:
        return f"'{path}' has an unsupported URL scheme '{parsed.scheme}://'"
    return None


def is_external(path: str) -> bool:
    """URLs and absolute paths are kept exactly as written."""
    return path.startswith("/") or ("://" in path and bool(urlsplit(path).netloc))


def join_rel(base: str, path: str) -> str:
    """``path`` (written relative to ``base``) relative to the project root.

    Normalised with forward slashes: no ``./``, no ``x/..``, no doubled or
    trailing slash; may start with ``../`` when it leaves the root; the root
    itself is ``.``.
    """
    if path.startswith("/"):
        return path
    if "://" in path and urlsplit(path).netloc:
        return path
    return posixpath.normpath(posixpath.join(base, path))


def parts(root: str, path: str) -> tuple[str, ...]:
    """Components of the absolute, normalised form of a root-relative path.

    A URL's first component is ``scheme://netloc``, which no local path can
    have, so URLs only ever overlap with URLs (as in DVC).
    """
    if "://" in path:
        u = urlsplit(path)
        if u.netloc:
            return (f"{u.scheme}://{u.netloc}", *(p for p in u.path.split("/") if p))
    if path.startswith("/"):
        return tuple(p for p in posixpath.normpath(path).split("/") if p)
    root_parts = _root_parts(root)
    if path == ".":
        return root_parts
    if path != ".." and not path.startswith("../"):
        # loader paths are already normalised: split without normpath
        return root_parts + tuple(path.split("/"))
    full = posixpath.normpath(posixpath.join(root, path))
    return tuple(p for p in full.split("/") if p)


@cache
def _root_parts(root: str) -> tuple[str, ...]:
    return tuple(p for p in posixpath.normpath(root).split("/") if p)
