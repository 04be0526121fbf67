"""One mlrepro process at a time may change a repository.

An exclusive ``flock`` on ``.mlrepro/tmp/repo.lock``. The kernel releases it
when the holder exits, however it exits (``kill -9`` included), so a lock is
never left behind. The file records who holds it, to name the holder when
another process has to wait or give up.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import sys
import time
from types import TracebackType

from mlrepro.errors import MlreproError


class RepositoryBusyError(MlreproError):
    pass


class RepoLock:
    def __init__(self, state_dir: str, *, wait: float = 0.0) -> None:
        self.path = os.path.join(state_dir, "tmp", "repo.lock")
        self.wait = wait
        self._fd: int | None = None

    def acquire(self) -> None:
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + self.wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = _describe_holder(fd)
                    os.close(fd)
                    raise RepositoryBusyError(
                        f"another mlrepro process is working in this repository ({holder})",
                        hint="wait for it to finish, or pass --wait SECONDS",
                    ) from None
                time.sleep(0.1)
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "command": " ".join(["mlrepro", *sys.argv[1:]])[:200],
            "since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(info).encode(), 0)
        except OSError:
            # who holds the lock is only told to a process that has to wait; on a full
            # disk the flock above is the lock, and `gc` must still get it (issue 15)
            pass
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> RepoLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def _describe_holder(fd: int) -> str:
    try:
        info = json.loads(os.pread(fd, 4096, 0) or b"{}")
        return f"pid {info['pid']} on {info['host']}, `{info['command']}` since {info['since']}"
    except (ValueError, KeyError, OSError):
        return "holder unknown"
