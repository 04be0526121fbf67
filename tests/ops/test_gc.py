"""``mlrepro gc`` in real repositories: what each scope keeps, what goes, what is
recorded, and the refusal when a kept folder cannot be listed."""

from __future__ import annotations

import hashlib
import json
import shutil
from typing import Any

import pytest
import yaml

from tests.ops.conftest import Proj, tree_bytes, xxh_file

OUTS = ("model.json", "feats", "raw")  # the workspace paths the pipeline below records


def entries(proj: Proj, *args: str) -> list[dict[str, Any]]:
    doc = json.loads(proj.ok("audit", "log", "--json", *args).stdout)
    assert doc["version"] == 1
    return doc["entries"]  # type: ignore[no-any-return]


def gc_entries(proj: Proj) -> list[dict[str, Any]]:
    return [e for e in entries(proj) if e["action"] == "cache.gc"]


def setup(proj: Proj, n: int = 1) -> None:
    """Raw data added with ``mlrepro add`` and a stage with a file output and a folder
    output: ``model.json`` is the param; ``feats/`` holds three files that are the same
    for every value of it, and ``feats/extra.txt`` that is not."""
    proj.write("raw/a.csv", "a,b\n1,2\n")
    proj.write("raw/b.csv", "c,d\n3,4\n")
    proj.ok("add", "raw")
    proj.params({"n": n})
    proj.pipeline(
        {
            "gen": {
                "cmd": proj.cmd(
                    ["log", str(proj.ext("runs.log")), "gen"],
                    ["param", "model.json", "params.yaml", "n"],
                    ["mkfiles", "feats", "3"],
                    ["cat", "feats/extra.txt", "model.json", "params.yaml"],
                ),
                "params": ["n"],
                "outs": ["model.json", "feats"],
            }
        }
    )
    proj.ok("repro")


def rerun(proj: Proj, n: int) -> None:
    proj.params({"n": n})
    proj.ok("repro")


def tree_files(proj: Proj, digest: str) -> set[str]:
    """The file objects (bare hex) a tree object in the cache names."""
    entries_ = json.loads(proj.object_path(digest).read_bytes())
    return {e["xxh3-128"] for e in entries_}


def lock_needs(proj: Proj, lock: dict[str, Any]) -> set[str]:
    """Every object (bare hex) a parsed lock's outputs and data inputs need: each
    digest, and for a folder every file its tree object names."""
    arts = [o for s in (lock.get("stages") or {}).values() for o in s["outs"]]
    arts += lock.get("data") or []
    need: set[str] = set()
    for a in arts:
        need.add(a["digest"].split(":", 1)[1])
        if a.get("isdir"):
            need |= tree_files(proj, a["digest"])
    return need


def workspace_needs(proj: Proj) -> set[str]:
    """What the workspace's lock needs, computed from the workspace's own files (they
    match the lock after a repro or checkout), not from the cache."""
    lock = proj.lock()
    arts = [o for s in (lock.get("stages") or {}).values() for o in s["outs"]]
    arts += lock.get("data") or []
    need: set[str] = set()
    for a in arts:
        need.add(a["digest"].split(":", 1)[1])
        path = proj.root / a["path"]
        if a.get("isdir"):
            files = [f for f in path.rglob("*") if f.is_file()]
            assert len(files) == a["nfiles"]
            need |= {xxh_file(f).split(":", 1)[1] for f in files}
        else:
            assert xxh_file(path) == a["digest"]
    return need


def lock_at(proj: Proj, rev: str) -> dict[str, Any]:
    doc = yaml.safe_load(proj.git("show", f"{rev}:mlrepro.lock"))
    assert isinstance(doc, dict)
    return doc


def snapshot(proj: Proj) -> dict[str, dict[str, bytes]]:
    return {
        p: tree_bytes(proj.root / p)
        if (proj.root / p).is_dir()
        else {"": (proj.root / p).read_bytes()}
        for p in OUTS
    }


def remove_outputs(proj: Proj) -> None:
    for p in OUTS:
        path = proj.root / p
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()


# -- scope ------------------------------------------------------------------------------


