"""One process at a time (mlrepro.workspace.repolock), with two real processes: a
child that takes the lock and holds it until told, and this test process."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlrepro.workspace.repolock import RepoLock, RepositoryBusyError

HOLDER = textwrap.dedent(
    """
    import sys
    from mlrepro.workspace.repolock import RepoLock
    lock = RepoLock(sys.argv[1])
    lock.acquire()
    print("held", flush=True)
    if sys.stdin.readline().strip() == "release":
        lock.release()
        print("released", flush=True)
        sys.stdin.readline()
    """
)


class Holder:
    def __init__(self, state_dir: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", HOLDER, str(state_dir), "--extra", "arg"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        assert self.proc.stdout.readline() == "held\n"

    def say(self, line: str) -> str:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return self.proc.stdout.readline()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=30)
        for f in (self.proc.stdin, self.proc.stdout):
            if f is not None:
                f.close()


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[Holder]:
    h = Holder(tmp_path)
    yield h
    h.stop()


def test_a_second_process_is_refused_with_the_holder_named(tmp_path: Path, holder: Holder) -> None:
    with pytest.raises(RepositoryBusyError) as err:
        RepoLock(str(tmp_path)).acquire()
    message = str(err.value)
    assert f"pid {holder.proc.pid} on {socket.gethostname()}" in message
    assert f"`mlrepro {tmp_path} --extra arg` since " in message  # its command line
    assert "--wait" in (err.value.hint or "")


def test_a_waiting_process_gets_the_lock_once_released(tmp_path: Path, holder: Holder) -> None:
    lock = RepoLock(str(tmp_path), wait=30)
    assert holder.say("release") == "released\n"
    start = time.monotonic()
    with lock:
        info = json.loads((tmp_path / "tmp" / "repo.lock").read_text())
        assert info["pid"] == os.getpid()
        assert set(info) == {"pid", "host", "command", "since"}
    assert time.monotonic() - start < 30
    # released on exit: the file no longer names a holder
    assert (tmp_path / "tmp" / "repo.lock").read_bytes() == b""


def test_a_killed_holder_leaves_no_lock_behind(tmp_path: Path, holder: Holder) -> None:
    os.kill(holder.proc.pid, signal.SIGKILL)
    holder.proc.wait(timeout=30)
    # the file still names the dead holder, but the kernel dropped its flock
    assert json.loads((tmp_path / "tmp" / "repo.lock").read_text())["pid"] == holder.proc.pid
    with RepoLock(str(tmp_path)):
        pass


def test_the_wait_is_bounded(tmp_path: Path, holder: Holder) -> None:
    start = time.monotonic()
    with pytest.raises(RepositoryBusyError):
        RepoLock(str(tmp_path), wait=0.3).acquire()
    assert time.monotonic() - start >= 0.3


def test_a_lock_file_without_a_holder_record_says_unknown(tmp_path: Path) -> None:
    (tmp_path / "tmp").mkdir()
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, os, sys; fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT);"
            " fcntl.flock(fd, fcntl.LOCK_EX); print('held', flush=True); sys.stdin.read()",
            str(tmp_path / "tmp" / "repo.lock"),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None and child.stdout.readline() == "held\n"
        with pytest.raises(RepositoryBusyError, match="holder unknown"):
            RepoLock(str(tmp_path)).acquire()
    finally:
        child.kill()
        child.communicate(timeout=30)


def test_the_same_process_releases_and_takes_it_again(tmp_path: Path) -> None:
    lock = RepoLock(str(tmp_path))
    lock.acquire()
    with pytest.raises(RepositoryBusyError):  # flock is per open file: a second one waits
        RepoLock(str(tmp_path)).acquire()
    lock.release()
    lock.release()  # twice is harmless
    with RepoLock(str(tmp_path)):
        pass
