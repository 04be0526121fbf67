"""The transfer progress line: what it says, how often it is drawn, and that it is
erased; and that a command shows it on a terminal only."""

from __future__ import annotations

import io
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from mlrepro.render import progress
from mlrepro.render.progress import TransferBar, human_size


def test_sizes_read_as_people_read_them() -> None:
    assert human_size(0) == "0 B"
    assert human_size(1023) == "1023 B"
    assert human_size(1536) == "1.5 KiB"
    assert human_size(5 << 20) == "5.0 MiB"
    assert human_size(3 << 40) == "3072.0 GiB"


def test_the_line_has_objects_bytes_rate_and_time_left(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = iter([100.0, 100.0, 102.0, 102.0])
    monkeypatch.setattr(progress.time, "monotonic", lambda: next(clock))
    out = io.StringIO()
    bar = TransferBar("pushing", out, enabled=True)
    bar.total(10, 10 << 20)
    bar.advance(5, 4 << 20)  # 4 MiB in 2 s: 2 MiB/s, 6 MiB left: 3 s
    line = out.getvalue().split("\r")[-1]
    assert line.strip() == "pushing 5/10 objects, 4.0 MiB/10.0 MiB, 2.0 MiB/s, 0:00:03 left"
    bar.close()
    assert out.getvalue().endswith("\r")  # erased: the summary line starts clean


def test_it_is_drawn_at_most_ten_times_a_second_but_always_at_the_end(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(progress.time, "monotonic", lambda: 5.0)  # time stands still
    out = io.StringIO()
    bar = TransferBar("fetching", out, enabled=True)
    bar.total(100, 0)
    for _ in range(100):
        bar.advance(1, 0)
    drawn = out.getvalue().split("\r")[1:]
    assert len(drawn) == 2  # the first one, and the last
    assert "100/100 objects" in drawn[-1]


def test_nothing_is_written_when_disabled() -> None:
    out = io.StringIO()
    bar = TransferBar("pushing", out, enabled=False)
    bar.total(3, 3)
    bar.advance(3, 3)
    bar.close()
    assert out.getvalue() == ""


@pytest.mark.slow
def test_push_shows_the_line_on_a_terminal_and_not_in_a_pipe(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com"}
    env |= {"GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}

    def run(*args: str, **kw: object) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [sys.executable, "-m", "mlrepro", *args], cwd=repo, env=env, check=True, **kw  # type: ignore[call-overload]
        )

    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    for i in range(50):
        (repo / "data").mkdir(exist_ok=True)
        (repo / "data" / f"{i}.txt").write_text(f"{i}\n")
    run("init", capture_output=True)
    run("add", "data", capture_output=True)
    run("remote", "add", "-d", "r", str(tmp_path / "remote"), capture_output=True)
    piped = run("push", capture_output=True)
    assert b"\r" not in piped.stderr and b"51 files pushed" in piped.stdout
    (tmp_path / "remote").rename(tmp_path / "old")  # an empty remote again, and no record
    for record in (repo / ".mlrepro" / "state" / "remotes").iterdir():
        record.unlink()
    parent, child = pty.openpty()
    try:
        done = run("push", stdout=subprocess.PIPE, stderr=child)
        os.close(child)
        child = -1
        shown = b""
        while True:
            try:
                chunk = os.read(parent, 4096)
            except OSError:
                break
            if not chunk:
                break
            shown += chunk
    finally:
        if child != -1:
            os.close(child)
        os.close(parent)
    assert b"pushing " in shown and b"/51 objects" in shown
    assert b"51 files pushed" in done.stdout