def test_gc_without_a_scope_is_a_usage_error_and_removes_nothing(proj: Proj) -> None:
    setup(proj)
    rerun(proj, 2)  # objects of n=1 are now garbage
    before = proj.objects()
    proc = proj.fails("gc", "-f", code=2)
    assert "-w" in proc.stderr and "-a" in proc.stderr
    proj.fails("gc", "--dry", code=2)
    assert proj.objects() == before
    assert gc_entries(proj) == []


# -- the workspace ----------------------------------------------------------------------


def test_gc_workspace_keeps_what_the_lock_needs_and_removes_the_rest(proj: Proj) -> None:
    setup(proj, 1)
    proj.commit("n=1")
    old = proj.lock()
    rerun(proj, 2)
    proj.commit("n=2")
    need = workspace_needs(proj)
    before = set(proj.objects())
    assert need <= before
    garbage = before - need
    # what only n=1 needed: its model.json, its folder's tree and its extra.txt
    old_outs = {o["path"]: o for o in old["stages"]["gen"]["outs"]}
    assert old_outs["model.json"]["digest"].split(":")[1] in garbage
    assert old_outs["feats"]["digest"].split(":")[1] in garbage
    assert len(garbage) == 3
    # the three files both trees share stay, though the old tree goes
    shared = tree_files(proj, old_outs["feats"]["digest"]) & need
    assert len(shared) == 3
    snap = snapshot(proj)

    proc = proj.ok("gc", "-w", "-f")
    assert proc.stdout.startswith(f"removed {len(garbage)} object(s)")
    after = set(proj.objects())
    assert after == need
    assert before - after == garbage
    # every kept object is intact, and the workspace can be rebuilt from them alone
    proj.assert_cache_verifies()
    remove_outputs(proj)
    proj.ok("checkout")
    assert snapshot(proj) == snap
    # a second gc has nothing left to do
    assert proj.ok("gc", "-w", "-f").stdout.strip() == "nothing to remove"
    assert set(proj.objects()) == need


def test_gc_dry_removes_nothing_and_reports_the_count(proj: Proj) -> None:
    setup(proj, 1)
    rerun(proj, 2)
    before = proj.objects()
    garbage = set(before) - workspace_needs(proj)
    size = sum(before[x].stat().st_size for x in garbage)
    proc = proj.ok("gc", "--dry", "-w")
    assert proc.stdout.strip() == f"would remove {len(garbage)} object(s), {size} bytes"
    assert proj.objects() == before
    assert gc_entries(proj) == []


# -- other revisions ----------------------------------------------------------------------


@pytest.mark.slow
def test_gc_all_branches_keeps_what_other_branches_need(proj: Proj) -> None:
    setup(proj, 1)
    proj.commit("n=1")
    proj.git("checkout", "-q", "-b", "other")
    rerun(proj, 2)
    proj.commit("n=2 on other")
    other_need = lock_needs(proj, lock_at(proj, "other"))
    other_snap = snapshot(proj)
    proj.git("checkout", "-q", "main")
    proj.ok("checkout")
    # an experiment on main that is thrown away: garbage for every scope
    rerun(proj, 3)
    junk = set(proj.objects())
    # thrown away with the lock and the audit checkpoint the experiment wrote
    proj.git("checkout", "-q", "--", "params.yaml", "mlrepro.lock", ".mlrepro/audit-checkpoints")
    proj.ok("checkout")
    main_need = workspace_needs(proj)
    junk -= main_need | other_need
    assert len(junk) == 3
    only_other = other_need - main_need
    assert len(only_other) == 3  # model.json, the tree, extra.txt of n=2
    before = set(proj.objects())
    assert other_need <= before

    # -w alone would remove what only the other branch needs
    proc = proj.ok("gc", "--dry", "-w")
    assert proc.stdout.startswith(f"would remove {len(junk | only_other)} object(s)")
    proc = proj.ok("gc", "-a", "-f")
    assert proc.stdout.startswith(f"removed {len(junk)} object(s)")
    assert "for 3 revision(s)" in proc.stdout  # the workspace and the two branch tips
    assert set(proj.objects()) == before - junk
    [entry] = gc_entries(proj)
    assert entry["details"]["kept"]["all_branches"] is True
    assert entry["details"]["kept"]["commits"] == 2
    # the other branch's outputs come back from the cache
    proj.git("checkout", "-q", "other")
    proj.ok("checkout")
    assert proj.read("model.json") == "2"
    assert snapshot(proj) == other_snap


