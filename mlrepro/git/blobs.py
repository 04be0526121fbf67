"""Git's own knowledge of tracked files: path -> blob id, for files git reports unmodified.

Blob ids are the same in every clone, unlike inodes and mtimes, so the stat
cache can key digests of tracked files by blob id and a fresh clone (a CI
job that restored ``.mlrepro/`` from its cache) does not re-read them.
Asked lazily, only when the stat cache misses, so a warm run never starts git.
"""

from __future__ import annotations

import threading

from mlrepro.git.process import git_output


class GitBlobs:
    def __init__(self, root: str) -> None:
        self.root = root
        self._map: dict[str, str] | None = None
        self._mutex = threading.Lock()

    def blob(self, relpath: str) -> str | None:
        with self._mutex:
            if self._map is None:
                self._map = clean_blobs(self.root)
            return self._map.get(relpath)


def clean_blobs(root: str) -> dict[str, str]:
    """path -> blob id of every regular file git tracks (not in conflict) that the work
    tree holds unmodified; empty when git cannot tell."""
    staged = git_output(root, "ls-files", "-s", "-z")
    if staged is None:
        return {}
    modified = git_output(root, "diff-files", "--name-only", "-z")
    if modified is None:
        return {}
    dirty = set(modified.decode("utf-8", "surrogateescape").split("\0"))
    blobs: dict[str, str] = {}
    for record in staged.decode("utf-8", "surrogateescape").split("\0"):
        if not record:
            continue
        meta, _, path = record.partition("\t")
        mode, blob, stage = meta.split(" ")
        if stage == "0" and mode.startswith("100") and path not in dirty:
            blobs[path] = blob
    return blobs
