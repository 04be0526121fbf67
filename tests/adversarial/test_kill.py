"""kill -9 at random moments of repro, add, checkout and gc (issue 15's attack classes).

Each trial kills the command's whole process group after a random delay within the time
the command takes uninterrupted (measured first), then checks what must hold whatever the
moment: every cache object hashes to its name, the lock file reads, the audit log
verifies, nothing half-written is left in the workspace, and running the command again
gives exactly the uninterrupted result. The delays come from a fixed seed, so a failure
names the trial that found it and can be replayed.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import time
from collections.abc import Callable

import pytest

from tests.ops.conftest import Proj, tree_bytes

TRIALS = 4


def timed(proj: Proj, *args: str) -> float:
    start = time.monotonic()
    proj.ok(*args)
    return time.monotonic() - start


def kill_after(proj: Proj, delay: float, *args: str) -> int | None:
    """Run ``mlrepro ARGS``, kill -9 its process group after ``delay`` seconds; its exit
    status when it finished first, else None."""
    child = proj.popen(*args, start_new_session=True)
    try:
        child.wait(timeout=delay)
        child.communicate()
        return child.returncode
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)
        child.communicate()
        return None


def assert_sound(proj: Proj) -> None:
    proj.assert_cache_verifies()
    proj.ok("cache", "verify")
    proj.ok("status")  # the lock file and the stat cache read
    assert proj.ok("audit", "verify").stdout.startswith("audit log OK")
    leftovers = [
        p
        for p in proj.root.rglob("*")
        if ".mlrepro-" in p.name or p.name.startswith(".tmp-") or "mlrepro-unshare" in p.name
    ]
    assert leftovers == [], leftovers


def pipeline(proj: Proj, prefix: str = "v1-") -> None:
    log = str(proj.ext("runs.log"))
    proj.write("raw/a.txt", "raw a\n")
    proj.params({"n": 1})
    proj.pipeline(
        {
            "make": {
                "cmd": proj.cmd(["log", log, "make"], ["mkfiles", "many", "600", prefix]),
                "deps": ["raw"],
                "outs": ["many"],
            },
            "sum": {
                "cmd": proj.cmd(["log", log, "sum"], ["param", "sum/n.json", "params.yaml", "n"]),
                "deps": ["many"],
                "params": ["n"],
                "outs": ["sum"],
            },
        }
    )
    proj.commit("pipeline")


def reference(proj: Proj) -> dict[str, bytes]:
    return {**tree_bytes(proj.root / "many"), **tree_bytes(proj.root / "sum")}


Scenario = Callable[[Proj], None]


def trial(proj: Proj, reset: Scenario, args: tuple[str, ...], rng: random.Random) -> bool:
    """One kill -9 of ``args`` after ``reset``; True when it was killed mid-way."""
    reset(proj)
    took = timed(proj, *args)
    reset(proj)
    killed = kill_after(proj, rng.uniform(0.0, took), *args) is None
    if killed:
        assert_sound(proj)
        proj.ok(*args)
    assert_sound(proj)
    return killed


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
def test_kill_9_during_repro(proj: Proj, seed: int) -> None:
    pipeline(proj)
    proj.ok("repro")
    want = reference(proj)

    def reset(p: Proj) -> None:
        p.ok("repro")  # whatever a kill left, finish it first
        p.write("raw/a.txt", f"raw a {time.monotonic()}\n")

    rng = random.Random(seed)
    killed = sum(trial(proj, reset, ("repro", "--no-run-cache"), rng) for _ in range(TRIALS))
    assert killed, "no trial was killed mid-way: the test proved nothing"
    assert reference(proj) == want  # the commands write the same bytes whatever raw holds


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
def test_kill_9_during_add(proj: Proj, seed: int) -> None:
    proj.ok("status")
    data = proj.root / "data"

    def reset(p: Proj) -> None:
        shutil.rmtree(p.root / ".mlrepro" / "cache", ignore_errors=True)
        (p.root / "mlrepro.lock").unlink(missing_ok=True)
        if not data.exists():
            for i in range(2000):
                d = data / f"d{i % 20}"
                d.mkdir(parents=True, exist_ok=True)
                (d / f"f{i}.txt").write_text(f"file {i}\n")

    rng = random.Random(seed)
    killed = sum(trial(proj, reset, ("add", "data"), rng) for _ in range(TRIALS))
    assert killed, "no trial was killed mid-way: the test proved nothing"
    assert len(list(data.rglob("*.txt"))) == 2000


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
def test_kill_9_during_checkout(proj: Proj, seed: int) -> None:
    pipeline(proj)
    proj.ok("repro")
    want = reference(proj)

    def reset(p: Proj) -> None:
        shutil.rmtree(p.root / "many", ignore_errors=True)
        shutil.rmtree(p.root / "sum", ignore_errors=True)

    rng = random.Random(seed)
    killed = sum(trial(proj, reset, ("checkout",), rng) for _ in range(TRIALS))
    assert killed, "no trial was killed mid-way: the test proved nothing"
    assert reference(proj) == want


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
def test_kill_9_during_gc(proj: Proj, seed: int) -> None:
    pipeline(proj)
    proj.ok("repro")
    rng = random.Random(seed)

    def reset(p: Proj) -> None:
        # a new output folder each time: the last one's 600 objects become garbage
        p.ok("gc", "-w", "-f")
        pipeline(p, prefix=f"v{rng.random()}-")
        p.ok("repro")

    killed = sum(trial(proj, reset, ("gc", "-w", "-f"), rng) for _ in range(TRIALS))
    assert killed, "no trial was killed mid-way: the test proved nothing"
    shutil.rmtree(proj.root / "many")
    proj.ok("checkout")  # what the workspace needs survived every kill
    proj.ok("status", "--check")