@pytest.mark.slow
def test_gc_all_tags_keeps_what_tagged_commits_need(proj: Proj) -> None:
    setup(proj, 1)
    proj.commit("n=1")
    proj.git("tag", "-a", "v1", "-m", "first model")  # annotated: names a tag object
    v1_snap = snapshot(proj)
    v1_need = lock_needs(proj, lock_at(proj, "v1"))
    rerun(proj, 2)
    proj.commit("n=2")
    proj.git("tag", "light")  # a lightweight tag on the tip
    main_need = workspace_needs(proj)
    only_v1 = v1_need - main_need
    assert len(only_v1) == 3
    before = set(proj.objects())

    # v1 is on no branch tip: -a would remove what it needs
    proc = proj.ok("gc", "--dry", "-a")
    assert proc.stdout.startswith(f"would remove {len(only_v1)} object(s)")
    assert proj.ok("gc", "-T", "-f").stdout.strip() == "nothing to remove"
    assert set(proj.objects()) == before
    proj.git("checkout", "-q", "v1")
    proj.ok("checkout")
    assert proj.read("model.json") == "1"
    assert snapshot(proj) == v1_snap


@pytest.mark.slow
def test_gc_all_commits_keeps_what_older_commits_need(proj: Proj) -> None:
    setup(proj, 1)
    proj.commit("n=1")
    first = proj.git("rev-parse", "HEAD").strip()
    first_snap = snapshot(proj)
    first_need = lock_needs(proj, lock_at(proj, first))
    rerun(proj, 2)
    proj.commit("n=2")
    rerun(proj, 3)  # not committed: garbage unless the workspace keeps it
    # thrown away with the lock and the audit checkpoint the experiment wrote
    proj.git("checkout", "-q", "--", "params.yaml", "mlrepro.lock", ".mlrepro/audit-checkpoints")
    proj.ok("checkout")
    tip_need = workspace_needs(proj)
    before = set(proj.objects())
    junk = before - tip_need - first_need
    assert len(junk) == 3 and len(first_need - tip_need) == 3

    proc = proj.ok("gc", "--dry", "-a")  # the first commit is no branch's tip
    assert proc.stdout.startswith(f"would remove {len(junk | (first_need - tip_need))} object(s)")
    proc = proj.ok("gc", "-A", "-f")
    assert proc.stdout.startswith(f"removed {len(junk)} object(s)")
    assert set(proj.objects()) == before - junk
    [entry] = gc_entries(proj)
    assert entry["details"]["kept"]["all_commits"] is True
    assert entry["details"]["kept"]["commits"] == 2
    proj.git("checkout", "-q", first)
    proj.ok("checkout")
    assert proj.read("model.json") == "1"
    assert snapshot(proj) == first_snap
    # back on the tip, -a lets the first commit's objects go: its checkout then says so
    proj.git("checkout", "-q", "main")
    proj.ok("checkout")
    proj.ok("gc", "-a", "-f")
    assert set(proj.objects()) == tip_need
    proj.git("checkout", "-q", first)
    proc = proj.fails("checkout")
    for out in lock_at(proj, first)["stages"]["gen"]["outs"]:
        assert f"{out['digest']} is not in the cache" in proc.stdout + proc.stderr


def test_gc_all_tags_skips_tags_that_name_no_commit(proj: Proj) -> None:
    setup(proj, 1)
    proj.commit("n=1")
    proj.git("tag", "v1")
    rerun(proj, 2)
    proj.commit("n=2")
    key = proj.ext("signing-key.asc")
    key.write_text("-----BEGIN PGP PUBLIC KEY BLOCK-----\n")
    proj.git("tag", "signing-key", proj.git("hash-object", "-w", str(key)).strip())
    proj.git("tag", "v1-tree", "v1^{tree}")
    before = set(proj.objects())
    proc = proj.ok("gc", "-T", "-f")  # v1 and the tip need everything there is
    assert proc.stdout.strip() == "nothing to remove"
    assert set(proj.objects()) == before


