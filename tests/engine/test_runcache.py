"""The run-cache: outputs come back from the store when a stage's inputs were seen before."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

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


def audit_entries(proj: Proj) -> list[dict[str, Any]]:
    doc = json.loads(proj.ok("audit", "log", "--json").stdout)
    entries: list[dict[str, Any]] = doc["entries"]
    return entries


def key_of(entry: Path) -> str:
    return entry.parent.name + entry.name


def bound_to(proj: Proj, entry: Path) -> dict[str, Any]:
    """The audit entry a run-cache entry names, checked to record its run and outputs."""
    doc = json.loads(entry.read_bytes())
    assert doc["version"] == 2
    [named] = [e for e in audit_entries(proj) if e["id"] == doc["audit"]["id"]]
    assert named["seq"] == doc["audit"]["seq"] and named["verified"] is True
    assert named["details"]["run_key"] == key_of(entry)
    assert named["details"]["status"] == "succeeded"
    recorded = {(o["path"], o["digest"], o["sha256"]) for o in named["details"]["outs"]}
    assert recorded == {(o["path"], o["digest"], o["sha256"]) for o in doc["outs"]}
    return named


def test_run_cache_entries_are_versioned_json_bound_to_their_audit_entry(proj: Proj) -> None:
    """Issue 15: an entry names the audit entry that recorded its run (version 2)."""
    param_stage(proj)
    proj.ok("repro")
    (entry,) = proj.run_entries()
    doc = json.loads(entry.read_bytes())
    assert doc["version"] == 2
    assert [o["path"] for o in doc["outs"]] == ["out"]
    assert doc["outs"][0]["digest"] == proj.out_record("train", "out")["digest"]
    assert doc["outs"][0]["sha256"] == proj.out_record("train", "out")["sha256"]
    assert set(doc["audit"]) == {"seq", "id"}
    assert bound_to(proj, entry)["action"] == "stage.run"
    out = proj.ok("cache", "verify").stdout
    assert "1 run-cache entry checked, 0 not bound to the audit log." in out


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


@pytest.mark.slow
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


@pytest.mark.slow
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


# -- binding: which audit entry an entry names (issue 15) ---------------------------------


@pytest.mark.slow
def test_an_entry_made_by_a_restore_from_the_lock_block_names_the_restore(
    proj: Proj, tmp_path: Path
) -> None:
    """A fresh clone with the objects and no outputs: both stages come back from their
    lock blocks, and the entries written for them name those `stage.restore` entries."""
    two_stages(proj)
    dest = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(proj.root), str(dest)], check=True, env=git_env())
    clone = Proj(root=dest, tool=proj.tool, outside=proj.outside)
    shutil.copytree(proj.cache / "xxh3-128", clone.cache / "xxh3-128")
    assert "Done: 0 ran, 2 restored" in clone.ok("repro").stdout
    entries = clone.run_entries()
    assert len(entries) == 2
    assert {bound_to(clone, e)["action"] for e in entries} == {"stage.restore"}
    assert "2 run-cache entries checked, 0 not bound" in clone.ok("cache", "verify").stdout


@pytest.mark.slow
def test_an_entry_made_for_an_up_to_date_block_names_a_runcache_remember_entry(
    proj: Proj, tmp_path: Path
) -> None:
    """A block the workspace bears out becomes an entry bound to an audit entry of its
    own, `runcache.remember`, whose details are the block's run: then the revert of a
    param comes back from it."""
    two_stages(proj)
    clone = clone_with_objects(proj, tmp_path)
    assert "Everything is up to date." in clone.ok("repro").stdout
    entries = clone.run_entries()
    named = {e.parent.name + e.name: bound_to(clone, e) for e in entries}
    assert {n["action"] for n in named.values()} == {"runcache.remember"}
    train = next(n for n in named.values() if n["details"]["stage"] == "train")
    assert train["details"]["params"] == {"params.yaml": {"model.lr": 0.1}}
    assert [o["path"] for o in train["details"]["outs"]] == ["out"]
    # a second no-op repro finds them bound and records nothing more
    before = len(audit_entries(clone))
    clone.ok("repro")
    assert len(audit_entries(clone)) == before
    set_lr(clone, 0.2)
    clone.ok("repro")
    set_lr(clone, 0.1)
    assert "Done: 0 ran, 2 restored" in clone.ok("repro").stdout


@pytest.mark.slow
def test_entries_copied_from_another_clone_are_used_once_its_log_is_pulled(
    proj: Proj, tmp_path: Path
) -> None:
    """Run-cache entries brought with a cache (a CI cache, a copy) name audit entries of
    the clone that wrote them: refused until `audit pull` brings that log."""
    param_stage(proj)
    proj.ok("repro")
    set_lr(proj, 0.2)
    proj.ok("repro")
    proj.commit("lr 0.2")
    dest = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(proj.root), str(dest)], check=True, env=git_env())
    clone = Proj(root=dest, tool=proj.tool, outside=proj.outside)
    shutil.copytree(proj.cache, clone.cache)
    clone.ok("checkout")
    proc = clone.fails("cache", "verify")
    assert "2 run-cache entries checked, 2 not bound to the audit log." in proc.stdout
    assert "audit pull" in proc.stderr
    set_lr(clone, 0.1)
    [stage] = json.loads(clone.ok("status", "--json").stdout)["stages"]
    assert stage["restore"] is False
    clone.ok("audit", "pull")
    clone.ok("cache", "verify")
    [stage] = json.loads(clone.ok("status", "--json").stdout)["stages"]
    assert stage["restore"] is True
    runs = proj.runs("train")
    assert "Done: 0 ran, 1 restored" in clone.ok("repro").stdout
    assert proj.runs("train") == runs
    assert clone.read("out/lr.json") == "0.1"


def independent_stages(proj: Proj, n: int) -> None:
    """``n`` stages, each writing its own file from the param v."""
    log = str(proj.ext("runs.log"))
    proj.params({"v": 1})
    proj.pipeline(
        {
            f"s{i}": {
                "cmd": proj.cmd(
                    ["log", log, f"s{i}"], ["param", f"out{i}.txt", "params.yaml", "v"]
                ),
                "params": ["v"],
                "outs": [f"out{i}.txt"],
            }
            for i in range(n)
        }
    )


@pytest.mark.slow
def test_stages_restored_together_are_each_checked_against_the_log(proj: Proj) -> None:
    """Stages ready at once have their entries' audit entries read in one exchange with
    git; each entry is still judged on its own: a forged one among them runs."""
    independent_stages(proj, 4)
    proj.ok("repro")
    proj.params({"v": 2})
    proj.ok("repro")
    by_value = {}  # (output, value of v) -> entry
    for e in proj.run_entries():
        [out] = json.loads(e.read_bytes())["outs"]
        by_value[(out["path"], proj.object_path(out["digest"]).read_text())] = e
    assert len(by_value) == 8
    # s2's entry for v 1 made to name its v 2 output
    forged, other = by_value[("out2.txt", "1")], by_value[("out2.txt", "2")]
    doc = json.loads(forged.read_bytes())
    os.chmod(forged, 0o644)
    forged.write_text(json.dumps({**doc, "outs": json.loads(other.read_bytes())["outs"]}))
    proj.params({"v": 1})
    proc = proj.ok("repro")
    assert "Done: 1 ran, 3 restored" in proc.stdout
    assert [ln for ln in proc.stdout.splitlines() if "unusable" in ln] == [
        f"[s2] run-cache entry unusable (its outputs are not the ones audit entry "
        f"#{doc['audit']['seq']} ({doc['audit']['id'][:16]}…) records); running it"
    ]
    assert [proj.runs(f"s{i}") for i in range(4)] == [2, 2, 3, 2]
    assert [proj.read(f"out{i}.txt") for i in range(4)] == ["1"] * 4


@pytest.mark.slow
def test_an_entry_bound_to_a_pending_audit_entry_is_used(proj: Proj) -> None:
    """Entries whose publication failed stay pending, and bind as well as published ones
    (here the ref cannot be locked while repro ends)."""
    param_stage(proj)
    ref_lock = proj.root / ".git" / "refs" / "mlrepro" / "audit.lock"
    ref_lock.parent.mkdir(parents=True, exist_ok=True)
    # a folder in the place of git's lock file: no update of the ref can take it,
    # and no publisher takes it for a lock a killed git left (those are files)
    ref_lock.mkdir()
    proj.ok("repro")
    assert proj.git("for-each-ref", "refs/mlrepro/audit") == ""  # nothing published
    ref_lock.rmdir()
    (entry,) = proj.run_entries()
    assert bound_to(proj, entry)["action"] == "stage.run"  # audit log reads pending too
    os.unlink(proj.root / "mlrepro.lock")
    shutil.rmtree(proj.root / "out")
    [stage] = json.loads(proj.ok("status", "--json").stdout)["stages"]
    assert stage["restore"] is True
    proj.ok("cache", "verify")
    assert "Done: 0 ran, 1 restored" in proj.ok("repro").stdout
    assert proj.runs("train") == 1
    assert proj.read("out/lr.json") == "0.1"


# -- finding an audit entry by its place (mlrepro.audit.lookup) ----------------------------


def test_entry_finder_reads_published_and_pending_entries_by_place(proj: Proj) -> None:
    from mlrepro.audit.lookup import EntryFinder
    from mlrepro.audit.store import Placed

    param_stage(proj)
    proj.ok("repro")  # published at the end of the command
    [published] = audit_entries(proj)
    pending = proj.root / ".mlrepro" / "audit" / "pending.jsonl"
    line = b'{"seq":2,"x":1}'  # not a real entry: the finder only vouches for its bytes
    pending.write_bytes(line + b"\n" + bytes(100))
    line_id = hashlib.sha256(line).hexdigest()
    with EntryFinder(str(proj.root), str(proj.root / ".mlrepro")) as finder:
        found = finder.find(published["seq"], published["id"])
        assert found is not None and found["action"] == "stage.run"
        assert finder.find(2, line_id) == {"seq": 2, "x": 1}
        assert finder.find(published["seq"], line_id) is None  # not at that place
        assert finder.find(3, published["id"]) is None
        assert finder.find(published["seq"], "0" * 64) is None
        places = [Placed(published["seq"], published["id"]), Placed(2, line_id)]
        both = finder.find_all([*places, Placed(9, "f" * 64), Placed(2, published["id"])])
        assert sorted(both) == sorted(places)
    # an entry edited in the ref's tree (stored under its old id) is not found
    tip = proj.git("rev-parse", "refs/mlrepro/audit").strip()
    path = f"entries/00000/{published['seq']:08d}-{published['id']}.json"
    data = proj.git("cat-file", "blob", f"{tip}:{path}").replace("stage.run", "stage.xxx")
    blob = subprocess.run(
        ["git", "hash-object", "-w", "--stdin"],
        cwd=proj.root,
        input=data,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    tree = replace_in_tree(proj, tip, path, blob)
    commit = proj.git("commit-tree", tree, "-p", tip, "-m", "edited").strip()
    proj.git("update-ref", "refs/mlrepro/audit", commit)
    with EntryFinder(str(proj.root), str(proj.root / ".mlrepro")) as finder:
        assert finder.find(published["seq"], published["id"]) is None


def replace_in_tree(proj: Proj, tip: str, path: str, blob: str) -> str:
    index = proj.ext("other-index")
    env = {**git_env(), "GIT_INDEX_FILE": str(index)}
    for args in (
        ["read-tree", tip],
        ["update-index", "--cacheinfo", f"100644,{blob},{path}"],
    ):
        subprocess.run(["git", *args], cwd=proj.root, env=env, check=True)
    tree = subprocess.run(
        ["git", "write-tree"], cwd=proj.root, env=env, check=True, capture_output=True, text=True
    ).stdout.strip()
    index.unlink()
    return tree
