"""Git objects written and read directly, for data that lives under a ref of its own.

The audit log is stored as commits on ``refs/mlrepro/audit`` whose trees hold its
entries. New objects are written as loose objects in-process, exactly as git
writes them (zlib of ``<kind> <size>\\0<data>`` under its SHA-1, by an atomic
rename); the few reads a publication needs and the compare-and-swap move of the
ref go through ``git`` itself. This module deliberately does not import GitPython:
recording an action must cost a command almost nothing (GitPython's import alone
is about 90 ms), and the handful of plumbing calls needs no library.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import zlib

from mlrepro.errors import MlreproError

TREE = 0o40000
BLOB = 0o100644
ZERO = "0" * 40

TreeItem = tuple[bytes, int, str]  # (binary object id, mode, name)


class RefConflict(MlreproError):
    """The ref moved while we were writing."""


def parse_tree(data: bytes) -> list[TreeItem]:
    """The entries of a raw tree object: ``<octal mode> <name>\\0<20-byte id>`` each."""
    items: list[TreeItem] = []
    i = 0
    while i < len(data):
        space = data.index(b" ", i)
        nul = data.index(b"\0", space)
        mode = int(data[i:space], 8)
        name = data[space + 1 : nul].decode("utf-8", "surrogateescape")
        items.append((data[nul + 1 : nul + 21], mode, name))
        i = nul + 21
    return items


def format_tree(items: list[TreeItem]) -> bytes:
    # git orders entries by name, a folder's name compared as if it ended in "/"
    ordered = sorted(items, key=lambda e: e[2] + ("/" if e[1] == TREE else ""))
    return b"".join(
        f"{mode:o} ".encode() + name.encode("utf-8", "surrogateescape") + b"\0" + sha
        for sha, mode, name in ordered
    )


def tip_command(ref: str) -> tuple[str, ...]:
    return ("log", "-1", "--format=%H%n%B", ref, "--")


def parse_tip(out: str | None) -> tuple[str, str] | None:
    """(commit, message) from the output of :func:`tip_command` (None: no such ref)."""
    if not out:
        return None
    sha, _, message = out.partition("\n")
    return sha.strip(), message


class RefStore:
    def __init__(self, root: str, common_dir: str | None = None) -> None:
        self.root = root
        common = common_dir or self._git("rev-parse", "--git-common-dir", check=False)
        if common is None:
            raise MlreproError(f"'{root}' is not inside a git repository")
        self.objects = os.path.join(root, common.strip(), "objects")

    def close(self) -> None:
        pass

    def _git(self, *args: str, check: bool = True, data: bytes | None = None) -> str | None:
        proc = subprocess.run(
            ["git", *args], cwd=self.root, input=data, capture_output=True, check=False
        )
        if proc.returncode != 0:
            if check:
                raise MlreproError(
                    f"git {args[0]} failed: {proc.stderr.decode(errors='replace').strip()}"
                )
            return None
        return proc.stdout.decode("utf-8", "surrogateescape")

    def tip(self, ref: str) -> str | None:
        out = self._git("rev-parse", "--verify", "-q", ref, check=False)
        return out.strip() if out else None

    def tip_and_message(self, ref: str) -> tuple[str, str] | None:
        """The commit ``ref`` points at and its message, in one call (None: no ref)."""
        return parse_tip(self._git(*tip_command(ref), check=False))

    def listing(self, commit: str, *folders: str) -> dict[str, list[TreeItem]]:
        """The entries of each of ``folders`` at ``commit`` (not recursive), from one
        ``ls-tree`` (a folder that does not exist is absent)."""
        paths = [f.rstrip("/") + "/" for f in folders]
        out = self._git("ls-tree", "-z", commit, *paths, check=False) or ""
        found: dict[str, list[TreeItem]] = {}
        for record in out.split("\0"):
            if record:
                meta, _, path = record.partition("\t")
                mode, _kind, sha = meta.split()
                parent, _, name = path.rpartition("/")
                found.setdefault(parent, []).append((bytes.fromhex(sha), int(mode, 8), name))
        return found

    def files(self, commit: str, folder: str) -> dict[str, str]:
        """path -> blob id of every file under ``folder`` at ``commit`` (contents unread)."""
        out = self._git("ls-tree", "-r", "-z", commit, folder.rstrip("/") + "/", check=False) or ""
        found = {}
        for record in out.split("\0"):
            if record:
                meta, _, path = record.partition("\t")
                found[path] = meta.split()[2]
        return found

    def is_ancestor(self, a: str, b: str) -> bool:
        return self._git("merge-base", "--is-ancestor", a, b, check=False) is not None

    def fetch(self, remote: str, src: str, dest: str) -> bool:
        """Fetch ``src`` of ``remote`` into the local ref ``dest`` (forced); False when the
        remote has no such ref."""
        if self._git("ls-remote", "--exit-code", remote, src, check=False) is None:
            return False
        self._git("fetch", "-q", "--no-tags", remote, f"+{src}:{dest}")
        return True

    def refs_under(self, prefix: str) -> list[str]:
        out = self._git("for-each-ref", "--format=%(refname)", prefix, check=False) or ""
        return out.split()

    def push(self, remote: str, ref: str) -> None:
        self._git("push", "-q", remote, f"{ref}:{ref}")

    def blobs(self, commit: str, folder: str) -> list[tuple[str, bytes]]:
        """(path, bytes) of every file under ``folder`` at ``commit``: one ``ls-tree``
        and one ``cat-file --batch`` for all of them."""
        listing = self._git("ls-tree", "-r", "-z", commit, folder.rstrip("/") + "/") or ""
        found = []
        for record in listing.split("\0"):
            if record:
                meta, _, path = record.partition("\t")
                found.append((path, meta.split()[2]))
        if not found:
            return []
        request = "".join(f"{sha}\n" for _, sha in found).encode()
        proc = subprocess.run(
            ["git", "cat-file", "--batch"],
            cwd=self.root,
            input=request,
            capture_output=True,
            check=False,
        )
        out, pos, result = proc.stdout, 0, []
        for path, _sha in found:
            header_end = out.index(b"\n", pos)
            size = int(out[pos:header_end].split()[2])
            result.append((path, out[header_end + 1 : header_end + 1 + size]))
            pos = header_end + 1 + size + 1
        return result

    def _store(self, kind: bytes, data: bytes) -> bytes:
        raw = kind + b" " + str(len(data)).encode() + b"\0" + data
        binsha = hashlib.sha1(raw, usedforsecurity=False).digest()
        hexsha = binsha.hex()
        folder = os.path.join(self.objects, hexsha[:2])
        path = os.path.join(folder, hexsha[2:])
        if not os.path.exists(path):
            os.makedirs(folder, exist_ok=True)
            tmp = os.path.join(folder, f".tmp-{os.getpid()}-{hexsha[2:]}")
            with open(tmp, "wb") as f:
                f.write(zlib.compress(raw, 1))
            os.chmod(tmp, 0o444)
            os.replace(tmp, path)
        return binsha

    def write_blob(self, data: bytes) -> bytes:
        return self._store(b"blob", data)

    def write_tree(self, items: list[TreeItem]) -> bytes:
        return self._store(b"tree", format_tree(items))

    def write_commit(self, tree: bytes, parents: list[str], message: str, stamp: int) -> str:
        who = f"mlrepro <audit@mlrepro.invalid> {stamp} +0000"
        lines = [f"tree {tree.hex()}", *(f"parent {p}" for p in parents)]
        lines += [f"author {who}", f"committer {who}", "", message]
        return self._store(b"commit", "\n".join(lines).encode()).hex()

    def move(self, ref: str, new: str, old: str | None) -> None:
        """Point ``ref`` at ``new`` if it still points at ``old`` (None: did not exist)."""
        if self._git("update-ref", ref, new, old or ZERO, check=False) is None:
            raise RefConflict(f"{ref} moved meanwhile")
