"""Objects read through one long-lived ``git cat-file --batch``, without GitPython.

For callers that ask git for a few objects at unpredictable moments of a command
(the run-cache asking for the audit entries it is bound to): one process, started
at the first question and kept for the command's others, and questions asked
together (:meth:`CatFile.ask`) sent before the first answer is read, so the caller
waits for git once per group, not once per object.
"""

from __future__ import annotations

import subprocess
from typing import IO

from mlrepro.git.process import spawn_args

Answer = tuple[bytes, bytes] | None  # (kind, bytes), None: no such object


class CatFile:
    """Objects by name (an id, ``<rev>:<path>``...), from the repository at ``root``.
    Used from one thread; :meth:`close` stops its git process (which also ends by
    itself when this process does, at the end of its input). Once git could not be
    started or stopped answering, every answer is None."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.id_size = 20  # bytes of an object id, as git last answered (32 in SHA-256)
        self._proc: subprocess.Popen[bytes] | None = None
        self._broken = False

    def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        assert proc.stdin is not None and proc.stdout is not None
        try:
            proc.stdin.close()  # cat-file ends at the end of its input
        except OSError:
            proc.kill()
        proc.stdout.close()
        proc.wait()

    def __enter__(self) -> CatFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def ask(self, names: list[str]) -> list[Answer]:
        """(kind, bytes) of the object each of ``names`` names, all sent before any
        answer is read. The caller keeps a group small enough that the requests do not
        fill the pipe to git while it waits for its answers to be read (64 KiB)."""
        proc = self._batch()
        if proc is None:
            return [None] * len(names)
        assert proc.stdin is not None and proc.stdout is not None
        try:
            proc.stdin.write(b"".join(n.encode("utf-8", "surrogateescape") + b"\n" for n in names))
            proc.stdin.flush()
            return [self._answer(proc.stdout) for _ in names]
        except (OSError, ValueError):
            self._broken = True
            self.close()
            return [None] * len(names)

    def _answer(self, out: IO[bytes]) -> Answer:
        header = out.readline()
        if not header.endswith(b"\n"):
            raise OSError("git cat-file stopped")
        parts = header.split()
        if len(parts) != 3 or not parts[2].isdigit():
            return None  # "<name> missing", "<name> ambiguous"
        size = int(parts[2])
        self.id_size = len(parts[0]) // 2
        data = out.read(size + 1)
        if len(data) != size + 1:
            raise OSError("git cat-file stopped")
        return parts[1], data[:size]

    def _batch(self) -> subprocess.Popen[bytes] | None:
        if self._proc is None and not self._broken:
            try:
                self._proc = subprocess.Popen(
                    spawn_args(self.root, "--no-optional-locks", "cat-file", "--batch"),
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL,
                    close_fds=False,  # posix_spawn (see spawn_args)
                )
            except OSError:
                self._broken = True
        return self._proc
