"""Robustness: ``kill -9`` in the middle of a run, and two mlrepro processes at once."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.ops.conftest import Proj, kill_group, stamps, wait_until


@pytest.fixture
def reaper() -> Iterator[list[int]]:
    """Process groups to kill at the end of the test, whatever happens."""
    groups: list[int] = []
    yield groups
    for g in groups:
        kill_group(g)


def started(stamp: Path, name: str) -> dict[str, object] | None:
    return next((e for e in stamps(stamp) if e["name"] == name and e["event"] == "start"), None)


def lock_has(proj: Proj, stage: str) -> bool:
    try:
        doc = yaml.safe_load(proj.lock_text())
    except FileNotFoundError:
        return False
    return stage in ((doc or {}).get("stages") or {})


def workspace_temp_files(proj: Proj) -> list[Path]:
    return [
        p
        for p in proj.root.rglob("*")
        if ("tmp-" in p.name)
        and ".git" not in p.relative_to(proj.root).parts[:1]
        and p.relative_to(proj.root).parts[:2] != (".mlrepro", "cache")
    ]


def test_kill_9_mid_run_then_repro_finishes_the_job(proj: Proj, reaper: list[int]) -> None:
    log = str(proj.ext("runs.log"))
    stamp = proj.ext("stamps.jsonl")
    release = proj.ext("release")
    proj.write("raw.txt", "raw\n")
    proj.pipeline(
        {
            "a": {
                "cmd": proj.cmd(["log", log, "a"], ["cat", "a_out/a.txt", "raw.txt"]),
                "deps": ["raw.txt"],
                "outs": ["a_out"],
            },
            "b": {
                "cmd": proj.cmd(
                    ["log", log, "b"],
                    ["stamp", stamp, "b", "start"],
                    ["write", "b_out/partial.txt", "half-written"],
                    ["waitfor", release, "60"],
                    ["cat", "b_out/b.txt", "a_out/a.txt"],
                ),
                "deps": ["a_out"],
                "outs": ["b_out"],
            },
        }
    )
    first = proj.popen("repro", "-j", "1")
    try:
        wait_until(
            lambda: lock_has(proj, "a") and started(stamp, "b") is not None,
            what="a recorded, b running",
        )
        b = started(stamp, "b")
        assert b is not None
        reaper.append(int(b["pgid"]))  # type: ignore[call-overload]
        os.kill(first.pid, signal.SIGKILL)
        kill_group(int(b["pgid"]))  # type: ignore[call-overload]
        first.wait(timeout=30)
    finally:
        if first.poll() is None:
            first.kill()
        first.communicate()
    assert first.returncode == -signal.SIGKILL

    # what the killed run left: a parseable lock with a, not b
    doc = yaml.safe_load(proj.lock_text())
    assert doc["version"] == 1 and sorted(doc["stages"]) == ["a"]
    assert (proj.root / "b_out" / "partial.txt").exists()

    release.write_text("go")
    proc = proj.ok("repro")
    assert "Running stage 'a'" not in proc.stdout
    assert proj.runs("a") == 1 and proj.runs("b") == 2
    assert sorted(proj.lock()["stages"]) == ["a", "b"]
    assert sorted(p.name for p in (proj.root / "b_out").iterdir()) == ["b.txt", "partial.txt"]
    assert (proj.root / "b_out" / "b.txt").read_text() == "raw\n"
    assert workspace_temp_files(proj) == []
    proj.assert_cache_verifies()
    proj.ok("status", "--check")


def test_second_process_fails_fast_naming_the_holder_then_waits(
    proj: Proj, reaper: list[int]
) -> None:
    stamp = proj.ext("stamps.jsonl")
    release = proj.ext("release")
    proj.pipeline(
        {
            "slow": {
                "cmd": proj.cmd(
                    ["stamp", stamp, "slow", "start"],
                    ["waitfor", release, "60"],
                    ["write", "slow.txt", "s"],
                ),
                "outs": ["slow.txt"],
            },
            "quick": {"cmd": proj.cmd(["write", "quick.txt", "q"]), "outs": ["quick.txt"]},
        }
    )
    first = proj.popen("repro", "slow")
    waiter: subprocess.Popen[str] | None = None
    try:
        wait_until(lambda: started(stamp, "slow") is not None, what="slow stage started")
        reaper.append(int(started(stamp, "slow")["pgid"]))  # type: ignore[index, call-overload]

        busy = proj.fails("repro", "quick")
        (line, *_) = busy.stderr.splitlines()
        assert line.startswith("error: another mlrepro process"), busy.stderr
        assert f"pid {first.pid}" in line
        assert "hint: " in busy.stderr and "--wait" in busy.stderr
        assert not (proj.root / "quick.txt").exists()
        # the other commands that write are refused the same way
        assert f"pid {first.pid}" in proj.fails("checkout").stderr

        waiter = proj.popen("repro", "quick", "--wait", "30")
        with pytest.raises(subprocess.TimeoutExpired):
            waiter.wait(timeout=0.5)  # still waiting for the lock, not failed
        release.write_text("go")
        _, err = waiter.communicate(timeout=60)
        assert waiter.returncode == 0, err
        assert first.wait(timeout=60) == 0
    finally:
        for p in (first, waiter):
            if p is not None and p.poll() is None:
                p.kill()
            if p is not None:
                p.communicate()
    assert sorted(proj.locked_stages()) == ["quick", "slow"]
    assert (proj.root / "quick.txt").read_text() == "q"


def test_lock_is_free_right_after_kill_9(proj: Proj, reaper: list[int]) -> None:
    stamp = proj.ext("stamps.jsonl")
    release = proj.ext("release")
    proj.pipeline(
        {
            "slow": {
                "cmd": proj.cmd(
                    ["stamp", stamp, "slow", "start"],
                    ["waitfor", release, "60"],
                    ["write", "slow.txt", "s"],
                ),
                "outs": ["slow.txt"],
            },
            "quick": {"cmd": proj.cmd(["write", "quick.txt", "q"]), "outs": ["quick.txt"]},
        }
    )
    first = proj.popen("repro", "slow")
    try:
        wait_until(lambda: started(stamp, "slow") is not None, what="slow stage started")
        pgid = int(started(stamp, "slow")["pgid"])  # type: ignore[index, call-overload]
        reaper.append(pgid)
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=30)
        # only mlrepro died: its stage's command is still running, and must not hold the lock
        os.killpg(pgid, 0)
        proj.ok("repro", "quick")
        assert proj.read("quick.txt") == "q"
    finally:
        if first.poll() is None:
            first.kill()
        first.communicate()
    assert "slow" not in proj.locked_stages()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupt_stops_running_stages_and_keeps_finished_ones(
    proj: Proj, reaper: list[int], sig: signal.Signals
) -> None:
    log = str(proj.ext("runs.log"))
    stamp = proj.ext("stamps.jsonl")
    never = proj.ext("never")
    proj.pipeline(
        {
            "a": {
                "cmd": proj.cmd(["log", log, "a"], ["write", "a.txt", "a"]),
                "deps": [str(proj.tool)],  # not a callback stage: those always run
                "outs": ["a.txt"],
            },
            "b": {
                "cmd": proj.cmd(
                    ["stamp", stamp, "b", "start"],
                    ["waitfor", never, "60"],
                    ["write", "b.txt", "b"],
                ),
                "deps": ["a.txt"],
                "outs": ["b.txt"],
            },
            "c": {
                "cmd": proj.cmd(["log", log, "c"], ["write", "c.txt", "c"]),
                "deps": ["b.txt"],
                "outs": ["c.txt"],
            },
        }
    )
    first = proj.popen("repro")
    try:
        wait_until(lambda: started(stamp, "b") is not None, what="b started")
        pgid = int(started(stamp, "b")["pgid"])  # type: ignore[index, call-overload]
        reaper.append(pgid)
        first.send_signal(sig)
        _, err = first.communicate(timeout=60)
    finally:
        if first.poll() is None:
            first.kill()
            first.communicate()
    assert first.returncode == 130, err
    assert "Traceback" not in err
    assert "interrupted" in err

    def group_gone() -> bool:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        return False

    wait_until(group_gone, what="b's process group to be stopped")
    assert sorted(proj.locked_stages()) == ["a"]
    assert proj.runs("c") == 0
    assert not (proj.root / "b.txt").exists()
    # the repository is not left locked, and the next run picks up where this one stopped
    never.write_text("go")
    proj.ok("repro")
    assert proj.runs("a") == 1 and proj.runs("c") == 1


@pytest.mark.slow  # three kill -9 trials, each a checkout of 4,000 files
def test_kill_9_during_checkout_of_a_folder_leaves_it_absent_or_whole(proj: Proj) -> None:
    """The folder is built in scratch space and renamed into place: at no moment does
    the workspace hold part of it. A new checkout sweeps the scratch space."""
    proj.pipeline({"b": {"cmd": proj.cmd(["mkfiles", "big", "4000", "x"]), "outs": ["big"]}})
    proj.ok("repro")
    want = sorted(p.relative_to(proj.root).as_posix() for p in (proj.root / "big").rglob("*"))
    tmp = proj.root / ".mlrepro" / "tmp"
    interrupted = 0
    for attempt in range(3):
        shutil.rmtree(proj.root / "big")
        child = proj.popen("checkout")
        try:
            wait_until(
                lambda child=child: (
                    any(p.name.startswith("restore-") for p in tmp.iterdir())
                    or child.poll() is not None
                ),
                timeout=30,
                what="checkout to start building the folder",
            )
            time.sleep(0.05 * attempt)
        finally:
            child.kill()
            child.communicate()
        big = proj.root / "big"
        if big.exists():  # it finished first: then it is complete
            got = sorted(p.relative_to(proj.root).as_posix() for p in big.rglob("*"))
            assert got == want
        else:
            interrupted += 1
        proj.ok("checkout")
        assert sorted(p.relative_to(proj.root).as_posix() for p in big.rglob("*")) == want
        assert [p.name for p in tmp.iterdir() if p.name.startswith("restore-")] == []
        proj.ok("status", "--check")
    assert interrupted, "no attempt was killed mid-build: the test proved nothing"
