"""``mlrepro checkout``: the workspace made to match mlrepro.lock from the cache, and only that."""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat

import pytest

from tests.ops.conftest import Proj, tree_bytes, xxh_file


def outputs_pipeline(proj: Proj) -> None:
    """One file output and one folder output (nested), both driven by a param."""
    proj.params({"size": 3})
    proj.pipeline(
        {
            "make": {
                "cmd": proj.cmd(
                    ["param", "model.json", "params.yaml", "size"],
                    ["mkfiles", "features", "12", "v"],
                    ["param", "features/nested/deep/size.json", "params.yaml", "size"],
                ),
                "params": ["size"],
                "outs": ["model.json", "features"],
            }
        }
    )
    proj.commit("pipeline")


def snapshot(proj: Proj) -> dict[str, bytes]:
    return {"model.json": (proj.root / "model.json").read_bytes()} | {
        f"features/{k}": v for k, v in tree_bytes(proj.root / "features").items()
    }


def test_deleted_file_and_folder_are_restored_byte_identically(proj: Proj) -> None:
    outputs_pipeline(proj)
    proj.ok("repro")
    before = snapshot(proj)
    assert len(before) == 14
    os.unlink(proj.root / "model.json")
    shutil.rmtree(proj.root / "features")
    proc = proj.ok("checkout")
    assert "restored features" in proc.stdout and "restored model.json" in proc.stdout
    assert snapshot(proj) == before
    mode = (proj.root / "model.json").stat().st_mode
    assert stat.S_IMODE(mode) & 0o200  # a writable workspace file
    proj.ok("status", "--check")
    again = proj.ok("checkout")
    assert again.stdout.strip() == "Everything matches mlrepro.lock."


def test_folder_with_extra_and_edited_files_is_made_exact(proj: Proj) -> None:
    outputs_pipeline(proj)
    proj.ok("repro")
    before = snapshot(proj)
    proj.write("features/d0/f0.txt", "edited\n")
    proj.write("features/stray.txt", "not in the lock\n")
    proj.write("features/newdir/x.txt", "stray folder\n")
    os.unlink(proj.root / "features/d1/f1.txt")
    proj.fails("status", "--check", code=3)
    proj.ok("checkout")
    assert snapshot(proj) == before
    assert not (proj.root / "features/newdir").exists()
    proj.ok("status", "--check")


@pytest.mark.slow
def test_checkout_after_switching_git_branches(proj: Proj) -> None:
    outputs_pipeline(proj)
    proj.ok("repro")
    proj.commit("size 3")
    main_files = snapshot(proj)
    main_lock = proj.lock_text()

    proj.git("checkout", "-q", "-b", "bigger")
    proj.params({"size": 5})
    proj.ok("repro")
    proj.commit("size 5")
    exp_files = snapshot(proj)
    assert exp_files != main_files
    assert proj.lock_text() != main_lock

    for rev, files in (
        ("main", main_files),
        ("bigger", exp_files),
        ("main", main_files),
        ("bigger~1", main_files),  # a detached older commit
        ("bigger", exp_files),
    ):
        proj.git("checkout", "-q", rev)
        # git switched params and lock, not the ignored outputs
        proj.ok("checkout")
        assert snapshot(proj) == files, rev
        proj.ok("status", "--check")