# -- the run-cache --------------------------------------------------------------------------


@pytest.mark.slow
def test_repro_after_gc_reruns_a_stage_whose_run_cache_objects_are_gone(proj: Proj) -> None:
    setup(proj, 1)
    rerun(proj, 2)
    assert proj.runs("gen") == 2
    proj.ok("gc", "-w", "-f")
    assert len(proj.run_entries()) == 2  # the record of the n=1 run stays
    proj.params({"n": 1})
    proc = proj.ok("repro")
    assert "1 ran, 0 restored" in proc.stdout
    assert proj.runs("gen") == 3
    assert proj.read("model.json") == "1"
    assert proj.read("feats/extra.txt") == "1n: 1\n"
    assert entries(proj)[0]["action"] == "stage.run"
    # the rerun put n=1's objects back: n=2 is restored from the run-cache now
    assert set(proj.objects()) >= workspace_needs(proj)
    proj.assert_cache_verifies()
    proj.params({"n": 2})
    proc = proj.ok("repro")
    assert "0 ran, 1 restored" in proc.stdout
    assert proj.runs("gen") == 3


# -- the audit log ----------------------------------------------------------------------------


@pytest.mark.slow
def test_gc_records_exactly_what_it_removed(proj: Proj) -> None:
    setup(proj, 1)
    rerun(proj, 2)
    before = proj.objects()
    garbage = sorted(set(before) - workspace_needs(proj))
    sizes = {x: before[x].stat().st_size for x in garbage}
    n_before = len(entries(proj))

    proj.ok("gc", "--dry", "-w")
    assert len(entries(proj)) == n_before  # a dry run records nothing
    proj.ok("gc", "-w", "-f")
    log = entries(proj)
    assert len(log) == n_before + 1
    entry = log[0]
    assert entry["action"] == "cache.gc"
    d = entry["details"]
    names = sorted(f"xxh3-128:{x}" for x in garbage)
    assert d["objects"] == names
    assert d["removed"] == len(garbage) == 3
    assert d["bytes"] == sum(sizes.values())
    assert d["removed_sha256"] == hashlib.sha256("\n".join(names).encode()).hexdigest()
    assert d["kept"]["workspace"] is True
    assert d["kept"]["objects"] == len(proj.objects())
    assert not (d["kept"]["all_branches"] or d["kept"]["all_tags"] or d["kept"]["all_commits"])
    for name in names:
        assert not proj.object_path(name).exists()
    # a gc that removes nothing records nothing
    proj.ok("gc", "-w", "-f")
    proj.ok("gc", "-a", "-T", "-A", "-f")
    assert len(entries(proj)) == n_before + 1
    proc = proj.ok("audit", "verify")
    assert proc.stdout.startswith(f"audit log OK: {n_before + 1} entries")


# -- refusal ----------------------------------------------------------------------------------


@pytest.mark.slow
def test_gc_refuses_when_a_kept_folder_has_no_tree_object(proj: Proj) -> None:
    setup(proj, 1)
    rerun(proj, 2)  # garbage to remove
    tree = proj.out_record("gen", "feats")["digest"]
    proj.object_path(tree).unlink()
    before = proj.objects()
    proc = proj.fails("gc", "-w", "-f")
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and tree in errors[0] and "tree object" in errors[0]
    assert proj.objects() == before
    proc = proj.fails("gc", "--dry", "-w")
    assert tree in proc.stderr
    assert gc_entries(proj) == []
    # the hint's way out: repair puts the tree back from the workspace, then gc runs
    proj.ok("cache", "verify", "--repair")
    assert proj.object_path(tree).exists()
    proj.ok("gc", "-w", "-f")
    assert set(proj.objects()) == workspace_needs(proj)
    proj.ok("audit", "verify")
