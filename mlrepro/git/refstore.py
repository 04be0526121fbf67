"""Git objects written and read directly, for data that lives under a ref of its own.

The audit log is stored as commits on ``refs/mlrepro/audit`` whose trees hold its
entries. A publication is one ``git fast-import``: it adds files to the ref's tree
in a new commit, writes every object in one pack, and moves the ref only if it
still points where the commit's parent says (compare-and-swap). Merges of two logs
write their few objects as loose objects in-process, exactly as git writes them
(zlib of ``<kind> <size>\\0<data>`` under its SHA-1, by an atomic rename).

This module deliberately does not import GitPython: recording an action must cost
a command almost nothing (GitPython's import alone is about 90 ms), and the handful
of plumbing calls needs no library. How git processes are started, here and
elsewhere, is :mod:`mlrepro.git.process`.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import subprocess
import time
import zlib
from functools import cached_property
from typing import IO

from mlrepro.errors import MlreproError
from mlrepro.git.process import fast_import_env, git_path, spawn_args

AUDIT_REF = "refs/mlrepro/audit"
TREE = 0o40000
BLOB = 0o100644
ZERO = "0" * 40

TreeItem = tuple[bytes, int, str]  # (binary object id, mode, name)


class RefConflict(MlreproError):
    """The ref moved while we were writing."""


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


# seconds after which a ref's lock file is taken for one a killed git left behind
STALE_LOCK = 1.0


class RefStore:
    def __init__(self, root: str) -> None:
        self.root = root

    @cached_property
    def common_dir(self) -> str:
        """The folder that holds the repository's objects and shared refs (the same
        for every linked work tree)."""
        common = self._git("rev-parse", "--git-common-dir", check=False)
        if common is None:
            raise MlreproError(f"'{self.root}' is not inside a git repository")
        return os.path.join(self.root, common.strip())

    @cached_property
    def objects(self) -> str:
        return os.path.join(self.common_dir, "objects")

    def clear_stale_lock(self, ref: str) -> bool:
        """Remove the lock file git left beside ``ref`` when the process updating it was
        killed (git never removes one itself: every later update of the ref fails with
        "cannot lock ref"); whether there was one.

        A live git holds a ref's lock for milliseconds, so a lock is taken for stale
        once it is :data:`STALE_LOCK` seconds old; a younger one is waited for, and
        removed only if it is still the same file by then. Callers hold the
        repository's own lock, so no mlrepro command of this work tree is the one
        holding it; the wait covers another work tree's command or a user's git."""
        path = os.path.join(self.common_dir, *ref.split("/")) + ".lock"
        try:
            seen = os.stat(path)
        except OSError:
            return False
        if not stat.S_ISREG(seen.st_mode):
            return False  # not a lock git made: left for the user to look at
        age = time.time() - seen.st_mtime
        if age < STALE_LOCK:
            time.sleep(STALE_LOCK - max(age, 0.0))
        try:
            now = os.stat(path)
            if (now.st_ino, now.st_mtime_ns) != (seen.st_ino, seen.st_mtime_ns):
                return False  # a new lock: someone is updating the ref right now
            os.unlink(path)
        except FileNotFoundError:
            return False  # its owner finished meanwhile
        return True

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

    def push(self, remote: str, ref: str) -> str | None:
        """Push ``ref`` to the same name on ``remote``: None when it went through, else the
        reason the remote refused it, as git words it (``fetch first``, ``non-fast-forward``).
        A push that could not be made at all raises, with git's first error line."""
        proc = subprocess.run(
            ["git", "push", "--porcelain", remote, f"{ref}:{ref}"],
            cwd=self.root,
            capture_output=True,
            check=False,
        )
        if proc.returncode == 0:
            return None
        # --porcelain: one "FLAG<TAB>FROM:TO<TAB>SUMMARY (REASON)" line per ref; "!" refused
        for line in proc.stdout.decode(errors="replace").splitlines():
            fields = line.split("\t")
            if len(fields) >= 3 and fields[0] == "!":
                summary = fields[2]
                return summary[summary.find("(") + 1 : -1] if summary.endswith(")") else summary
        lines = proc.stderr.decode(errors="replace").splitlines()
        first = next((ln for ln in lines if ln.startswith(("fatal:", "error:"))), None)
        raise MlreproError(
            (first or (lines[0] if lines else f"git push exited with {proc.returncode}"))
            .removeprefix("fatal: ")
            .removeprefix("error: ")
        )

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

    def add_files(
        self,
        ref: str,
        parent: str | None,
        files: list[tuple[str, bytes]],
        message: str,
        stamp: int,
    ) -> None:
        """A commit on top of ``parent`` (None: a first commit) whose tree is the
        parent's plus ``files`` (path, bytes), made the tip of ``ref`` only if ``ref``
        still points at ``parent``: :class:`RefConflict` when it moved."""
        stream = _commit_command(ref, parent, message, stamp)
        for path, data in files:
            stream += [b"M 100644 inline ", path.encode(), b"\ndata %d\n" % len(data), data, b"\n"]
        stream.append(b"done\n")
        proc = subprocess.run(
            [git_path(), *_FAST_IMPORT],
            cwd=self.root,
            input=b"".join(stream),
            capture_output=True,
            check=False,
            env=fast_import_env(),
        )
        _check_import(ref, proc.returncode, proc.stderr)

    def start_import(self) -> Import:
        """A ``git fast-import`` to send blobs to now and commit them later."""
        return Import(self.root)

    def delete(self, ref: str) -> None:
        """Remove ``ref`` (nothing happens when there is none)."""
        self._git("update-ref", "-d", ref, check=False)

    def move(self, ref: str, new: str, old: str | None) -> None:
        """Point ``ref`` at ``new`` if it still points at ``old`` (None: did not exist)."""
        for _attempt in range(2):
            if self._git("update-ref", ref, new, old or ZERO, check=False) is not None:
                return
            if not self.clear_stale_lock(ref):
                break
        raise RefConflict(f"{ref} moved meanwhile")


