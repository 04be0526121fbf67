"""``repro -j N``: independent stages overlap in time; dependants wait for their inputs.

No wall-clock assertions: every stage writes its own start and end times
(outside the repository) and the tests compare those intervals.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest

from tests.ops.conftest import Proj, stamps

N = 3


def fan_in(proj: Proj, sleep: float = 1.0) -> Path:
    stamp = proj.ext("stamps.jsonl")
    stages: dict[str, Any] = {}
    for i in range(N):
        name = f"s{i}"
        stages[name] = {
            "cmd": proj.cmd(
                ["stamp", stamp, name, "start"],
                ["sleep", sleep],
                ["write", f"{name}.txt", name],
                ["stamp", stamp, name, "end"],
            ),
            "outs": [f"{name}.txt"],
        }
    stages["join"] = {
        "cmd": proj.cmd(
            ["stamp", stamp, "join", "start"],
            ["cat", "join.txt", *[f"s{i}.txt" for i in range(N)]],
            ["stamp", stamp, "join", "end"],
        ),
        "deps": [f"s{i}.txt" for i in range(N)],
        "outs": ["join.txt"],
    }
    proj.pipeline(stages)
    return stamp


def intervals(stamp: Path) -> dict[str, tuple[float, float]]:
    events: dict[str, dict[str, float]] = {}
    for e in stamps(stamp):
        events.setdefault(e["name"], {})[e["event"]] = e["t"]
    return {name: (ev["start"], ev["end"]) for name, ev in events.items()}


def test_independent_stages_overlap_with_jobs(proj: Proj) -> None:
    stamp = fan_in(proj)
    proj.ok("repro", "-j", str(N))
    iv = intervals(stamp)
    independent = [iv[f"s{i}"] for i in range(N)]
    # all N were running at one moment: the last to start started before the first to end ended
    assert max(s for s, _ in independent) < min(e for _, e in independent), iv
    # the join waited for every input
    assert iv["join"][0] >= max(e for _, e in independent)
    assert proj.read("join.txt") == "s0s1s2"
    assert sorted(proj.locked_stages()) == ["join", "s0", "s1", "s2"]


def test_jobs_one_runs_one_stage_at_a_time(proj: Proj) -> None:
    stamp = fan_in(proj, sleep=0.2)
    proj.ok("repro", "-j", "1")
    ordered = sorted(intervals(stamp).values())
    for (_, end), (start, _) in itertools.pairwise(ordered):
        assert start >= end, ordered


@pytest.mark.slow
def test_jobs_limit_is_respected(proj: Proj) -> None:
    stamp = fan_in(proj, sleep=0.5)
    proj.ok("repro", "-j", "2")
    iv = intervals(stamp)
    # never more than two stages inside their command at once
    points = sorted([(s, 1) for s, _ in iv.values()] + [(e, -1) for _, e in iv.values()])
    running = peak = 0
    for _, delta in points:
        running += delta
        peak = max(peak, running)
    assert peak == 2, iv


def test_a_failure_lets_running_stages_finish_and_records_them(proj: Proj) -> None:
    stamp = proj.ext("stamps.jsonl")
    proj.pipeline(
        {
            # a_bad fails once b_slow is surely running; b_slow then finishes; c_later never starts
            "a_bad": {
                "cmd": proj.cmd(["waitfor", stamp, "60"], ["fail", "2"]),
                "outs": ["a.txt"],
            },
            "b_slow": {
                "cmd": proj.cmd(
                    ["stamp", stamp, "b_slow", "start"], ["sleep", "0.5"], ["write", "b.txt", "b"]
                ),
                "outs": ["b.txt"],
            },
            "c_later": {
                "cmd": proj.cmd(["stamp", stamp, "c_later", "start"], ["write", "c.txt", "c"]),
                "outs": ["c.txt"],
            },
        }
    )
    proc = proj.fails("repro", "-j", "2")
    assert "a_bad" in proc.stderr
    assert sorted(proj.locked_stages()) == ["b_slow"]
    assert proj.read("b.txt") == "b"
    assert [e["name"] for e in stamps(stamp)] == ["b_slow"]
