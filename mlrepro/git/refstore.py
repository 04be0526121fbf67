"""Git objects written and read directly, for data that lives under a ref of its own.

The audit log is stored as commits on ``refs/mlrepro/audit`` whose trees hold its
entries. Objects are written into the repository's object database in-process
(no ``git`` process per object) and the ref is moved with compare-and-swap.
"""

from __future__ import annotations

import io

import git
from git.objects.fun import tree_to_stream
from gitdb import IStream  # type: ignore[import-untyped]

from mlrepro.errors import MlreproError

TREE = 0o40000
BLOB = 0o100644
ZERO = "0" * 40

TreeItem = tuple[bytes, int, str]  # (binary object id, mode, name)


class RefConflict(MlreproError):
    """The ref moved while we were writing."""


class RefStore:
    def __init__(self, root: str) -> None:
        try:
            self.repo = git.Repo(root)
        except (git.InvalidGitRepositoryError, git.NoSuchPathError):
            raise MlreproError(f"'{root}' is not inside a git repository") from None

    def close(self) -> None:
        self.repo.close()

    def tip(self, ref: str) -> str | None:
        try:
            out: str = self.repo.git.rev_parse("--verify", "-q", ref)
        except git.GitCommandError:
            return None
        return out or None

    def message(self, commit: str) -> str:
        out: str = self.repo.git.log("-1", "--format=%B", commit)
        return out

    def blobs(self, commit: str, folder: str) -> list[tuple[str, str]]:
        """(path, blob id) of every file under ``folder`` at ``commit``."""
        out: str = self.repo.git.ls_tree("-r", "-z", commit, folder.rstrip("/") + "/")
        found = []
        for record in out.split("\0"):
            if record:
                meta, _, path = record.partition("\t")
                found.append((path, meta.split()[2]))
        return found

    def read(self, sha: str) -> bytes:
        data: bytes = self.repo.odb.stream(bytes.fromhex(sha)).read()
        return data

    def subtrees(self, commit: str, folder: str) -> dict[str, list[TreeItem]]:
        """The blobs of each subfolder of ``folder`` at ``commit`` (to rebuild a tree)."""
        root = self.repo.commit(commit).tree
        if folder not in root:
            return {}
        return {
            sub.name: [(b.binsha, b.mode, b.name) for b in sub.blobs] for sub in root[folder].trees
        }

    def _store(self, kind: bytes, data: bytes) -> bytes:
        binsha: bytes = self.repo.odb.store(IStream(kind, len(data), io.BytesIO(data))).binsha
        return binsha

    def write_blob(self, data: bytes) -> bytes:
        return self._store(b"blob", data)

    def write_tree(self, items: list[TreeItem]) -> bytes:
        buf = io.BytesIO()
        # git orders entries by name, a folder's name compared as if it ended in "/"
        tree_to_stream(sorted(items, key=lambda e: e[2] + ("/" if e[1] == TREE else "")), buf.write)
        return self._store(b"tree", buf.getvalue())

    def write_commit(self, tree: bytes, parents: list[str], message: str, stamp: int) -> str:
        who = f"mlrepro <audit@mlrepro.invalid> {stamp} +0000"
        lines = [f"tree {tree.hex()}", *(f"parent {p}" for p in parents)]
        lines += [f"author {who}", f"committer {who}", "", message]
        return self._store(b"commit", "\n".join(lines).encode()).hex()

    def move(self, ref: str, new: str, old: str | None) -> None:
        """Point ``ref`` at ``new`` if it still points at ``old`` (None: did not exist)."""
        try:
            self.repo.git.update_ref(ref, new, old or ZERO)
        except git.GitCommandError:
            raise RefConflict(f"{ref} moved meanwhile") from None