# level 1: the packs hold small JSON files and deltas, where zlib's default level
# costs more time than it saves space
_FAST_IMPORT = ("-c", "pack.compression=1", "fast-import", "--quiet", "--done")


def _commit_command(ref: str, parent: str | None, message: str, stamp: int) -> list[bytes]:
    who = f"mlrepro <audit@mlrepro.invalid> {stamp} +0000".encode()
    msg = message.encode()
    stream = [b"commit ", ref.encode(), b"\ncommitter ", who, b"\n"]
    stream += [b"data %d\n" % len(msg), msg, b"\n"]
    if parent:
        stream += [b"from ", parent.encode(), b"\n"]
    return stream


def _check_import(ref: str, code: int, stderr: bytes) -> None:
    if code == 0:
        return
    why = stderr.decode(errors="replace").strip()
    # fast-import refuses to move a ref to a commit that does not contain its tip,
    # and its ref update is itself a compare-and-swap
    if "Not updating" in why or "cannot lock ref" in why:
        raise RefConflict(f"{ref} moved meanwhile")
    raise MlreproError(f"git fast-import failed: {why.splitlines()[-1] if why else '?'}")


class Import:
    """A ``git fast-import`` that receives blobs as they are made and commits them at
    the end (:meth:`commit`), instead of receiving everything at once.

    fast-import compresses, deltifies and packs each blob as it arrives, in its own
    process, while the caller goes on with its work; only the commit (trees, the
    pack's end, the ref update) is left for the end. The commit moves the ref under
    the same compare-and-swap as :meth:`RefStore.add_files`. Until then nothing is
    visible: an import that is abandoned, or whose caller dies, ends at the end of
    its input without a ``done`` and moves no ref (``--done``)."""

    def __init__(self, root: str) -> None:
        self._proc = subprocess.Popen(
            spawn_args(root, *_FAST_IMPORT),
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            bufsize=16384,  # blobs go out a few at a time: fast-import works on them meanwhile
            close_fds=False,  # posix_spawn (see spawn_args)
            env=fast_import_env(),
        )
        self.marks = 0
        self.broken = False  # a blob could not be sent: commit() would be incomplete

    def blob(self, data: bytes) -> int:
        """Send a blob; its mark, for :meth:`commit` (0 once the import is broken)."""
        if self.broken:
            return 0
        self.marks += 1
        try:
            assert self._proc.stdin is not None
            self._proc.stdin.write(b"blob\nmark :%d\ndata %d\n%s\n" % (self.marks, len(data), data))
        except OSError:  # fast-import is gone (git broken, or killed)
            self.broken = True
            return 0
        return self.marks

    def commit(
        self, ref: str, parent: str | None, files: list[tuple[str, int]], message: str, stamp: int
    ) -> None:
        """Commit the blobs sent, as ``files`` (path, mark), like
        :meth:`RefStore.add_files`; the import is over after this."""
        if self.broken:
            self.abandon()
            raise MlreproError("git fast-import stopped early")
        stream = _commit_command(ref, parent, message, stamp)
        stream += [b"M 100644 :%d %s\n" % (mark, path.encode()) for path, mark in files]
        stream.append(b"done\n")
        proc = self._proc
        assert proc.stdin is not None and proc.stderr is not None
        try:
            proc.stdin.write(b"".join(stream))
            proc.stdin.close()  # sends what is still buffered
        except OSError:
            _close_quietly(proc.stdin)  # it stopped: its exit status and message say why
        err = proc.stderr.read()
        proc.stderr.close()
        _check_import(ref, proc.wait(), err)

    def abandon(self) -> None:
        """Stop without committing anything."""
        proc = self._proc
        if proc.returncode is None:
            proc.kill()
        for pipe in (proc.stdin, proc.stderr):
            if pipe is not None:
                _close_quietly(pipe)
        proc.wait()


def _close_quietly(pipe: IO[bytes]) -> None:
    """Close a pipe whose reader may be gone (what is left in its buffer is dropped)."""
    try:
        pipe.close()
    except OSError:
        with contextlib.suppress(OSError):
            pipe.close()  # the failed flush left it open; a second close only closes
