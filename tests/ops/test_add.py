"""Raw data: ``mlrepro add``, data inputs cached by ``repro``, and large input folders."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest
import xxhash

from tests.ops.conftest import Proj, git_env, make_repo, tree_bytes, xxh_file


def raw_folder(proj: Proj) -> dict[str, bytes]:
    proj.write("data/train.csv", "x,y\n1,2\n3,4\n")
    proj.write("data/test.csv", "x,y\n5,6\n")
    proj.write("data/images/cat.bin", bytes(range(256)) * 4)
    proj.write("data/images/empty.bin", b"")
    return tree_bytes(proj.root / "data")


def test_add_folder_records_it_and_a_clone_can_check_it_out(proj: Proj, tmp_path: Path) -> None:
    files = raw_folder(proj)
    proc = proj.ok("add", "data/")
    assert "added data (4 files" in proc.stdout
    rec = proj.data_records()["data"]
    assert rec["isdir"] is True and rec["nfiles"] == 4
    assert rec["size"] == sum(len(v) for v in files.values())
    assert rec["sha256"].startswith("sha256:") and len(rec["sha256"]) == 7 + 64
    # the tree object is in the cache; its sha256 is the recorded one
    tree = proj.object_path(rec["digest"]).read_bytes()
    assert "sha256:" + hashlib.sha256(tree).hexdigest() == rec["sha256"]
    entries = {e["path"]: e for e in json.loads(tree)}
    assert sorted(entries) == sorted(files)
    for rel, data in files.items():
        assert entries[rel]["sha256"] == hashlib.sha256(data).hexdigest()
        assert proj.object_path("xxh3-128:" + xxhash.xxh3_128_hexdigest(data)).read_bytes() == data
    assert "/data" in proj.read(".gitignore").splitlines()
    assert "data/" not in proj.git("status", "--porcelain", "-uall")
    proj.ok("status", "--check")

    proj.commit("add data")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(proj.root), str(clone)], check=True, env=git_env())
    assert not (clone / "data").exists()
    assert (clone / ".mlrepro" / "config.json").exists()
    shutil.copytree(proj.cache, clone / ".mlrepro" / "cache")
    other = Proj(root=clone, tool=proj.tool, outside=proj.outside)
    proc = other.ok("checkout")
    assert "restored data" in proc.stdout
    assert tree_bytes(clone / "data") == files
    other.ok("status", "--check")


def test_add_refuses_git_tracked_and_stage_outputs(proj: Proj) -> None:
    proj.write("tracked.csv", "1\n")
    proj.commit("tracked")
    proc = proj.fails("add", "tracked.csv")
    assert "git already tracks 'tracked.csv'" in proc.stderr
    proj.pipeline({"s": {"cmd": proj.cmd(["write", "out.txt", "o"]), "outs": ["out.txt"]}})
    proj.ok("repro")
    proc = proj.fails("add", "out.txt")
    assert "stage 's'" in proc.stderr
    assert proj.fails("add", "nope.csv").stderr.startswith("error: ")
    assert proj.data_records() == {}


def test_add_from_a_subfolder(proj: Proj) -> None:
    proj.write("sub/raw/a.txt", "a")
    proj.ok("add", "raw", cwd=proj.root / "sub")
    assert list(proj.data_records()) == ["sub/raw"]
    assert "/raw" in proj.read("sub/.gitignore").splitlines()


def test_data_input_is_cached_and_recorded_by_repro(proj: Proj) -> None:
    proj.write("raw.csv", "raw,data\n")
    proj.write("code.txt", "tracked code\n")
    proj.git("add", "code.txt")
    proj.git("commit", "-q", "-m", "code")
    proj.pipeline(
        {
            "prep": {
                "cmd": proj.cmd(["cat", "prep.txt", "raw.csv", "code.txt"]),
                "deps": ["raw.csv", "code.txt"],
                "outs": ["prep.txt"],
            },
            "use": {
                "cmd": proj.cmd(["cat", "use.txt", "prep.txt"]),
                "deps": ["prep.txt"],
                "outs": ["use.txt"],
            },
        }
    )
    proj.ok("repro")
    data = proj.data_records()
    # raw.csv: no stage writes it and git does not track it; code.txt is git's, prep.txt a stage's
    assert sorted(data) == ["raw.csv"]
    rec = data["raw.csv"]
    assert rec["digest"] == xxh_file(proj.root / "raw.csv")
    assert rec["sha256"] == "sha256:" + hashlib.sha256(b"raw,data\n").hexdigest()
    assert proj.object_path(rec["digest"]).read_bytes() == b"raw,data\n"
    assert "/raw.csv" in proj.read(".gitignore").splitlines()
    # lost raw data comes back from the cache
    os.unlink(proj.root / "raw.csv")
    proj.ok("checkout")
    assert proj.read("raw.csv") == "raw,data\n"
    # a new version is recorded by the next repro
    proj.write("raw.csv", "raw,data,v2\n")
    proj.ok("repro")
    assert proj.data_records()["raw.csv"]["digest"] == xxh_file(proj.root / "raw.csv")
    assert proj.read("use.txt") == "raw,data,v2\ntracked code\n"


@pytest.mark.slow
def test_dependency_folder_with_thousands_of_files(proj: Proj) -> None:
    n = 3000
    base = proj.root / "corpus"
    for i in range(n):
        sub = base / f"part{i % 30:02d}"
        if i < 30:
            sub.mkdir(parents=True)
        (sub / f"doc{i:05d}.txt").write_text(f"document {i}\n")
    log = str(proj.ext("runs.log"))
    proj.pipeline(
        {
            "index": {
                "cmd": proj.cmd(["log", log, "index"], ["write", "index.txt", "indexed"]),
                "deps": ["corpus"],
                "outs": ["index.txt"],
            }
        }
    )
    proj.ok("repro")
    rec = proj.locked_stages()["index"]["deps"][0]
    assert rec["path"] == "corpus" and rec["nfiles"] == n
    assert proj.data_records()["corpus"]["nfiles"] == n
    proj.ok("status", "--check")

    # touched without change (new mtimes): still up to date, nothing runs
    for p in list(base.rglob("doc0000*.txt")):
        os.utime(p, (1_700_000_000, 1_700_000_000))
    proj.ok("status", "--check")
    proj.ok("repro")
    assert proj.runs("index") == 1

    # one file edited: the folder dependency is named
    (base / "part17" / "doc01217.txt").write_text("document 1217, revised\n")
    proc = proj.fails("status", "--why", "--check", code=3)
    assert "dependency 'corpus' changed" in proc.stdout
    assert "modified: corpus" in proc.stdout
    proj.ok("repro")
    assert proj.runs("index") == 2
    proj.ok("status", "--check")


def test_clone_without_the_cache_reports_missing_data(proj: Proj, tmp_path: Path) -> None:
    raw_folder(proj)
    proj.ok("add", "data")
    proj.commit("data")
    clone = make_repo(tmp_path / "unused", proj.tool, proj.outside, init=False)
    shutil.rmtree(clone.root)
    subprocess.run(
        ["git", "clone", "-q", str(proj.root), str(clone.root)], check=True, env=git_env()
    )
    proc = clone.fails("checkout")
    assert "data" in proc.stderr
    assert not (clone.root / "data").exists()


def test_nested_data_inputs_are_up_to_date_after_repro(proj: Proj) -> None:
    proj.write("raw/a.csv", "1\n")
    proj.write("raw/b.csv", "2\n")
    proj.pipeline(
        {
            "whole": {"cmd": proj.cmd(["write", "w.txt", "w"]), "deps": ["raw"], "outs": ["w.txt"]},
            "one": {
                "cmd": proj.cmd(["cat", "o.txt", "raw/a.csv"]),
                "deps": ["raw/a.csv"],
                "outs": ["o.txt"],
            },
        }
    )
    proj.ok("repro")
    proj.ok("status", "--check")


@pytest.mark.slow
def test_adding_a_folder_large_enough_for_worker_processes(proj: Proj) -> None:
    """Over 4,000 small files: on a machine with two or more cores they are stored by
    forked workers. The cache, the lock and a restore must be exactly as in-process."""
    data = proj.root / "many"
    for i in range(4500):
        sub = data / f"d{i % 9}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"f{i}.bin").write_bytes(b"%d\n" % (i % 4000))  # some shared contents
    before = tree_bytes(data)
    proj.ok("add", "many")
    record = proj.data_records()["many"]
    assert record["nfiles"] == 4500
    proj.assert_cache_verifies()
    assert len(proj.objects()) == 4000 + 1  # distinct contents, and the tree
    proj.ok("status", "--check")
    shutil.rmtree(data)
    proj.ok("checkout")
    assert tree_bytes(data) == before
    proj.ok("status", "--check")


@pytest.mark.slow
def test_a_first_add_without_stat_ahead_records_what_the_files_hold(proj: Proj) -> None:
    """A first add of a large folder (the stat cache knows nothing under it) stores the
    files without stat-ing them ahead. Files larger than the small-file limit, links to
    files and nested folders must come out exactly as a full hash of each file says,
    and every file must be in the stat cache afterwards (nothing is re-read)."""
    data = proj.root / "bulk"
    expected = []
    for i in range(4200):
        rel = f"d{i % 7}/sub{i % 3}/f{i:05d}.txt"
        (data / rel).parent.mkdir(parents=True, exist_ok=True)
        (data / rel).write_bytes(b"row %d\n" % i)
    big = (b"0123456789abcdef" * 70_000)[: 1024 * 1024 + 7]  # just over the limit
    (data / "big.bin").write_bytes(big)
    os.symlink("d0/sub0/f00000.txt", data / "link.txt")
    for p in sorted(data.rglob("*")):
        if p.is_file():
            blob = p.read_bytes()
            expected.append(
                {
                    "path": p.relative_to(data).as_posix(),
                    "sha256": hashlib.sha256(blob).hexdigest(),
                    "size": len(blob),
                    "xxh3-128": xxhash.xxh3_128_hexdigest(blob),
                }
            )
    expected.sort(key=lambda e: e["path"])
    tree = json.dumps(expected, sort_keys=True, separators=(",", ":")).encode()
    proj.ok("add", "bulk")
    record = proj.data_records()["bulk"]
    assert record["digest"] == "xxh3-128:" + xxhash.xxh3_128_hexdigest(tree)
    assert record["sha256"] == "sha256:" + hashlib.sha256(tree).hexdigest()
    assert record["nfiles"] == len(expected) == 4202
    db = sqlite3.connect(proj.root / ".mlrepro/state/stat.db")
    try:
        recorded = {row[0] for row in db.execute("SELECT path FROM stat")}
    finally:
        db.close()
    assert {f"bulk/{e['path']}" for e in expected} <= recorded
    proj.assert_cache_verifies()
    proj.ok("status", "--check")
