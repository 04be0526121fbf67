"""The run-cache: outputs come back from the store when a stage's inputs were seen before."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import xxhash

from tests.ops.conftest import Proj, git_env


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


def two_stages(proj: Proj) -> None:
    """train (tracked param) -> evaluate (reads train's folder)."""
    param_stage(proj)
    log = str(proj.ext("runs.log"))
    pipeline = json.loads(json.dumps(proj_yaml(proj)))
    pipeline["evaluate"] = {
        "cmd": proj.cmd(["log", log, "evaluate"], ["cat", "score.txt", "out/lr.json"]),
        "deps": ["out"],
        "outs": ["score.txt"],
    }
    proj.pipeline(pipeline)
    proj.ok("repro")
    proj.commit("results")


def proj_yaml(proj: Proj) -> dict[str, object]:
    import yaml

    stages = yaml.safe_load(proj.read("dvc.yaml"))["stages"]
    assert isinstance(stages, dict)
    return stages


def clone_with_objects(proj: Proj, tmp_path: Path) -> Proj:
    """A fresh clone whose cache holds the objects (as a pull would bring them) but no
    run-cache entry, with the outputs checked out."""
    dest = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(proj.root), str(dest)], check=True, env=git_env())
    clone = Proj(root=dest, tool=proj.tool, outside=proj.outside)
    shutil.copytree(proj.cache / "xxh3-128", clone.cache / "xxh3-128")
    clone.ok("checkout")
    assert clone.run_entries() == []
    return clone


@pytest.mark.parametrize("first_repro", [True, False], ids=["after-a-no-op-repro", "at-once"])
def test_revert_in_a_fresh_clone_restores_from_the_first_round_trip(
    proj: Proj, tmp_path: Path, first_repro: bool
) -> None:
    """Issue 14: a state the committed lock records (and whose outputs the cache holds)
    is restorable: change a param, repro, change it back, repro runs nothing."""
    two_stages(proj)
    clone = clone_with_objects(proj, tmp_path)
    before = (proj.runs("train"), proj.runs("evaluate"))
    if first_repro:
        # accepted as up to date from the committed lock: that makes it restorable
        assert "Everything is up to date." in clone.ok("repro").stdout
        assert len(clone.run_entries()) == 2
    lock = clone.lock_text()
    set_lr(clone, 0.2)
    clone.ok("repro")
    assert (proj.runs("train"), proj.runs("evaluate")) == (before[0] + 1, before[1] + 1)
    set_lr(clone, 0.1)
    out = clone.ok("repro").stdout
    assert "Done: 0 ran, 2 restored" in out, out
    assert (proj.runs("train"), proj.runs("evaluate")) == (before[0] + 1, before[1] + 1)
    assert clone.lock_text() == lock
    assert clone.read("score.txt") == "0.1"
    clone.ok("status", "--check")


def test_a_lock_record_whose_outputs_are_not_cached_is_not_remembered(
    proj: Proj, tmp_path: Path
) -> None:
    """Nothing to restore from: a clone without the objects runs again, and the run-cache
    never names objects it lacks."""
    two_stages(proj)
    dest = tmp_path / "bare-clone"
    subprocess.run(["git", "clone", "-q", str(proj.root), str(dest)], check=True, env=git_env())
    clone = Proj(root=dest, tool=proj.tool, outside=proj.outside)
    clone.ok("repro")  # runs both: the outputs are missing and nothing is cached
    for entry in clone.run_entries():
        for art in json.loads(entry.read_text())["outs"]:
            assert clone.object_path(art["digest"]).exists()


def test_a_fresh_clone_with_the_objects_restores_instead_of_running(
    proj: Proj, tmp_path: Path
) -> None:
    """Issue 14: outputs missing in a clone whose cache holds what the committed lock names
    come back from the cache; status says so beforehand, and repro agrees."""
    two_stages(proj)
    dest = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(proj.root), str(dest)], check=True, env=git_env())
    clone = Proj(root=dest, tool=proj.tool, outside=proj.outside)
    shutil.copytree(proj.cache / "xxh3-128", clone.cache / "xxh3-128")
    runs = (proj.runs("train"), proj.runs("evaluate"))
    doc = json.loads(clone.ok("status", "--json").stdout)
    stages = {s["id"]: s for s in doc["stages"]}
    assert stages["train"]["restore"] is True and stages["train"]["conditional_on"] == []
    # train's outputs are known to come back as recorded, so evaluate's inputs are too
    assert stages["evaluate"]["restore"] is True
    assert stages["evaluate"]["conditional_on"] == []
    text = clone.ok("status").stdout
    assert "train: output 'out' is missing (restored from the cache)" in text
    assert "evaluate: output 'score.txt' is missing (restored from the cache)" in text
    dry = clone.ok("repro", "--dry").stdout
    assert "would restore 'train' from the cache: output 'out' is missing" in dry
    assert "would restore 'evaluate' from the cache: output 'score.txt' is missing" in dry
    out = clone.ok("repro").stdout
    assert "Done: 0 ran, 2 restored" in out
    assert (proj.runs("train"), proj.runs("evaluate")) == runs
    assert clone.read("score.txt") == "0.1"
    clone.ok("status", "--check")
    # with --no-run-cache nothing is promised from the cache
    os.unlink(dest / "score.txt")
    assert "(restored" not in clone.ok("repro", "--dry", "--no-run-cache").stdout


def test_the_stages_own_lock_block_comes_before_a_later_entry(proj: Proj) -> None:
    """A command that is not deterministic, run twice with the same inputs: the run-cache
    keeps the later run, but at a commit whose lock names the first one, repro restores
    the first (as checkout would) and leaves the committed lock as it was."""
    stamps = str(proj.ext("stamps.jsonl"))
    proj.write("in.txt", "in\n")
    proj.pipeline(
        {
            "clock": {
                "cmd": proj.cmd(["stamp", stamps, "clock", "ran"], ["cat", "out.txt", stamps]),
                "deps": ["in.txt"],
                "outs": ["out.txt"],
            }
        }
    )
    proj.ok("repro")
    proj.commit("first")
    first = proj.read("out.txt")
    proj.ok("repro", "-f")
    assert proj.read("out.txt") != first
    proj.commit("second")
    proj.git("checkout", "-q", "HEAD~1", "--", "mlrepro.lock")
    lock = proj.lock_text()
    os.unlink(proj.root / "out.txt")
    doc = json.loads(proj.ok("status", "--json").stdout)
    assert doc["stages"][0]["restore"] is True
    proj.ok("repro")
    assert proj.read("out.txt") == first
    assert proj.lock_text() == lock