def test_object_missing_from_the_cache_is_reported_and_the_rest_restored(proj: Proj) -> None:
    outputs_pipeline(proj)
    proj.ok("repro")
    before = snapshot(proj)
    lock_before = proj.lock_text()
    model_digest = proj.out_record("make", "model.json")["digest"]
    obj = proj.object_path(model_digest)
    # the same bytes might also be a file inside features; keep the test meaningful
    assert sum(1 for v in before.values() if v == before["model.json"]) == 2
    os.unlink(proj.root / "model.json")
    shutil.rmtree(proj.root / "features")
    os.chmod(obj, 0o644)
    os.unlink(obj)
    proc = proj.fails("checkout")
    assert "model.json" in proc.stderr
    assert proc.stderr.splitlines()[-2].startswith("error: ")
    # features needs that object too (nested/deep/size.json has the same bytes)
    assert "features" in proc.stderr
    assert not (proj.root / "model.json").exists()
    assert proj.lock_text() == lock_before
    # no temporary files left behind in the workspace
    leftovers = [
        p for p in proj.root.rglob("*tmp-*") if ".git" not in p.parts and ".mlrepro" not in p.parts
    ]
    assert leftovers == []
    proj.assert_cache_verifies()
    # rebuilding brings everything back
    proj.ok("repro")
    assert snapshot(proj) == before


def test_missing_object_does_not_stop_other_outputs(proj: Proj) -> None:
    proj.pipeline(
        {
            "a": {"cmd": proj.cmd(["write", "a.txt", "AAA"]), "outs": ["a.txt"]},
            "b": {"cmd": proj.cmd(["mkfiles", "bdir", "5"]), "outs": ["bdir"]},
        }
    )
    proj.ok("repro")
    bdir = tree_bytes(proj.root / "bdir")
    digest = proj.out_record("a", "a.txt")["digest"]
    os.unlink(proj.object_path(digest))
    os.unlink(proj.root / "a.txt")
    shutil.rmtree(proj.root / "bdir")
    proc = proj.fails("checkout")
    assert "a.txt" in proc.stderr
    assert "restored bdir" in proc.stdout
    assert tree_bytes(proj.root / "bdir") == bdir
    assert not (proj.root / "a.txt").exists()


def test_corrupt_object_is_reported_and_never_written_to_the_workspace(proj: Proj) -> None:
    proj.pipeline(
        {
            "a": {"cmd": proj.cmd(["write", "a.txt", "the real bytes"]), "outs": ["a.txt"]},
            "b": {"cmd": proj.cmd(["mkfiles", "bdir", "4"]), "outs": ["bdir"]},
        }
    )
    proj.ok("repro")
    digest = proj.out_record("a", "a.txt")["digest"]
    obj = proj.object_path(digest)
    os.chmod(obj, 0o644)
    data = bytearray(obj.read_bytes())
    data[0] ^= 0x01
    obj.write_bytes(bytes(data))
    os.chmod(obj, 0o444)
    corrupt = bytes(data)

    # 1. the workspace file is gone: checkout reports it and writes nothing there
    os.unlink(proj.root / "a.txt")
    proc = proj.fails("checkout")
    assert "a.txt" in proc.stderr and "corrupt" in proc.stderr
    assert not (proj.root / "a.txt").exists()

    # 2. the workspace file was edited: it stays as it was, never the corrupt bytes
    proj.write("a.txt", "edited by hand")
    proc = proj.fails("checkout")
    assert "a.txt" in proc.stderr
    assert (proj.root / "a.txt").read_bytes() == b"edited by hand"
    assert (proj.root / "a.txt").read_bytes() != corrupt
    leftovers = [
        p for p in proj.root.rglob("*tmp-*") if ".git" not in p.parts and ".mlrepro" not in p.parts
    ]
    assert leftovers == []


def test_corrupt_file_inside_a_folder_output(proj: Proj) -> None:
    proj.pipeline({"b": {"cmd": proj.cmd(["mkfiles", "bdir", "4", "unique-"]), "outs": ["bdir"]}})
    proj.ok("repro")
    victim = proj.root / "bdir/d2/f2.txt"
    obj = proj.object_path(xxh_file(victim))
    os.chmod(obj, 0o644)
    obj.write_bytes(b"garbage\n")
    shutil.rmtree(proj.root / "bdir")
    proc = proj.fails("checkout")
    assert "bdir" in proc.stderr and "corrupt" in proc.stderr
    assert not victim.exists()
    # a folder that was gone is restored whole or not at all, and no scratch space is left
    assert not (proj.root / "bdir").exists()
    assert scratch_dirs(proj) == []


