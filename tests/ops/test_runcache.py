"""The run-cache: outputs come back from the store when a stage's inputs were seen before."""

from __future__ import annotations

import json
import os

import pytest
import xxhash

from tests.ops.conftest import Proj


def param_stage(proj: Proj, *, persist: bool = False) -> None:
    log = str(proj.ext("runs.log"))
    proj.params({"model": {"lr": 0.1}})
    proj.write("input.txt", "input\n")
    out: object = {"out": {"persist": True}} if persist else "out"
    proj.pipeline(
        {
            "train": {
                "cmd": proj.cmd(
                    ["log", log, "train"],
                    ["param", "out/lr.json", "params.yaml", "model.lr"],
                    ["append", "out/history.txt", "run;"],
                    ["cat", "out/input.copy", "input.txt"],
                ),
                "deps": ["input.txt"],
                "params": ["model.lr"],
                "outs": [out],
            }
        }
    )
    proj.commit("pipeline")


def set_lr(proj: Proj, lr: float) -> None:
    proj.params({"model": {"lr": lr}})


def test_changing_a_param_back_restores_without_running(proj: Proj) -> None:
    param_stage(proj)
    proj.ok("repro")
    lock_a = proj.lock_text()
    assert proj.read("out/lr.json") == "0.1"
    set_lr(proj, 0.2)
    proj.ok("repro")
    assert proj.runs("train") == 2
    assert proj.read("out/lr.json") == "0.2"
    set_lr(proj, 0.1)
    proc = proj.ok("repro")
    assert proj.runs("train") == 2  # the command did not run
    assert "restored from the run-cache" in proc.stdout
    assert "Done: 0 ran, 1 restored" in proc.stdout
    assert proj.read("out/lr.json") == "0.1"
    assert proj.read("out/history.txt") == "run;"
    assert proj.lock_text() == lock_a
    proj.ok("status", "--check")
    # restored files are ordinary writable files, not the read-only cache objects
    restored = proj.root / "out" / "lr.json"
    assert restored.stat().st_mode & 0o200
    assert (
        restored.stat().st_ino
        != proj.object_path("xxh3-128:" + xxhash.xxh3_128_hexdigest(b"0.1")).stat().st_ino
    )
    proj.assert_cache_verifies()


def test_no_run_cache_forces_running(proj: Proj) -> None:
    param_stage(proj)
    proj.ok("repro")
    set_lr(proj, 0.2)
    proj.ok("repro")
    set_lr(proj, 0.1)
    proc = proj.ok("repro", "--no-run-cache")
    assert proj.runs("train") == 3
    assert "Done: 1 ran, 0 restored" in proc.stdout
    assert proj.read("out/lr.json") == "0.1"


def test_run_cache_works_across_git_branches(proj: Proj) -> None:
    param_stage(proj)
    proj.ok("repro")
    proj.commit("lr 0.1")
    proj.git("checkout", "-q", "-b", "exp")
    set_lr(proj, 0.3)
    proj.ok("repro")
    proj.commit("lr 0.3")
    proj.git("checkout", "-q", "main")
    assert proj.read("out/lr.json") == "0.3"  # ignored outputs stay as they were
    proj.ok("repro")
    assert proj.runs("train") == 2
    assert proj.read("out/lr.json") == "0.1"


def test_run_cache_entries_are_versioned_json(proj: Proj) -> None:
    param_stage(proj)
    proj.ok("repro")
    (entry,) = proj.run_entries()
    doc = json.loads(entry.read_bytes())
    assert doc["version"] == 1
    assert [o["path"] for o in doc["outs"]] == ["out"]
    assert doc["outs"][0]["digest"] == proj.out_record("train", "out")["digest"]


# -- where mlrepro should follow DVC (dvc/stage/run.py, dvc/stage/cache.py) -------


def test_force_runs_the_command(proj: Proj) -> None:
    param_stage(proj)
    proj.ok("repro")
    proj.ok("repro", "-f")
    assert proj.runs("train") == 2


def test_persist_outputs_are_never_restored_from_the_run_cache(proj: Proj) -> None:
    param_stage(proj, persist=True)
    proj.ok("repro")
    set_lr(proj, 0.2)
    proj.ok("repro")
    assert proj.read("out/history.txt") == "run;run;"
    set_lr(proj, 0.1)
    proj.ok("repro")
    assert proj.runs("train") == 3
    assert proj.read("out/history.txt") == "run;run;run;"


def test_corrupt_run_cache_object_falls_back_to_running(proj: Proj) -> None:
    param_stage(proj)
    proj.ok("repro")
    obj = proj.object_path("xxh3-128:" + xxhash.xxh3_128_hexdigest(b"0.1"))
    set_lr(proj, 0.2)
    proj.ok("repro")
    os.chmod(obj, 0o644)
    obj.write_bytes(b"0.9")
    set_lr(proj, 0.1)
    proc = proj.mlrepro("repro")
    assert proc.returncode == 0, proc.stderr
    assert proj.runs("train") == 3
    assert proj.read("out/lr.json") == "0.1"