def scratch_dirs(proj: Proj) -> list[str]:
    tmp = proj.root / ".mlrepro" / "tmp"
    return sorted(p.name for p in tmp.iterdir() if p.name != "repo.lock") if tmp.exists() else []


def test_a_deleted_folder_comes_back_whole_and_is_not_read_again(proj: Proj) -> None:
    proj.pipeline({"b": {"cmd": proj.cmd(["mkfiles", "bdir", "600", "x"]), "outs": ["bdir"]}})
    proj.ok("repro")
    before = tree_bytes(proj.root / "bdir")
    shutil.rmtree(proj.root / "bdir")
    proj.ok("checkout")
    assert tree_bytes(proj.root / "bdir") == before
    assert scratch_dirs(proj) == []
    for f in (proj.root / "bdir").rglob("*.txt"):
        assert stat.S_IMODE(f.stat().st_mode) == 0o644
    # every restored file is in the stat cache with both digests, so status reads none
    db = sqlite3.connect(proj.root / ".mlrepro" / "state" / "stat.db")
    rows = db.execute("SELECT path, sha FROM stat WHERE path LIKE 'bdir/%'").fetchall()
    db.close()
    assert len(rows) == 600 and all(sha for _, sha in rows)
    proj.ok("status", "--check")


def test_scratch_space_left_by_a_killed_checkout_is_swept(proj: Proj) -> None:
    proj.pipeline({"b": {"cmd": proj.cmd(["mkfiles", "bdir", "5", "x"]), "outs": ["bdir"]}})
    proj.ok("repro")
    shutil.rmtree(proj.root / "bdir")
    leftover = proj.root / ".mlrepro" / "tmp" / "restore-killed"
    (leftover / "d0").mkdir(parents=True)
    (leftover / "d0" / "f0.txt").write_text("half\n")
    proj.ok("checkout")
    assert scratch_dirs(proj) == []
    assert (proj.root / "bdir/d0/f0.txt").read_text() == "x0\n"


def corrupt(path: os.PathLike[str]) -> None:
    os.chmod(path, 0o644)
    with open(path, "r+b") as f:
        first = f.read(1)
        f.seek(0)
        f.write(bytes([first[0] ^ 0xFF]))


def test_cache_verify_repair_then_repro_recaches_a_file_output(proj: Proj) -> None:
    proj.pipeline({"a": {"cmd": proj.cmd(["write", "a.txt", "the real bytes"]), "outs": ["a.txt"]}})
    proj.ok("repro")
    obj = proj.object_path(proj.out_record("a", "a.txt")["digest"])
    corrupt(obj)
    proc = proj.fails("cache", "verify")
    assert obj.parent.name + obj.name in proc.stdout
    repaired = proj.ok("cache", "verify", "--repair")
    # the workspace still holds the right bytes, so --repair caches them again at once
    assert "re-cached a.txt" in repaired.stdout
    assert obj.exists()
    proj.assert_cache_verifies()
    proj.ok("repro")
    proj.assert_cache_verifies()
    os.unlink(proj.root / "a.txt")
    proj.ok("checkout")
    assert proj.read("a.txt") == "the real bytes"


def test_cache_verify_repair_then_repro_recaches_a_file_inside_a_folder_output(proj: Proj) -> None:
    proj.pipeline({"b": {"cmd": proj.cmd(["mkfiles", "bdir", "4", "unique-"]), "outs": ["bdir"]}})
    proj.ok("repro")
    before = tree_bytes(proj.root / "bdir")
    corrupt(proj.object_path(xxh_file(proj.root / "bdir/d1/f1.txt")))
    proj.ok("cache", "verify", "--repair")
    proj.ok("repro")
    shutil.rmtree(proj.root / "bdir")
    proj.ok("checkout")
    assert tree_bytes(proj.root / "bdir") == before
