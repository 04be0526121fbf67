"""A tampered cache (issue 15): objects whose bytes were changed, truncated, replaced by
another valid object, or deleted; for each, what `cache verify`, `status`, `checkout`
and `repro` say and do, with each link type a project may configure. Then run-cache
entries forged to restore other valid objects: rewritten, copied under another key,
bound to an audit entry that was removed, or in the old format.

The rule above all: a wrong file is never placed in the workspace. Copies are verified
while they are written; links (hardlink, symlink, and reflink on file systems that
have it) are verified before they get their name, since they hold the object's bytes
as they are. A folder's errors name the file as the user knows it (`feats/d1/f1.txt`),
never the scratch folder it is built in.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import xxhash

from tests.adversarial.test_disk import error_line, fill, small_disk
from tests.ops.conftest import Proj, git_env, make_repo, tree_bytes, xxh_file

BIG = 1536 * 1024  # above the 1 MiB below which objects are read whole: the streaming path
PY = shlex.quote(sys.executable)
WRITE_BIG = f"open('big.bin', 'wb').write(bytes(range(256)) * {BIG // 256})"


def pipeline(proj: Proj) -> None:
    """train: a small file, a large file and a folder; embed: another folder."""
    proj.pipeline(
        {
            "train": {
                "cmd": proj.cmd(["write", "model.pkl", "v1"], ["mkfiles", "feats", "4", "f"])
                + f" && {PY} -c {shlex.quote(WRITE_BIG)}",
                "outs": ["model.pkl", "big.bin", "feats"],
            },
            "embed": {"cmd": proj.cmd(["mkfiles", "emb", "3", "e"]), "outs": ["emb"]},
        }
    )


def workspace(proj: Proj) -> dict[str, bytes]:
    found = {p: (proj.root / p).read_bytes() for p in ("model.pkl", "big.bin")}
    for folder in ("feats", "emb"):
        found |= {f"{folder}/{k}": v for k, v in tree_bytes(proj.root / folder).items()}
    return found


def flipped(obj: Path, other: bytes) -> None:
    data = bytearray(obj.read_bytes())
    data[len(data) // 2] ^= 0x01
    obj.write_bytes(bytes(data))


def truncated(obj: Path, other: bytes) -> None:
    data = obj.read_bytes()
    obj.write_bytes(data[: len(data) // 2])


def swapped(obj: Path, other: bytes) -> None:
    """Another object's bytes, valid under that object's name."""
    obj.write_bytes(other)


def deleted(obj: Path, other: bytes) -> None:
    obj.unlink()


TAMPERS: dict[str, Callable[[Path, bytes], None]] = {
    "flipped": flipped,
    "truncated": truncated,
    "swapped": swapped,
    "deleted": deleted,
}


@pytest.fixture(params=["copy", "hardlink", "symlink"])
def link(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.mark.slow  # 12 cases (3 link types x 4 tampers), each a repro and every reader
@pytest.mark.parametrize("how", list(TAMPERS))
def test_a_tampered_object_never_reaches_the_workspace(proj: Proj, link: str, how: str) -> None:
    proj.ok("config", "cache.type", f"{link},copy")
    pipeline(proj)
    proj.ok("repro")
    good = workspace(proj)
    model = proj.object_path(proj.out_record("train", "model.pkl")["digest"])
    big = proj.object_path(proj.out_record("train", "big.bin")["digest"])
    inner = proj.object_path(xxh_file(proj.root / "feats/d1/f1.txt"))
    feats_tree = proj.object_path(proj.out_record("train", "feats")["digest"])
    emb_tree = proj.object_path(proj.out_record("embed", "emb")["digest"])
    donors = {
        model: proj.object_path(xxh_file(proj.root / "feats/d0/f0.txt")),
        big: model,
        inner: proj.object_path(xxh_file(proj.root / "feats/d2/f2.txt")),
        emb_tree: feats_tree,  # a valid tree, of another folder
    }
    # repro wrote the outputs itself: they share nothing with the objects, whatever the
    # link type (only checkout and restore place links)
    others = {obj: donor.read_bytes() for obj, donor in donors.items()}
    for obj in donors:
        os.chmod(obj, 0o644)
        TAMPERS[how](obj, others[obj])
    assert workspace(proj) == good
    bad = {obj.read_bytes() for obj in donors if obj.exists()}
    hexes = {obj: obj.parent.name + obj.name for obj in donors}

    # cache verify: every tampered object named, exit 1
    proc = proj.fails("cache", "verify")
    if how == "deleted":
        assert f"missing  xxh3-128:{hexes[model]} (stage 'train', output 'model.pkl')" in (
            proc.stdout
        )
        assert "(stage 'train', output 'feats', file 'd1/f1.txt')" in proc.stdout
        assert f"missing  xxh3-128:{hexes[emb_tree]} (stage 'embed', output 'emb', its tree" in (
            proc.stdout
        )
    else:
        for obj in donors:
            assert f"corrupt  xxh3-128:{hexes[obj]}" in proc.stdout

    # status: a gone object of an up-to-date output is named; a changed one is not seen
    # (status never re-hashes the cache: that is cache verify's)
    text = proj.ok("status").stdout
    if how == "deleted":
        assert text.splitlines() == [
            "cache:",
            "    missing: big.bin (stage 'train'): `mlrepro repro` caches it again",
            "    missing: emb (stage 'embed'): `mlrepro repro` caches it again",
            "    missing: model.pkl (stage 'train'): `mlrepro repro` caches it again",
        ]
    else:
        assert text.strip() == "Everything is up to date."
    proj.ok("status", "--check")

    # checkout: nothing tampered is placed; each output is named, a folder's file inside it
    proj.write("model.pkl", "edited by hand")
    for path in ("big.bin", "feats", "emb"):
        p = proj.root / path
        shutil.rmtree(p) if p.is_dir() else p.unlink()
    proc = proj.fails("checkout")
    lines = {ln.split(":")[0].split()[-1]: ln for ln in proc.stderr.splitlines() if ": " in ln}
    assert {"model.pkl", "big.bin", "feats", "emb"} <= set(lines), proc.stderr
    assert "feats/d1/f1.txt" in lines["feats"]
    assert ".mlrepro" not in proc.stderr  # never a scratch or temporary name
    word = "is not in the cache" if how == "deleted" else "corrupt"
    assert all(word in lines[p] for p in ("model.pkl", "big.bin", "feats", "emb")), proc.stderr
    assert proj.read("model.pkl") == "edited by hand"
    for path in ("big.bin", "feats", "emb"):
        assert not os.path.lexists(proj.root / path)  # a folder comes back whole or not at all
    placed = [p for p in proj.root.rglob("*") if p.is_file() and ".git" not in p.parts]
    assert not [p for p in placed if ".mlrepro" not in p.parts and p.read_bytes() in bad]

    # repro: the stages run again (their recorded outputs cannot come back) and write
    # the right bytes; repair then makes the cache whole from the workspace
    proj.ok("repro")
    assert workspace(proj) == good
    assert proj.ok("status").stdout.strip() == "Everything is up to date."
    proj.ok("cache", "verify", "--repair")
    proj.ok("cache", "verify")
    proj.assert_cache_verifies()
    for path in ("model.pkl", "big.bin", "feats", "emb"):
        p = proj.root / path
        shutil.rmtree(p) if p.is_dir() and not p.is_symlink() else p.unlink()
    proj.ok("checkout")
    assert workspace(proj) == good


def test_a_full_disk_while_restoring_a_folder_names_the_output(tmp_path: Path, tool: Path) -> None:
    """The folder is built in scratch space (.mlrepro/tmp/restore-*) before it is renamed
    into place: a write that fails there names the file in the output folder."""
    with small_disk(tmp_path / "disk") as disk:
        proj = make_repo(disk / "repo", tool, tmp_path / "outside")
        write = "import os; os.makedirs('feats', exist_ok=True); " + "; ".join(
            f"open('feats/part{i}.bin', 'wb').write(bytes([{i}]) * {512 * 1024})" for i in range(4)
        )
        proj.pipeline(
            {
                "make": {
                    "cmd": f"{PY} -c {shlex.quote(write)}",
                    "outs": ["feats"],
                }
            }
        )
        proj.ok("repro")
        shutil.rmtree(proj.root / "feats")
        filler = fill(disk, leave=700 * 1024)  # room for one file of the four, not two
        proc = proj.fails("checkout")
        line = error_line(proc.stderr)
        assert "no space left on the device holding feats/part" in line, proc.stderr
        assert "restore-" not in proc.stderr and ".mlrepro" not in line
        assert not (proj.root / "feats").exists()
        filler.unlink()
        proj.ok("checkout")
        assert sorted(p.name for p in (proj.root / "feats").iterdir()) == [
            f"part{i}.bin" for i in range(4)
        ]


# -- run-cache entries (issue 15: "a forged run-cache entry is trusted") ------------------
#
# An entry is used only when the audit entry it names is in this clone's log and records
# the same run (key) and outputs (path, xxh3-128, sha256). After each forgery below, repro
# runs the command (saying why, in one line) and writes the right bytes, status predicts
# a run, and `cache verify` names the entry and exits 1 (an entry of the old format only
# warns); the run leaves a bound entry behind, which is used again.


def lr_pipeline(proj: Proj) -> None:
    """train writes the param lr into model.txt; its runs are counted outside."""
    proj.params({"lr": 0.1})
    proj.pipeline(
        {
            "train": {
                "cmd": proj.cmd(
                    ["log", str(proj.ext("runs.log")), "train"],
                    ["param", "model.txt", "params.yaml", "lr"],
                ),
                "params": ["lr"],
                "outs": ["model.txt"],
            }
        }
    )


def set_lr(proj: Proj, lr: float) -> None:
    proj.params({"lr": lr})


def run_entry(proj: Proj, content: bytes) -> Path:
    """The run-cache entry whose output is the object of ``content``."""
    digest = "xxh3-128:" + xxhash.xxh3_128_hexdigest(content)
    [found] = [
        p for p in proj.run_entries() if json.loads(p.read_bytes())["outs"][0]["digest"] == digest
    ]
    return found


def key_of(entry: Path) -> str:
    return entry.parent.name + entry.name


def plant(entry: Path, data: bytes) -> None:
    os.chmod(entry, 0o644)
    entry.write_bytes(data)


def dumped(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode() + b"\n"


def audit_log(proj: Proj) -> list[dict[str, Any]]:
    doc = json.loads(proj.ok("audit", "log", "--json").stdout)
    entries: list[dict[str, Any]] = doc["entries"]
    return entries


def forget_the_run(proj: Proj) -> None:
    """Delete the lock file and the output: only the run-cache could bring lr 0.1's
    model back (a lock block recording the run would come first, and is trusted)."""
    os.unlink(proj.root / "mlrepro.lock")
    os.unlink(proj.root / "model.txt")


def assert_refused(proj: Proj, entry: Path, tampered: bytes, why: Callable[[], str]) -> None:
    """lr is 0.1, no lock block records that run, and lr 0.1's ``entry`` holds
    ``tampered``: repro runs the command, the right bytes land, and one line says why
    the entry was not used; the entry is then bound to that run and used again. With
    the tampered bytes back, status predicts a run and cache verify names the entry."""
    runs = proj.runs("train")
    proc = proj.ok("repro")
    assert proj.read("model.txt") == "0.1"  # never lr 0.2's model, which the forgery names
    assert proj.runs("train") == runs + 1, proc.stdout
    assert "Done: 1 ran, 0 restored" in proc.stdout
    lines = [ln for ln in proc.stdout.splitlines() if "run-cache entry unusable" in ln]
    assert lines == [f"[train] run-cache entry unusable ({why()}); running it"], proc.stdout
    doc = json.loads(entry.read_bytes())
    [named] = [e for e in audit_log(proj) if e["id"] == doc["audit"]["id"]]
    assert (named["action"], named["details"]["run_key"]) == ("stage.run", key_of(entry))
    assert "0 not bound to the audit log" in proj.ok("cache", "verify").stdout
    bound = entry.read_bytes()
    # the tampered entry again: status predicts a run, cache verify names it
    plant(entry, tampered)
    forget_the_run(proj)
    [stage] = json.loads(proj.ok("status", "--json").stdout)["stages"]
    assert stage["restore"] is False
    assert stage["reasons"]
    old = json.loads(tampered).get("audit") is None
    proc = proj.mlrepro("cache", "verify")
    word = "outdated" if old else "unbound "
    line = f"{word} run-cache {key_of(entry)}: {why()}"
    assert line in proc.stdout.splitlines(), proc.stdout
    if old:
        assert proc.returncode == 0, proc.stderr
    else:
        assert proc.returncode == 1
        error = [ln for ln in proc.stderr.splitlines() if ln.startswith("error: ")]
        assert error == ["error: 1 run-cache entry not bound to the audit log"], proc.stderr
    # and the bound entry restores
    plant(entry, bound)
    runs = proj.runs("train")
    assert "Done: 0 ran, 1 restored" in proj.ok("repro").stdout
    assert proj.runs("train") == runs
    assert proj.read("model.txt") == "0.1"


def two_runs(proj: Proj) -> tuple[Path, Path]:
    """lr 0.1, then lr 0.2: their entries (lr 0.2 is the workspace's and the lock's)."""
    lr_pipeline(proj)
    proj.ok("repro")
    set_lr(proj, 0.2)
    proj.ok("repro")
    return run_entry(proj, b"0.1"), run_entry(proj, b"0.2")


def other_outputs(doc: dict[str, Any]) -> str:
    """Why an entry whose outputs were changed is refused (``doc``: the entry as written)."""
    seq, eid = doc["audit"]["seq"], doc["audit"]["id"]
    return f"its outputs are not the ones audit entry #{seq} ({eid[:16]}…) records"


@pytest.mark.slow
def test_a_run_cache_entry_rewritten_to_name_another_valid_object_is_refused(
    proj: Proj,
) -> None:
    """lr 0.1's entry made to restore lr 0.2's model (a valid object of the cache), still
    naming its own run's audit entry."""
    one, two = two_runs(proj)
    doc = json.loads(one.read_bytes())
    tampered = dumped({**doc, "outs": json.loads(two.read_bytes())["outs"]})
    plant(one, tampered)
    set_lr(proj, 0.1)
    assert_refused(proj, one, tampered, lambda: other_outputs(doc))


@pytest.mark.slow
def test_a_run_cache_entry_with_a_made_up_size_is_refused(proj: Proj) -> None:
    """The right object, but a size of its own: a restore would write it into the
    committed lock, so it is bound like the digests are (review of issue 15)."""
    one, _ = two_runs(proj)
    doc = json.loads(one.read_bytes())
    outs = [{**o, "size": o["size"] + 123456789} for o in doc["outs"]]
    tampered = dumped({**doc, "outs": outs})
    plant(one, tampered)
    set_lr(proj, 0.1)
    assert_refused(proj, one, tampered, lambda: other_outputs(doc))
    assert "123456" not in proj.lock_text()


@pytest.mark.slow
def test_a_run_cache_entry_copied_under_another_key_is_refused(proj: Proj) -> None:
    """lr 0.2's whole entry (bound to lr 0.2's run) copied under lr 0.1's key."""
    one, two = two_runs(proj)
    tampered = two.read_bytes()
    plant(one, tampered)
    set_lr(proj, 0.1)

    def why() -> str:
        theirs = json.loads(tampered)["audit"]
        seq, eid = theirs["seq"], theirs["id"]
        return f"audit entry #{seq} ({eid[:16]}…) records another run (key {key_of(two)[:16]}…)"

    assert_refused(proj, one, tampered, why)


@pytest.mark.slow
def test_a_version_1_run_cache_entry_is_not_used_and_only_warned_about(proj: Proj) -> None:
    """An entry written before entries named their run (or by hand in the old format)
    restores nothing; the next run replaces it."""
    one, _ = two_runs(proj)
    tampered = dumped({"version": 1, "outs": json.loads(one.read_bytes())["outs"]})
    plant(one, tampered)
    out = proj.ok("cache", "verify").stdout
    assert "2 run-cache entries checked, 0 not bound to the audit log, 1 outdated." in out
    set_lr(proj, 0.1)
    assert_refused(proj, one, tampered, lambda: "version 1, which names no audit entry")


def drop_published(proj: Proj, seq: int, eid: str) -> None:
    """Rewrite refs/mlrepro/audit without the blob of entry #seq (a new commit on top,
    its message kept), with git plumbing, as someone with write access could."""
    path = f"entries/{seq // 1000:05d}/{seq:08d}-{eid}.json"
    tip = proj.git("rev-parse", "refs/mlrepro/audit").strip()
    message = proj.git("log", "-1", "--format=%B", tip)
    index = proj.ext("forged-index")
    env = {**git_env(), "GIT_INDEX_FILE": str(index)}

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=proj.root, env=env, check=True, capture_output=True, text=True
        ).stdout.strip()

    git("read-tree", tip)
    git("update-index", "--force-remove", path)
    tree = git("write-tree")
    assert path not in git("ls-tree", "-r", "--name-only", tree)
    commit = git("commit-tree", tree, "-p", tip, "-m", message)
    git("update-ref", "refs/mlrepro/audit", commit, tip)
    index.unlink()


def drop_pending(proj: Proj, eid: str) -> None:
    """Remove the line of entry ``eid`` from the pending file (the zero-filled reserve
    after the lines goes too, which readers do not need)."""
    pending = proj.root / ".mlrepro" / "audit" / "pending.jsonl"
    lines = pending.read_bytes().split(b"\0", 1)[0].splitlines(keepends=True)
    kept = [ln for ln in lines if hashlib.sha256(ln.rstrip(b"\n")).hexdigest() != eid]
    assert len(kept) == len(lines) - 1
    pending.write_bytes(b"".join(kept))


@pytest.mark.slow
@pytest.mark.parametrize("where", ["published", "pending"])
def test_a_run_cache_entry_whose_audit_entry_is_gone_is_refused(proj: Proj, where: str) -> None:
    """The audit entry lr 0.1's entry names removed from the log: from the ref's tree, or
    from the pending file (left pending by a publication that failed: git's lock on the
    ref was blocked, and the command itself succeeded)."""
    lr_pipeline(proj)
    ref_lock = proj.root / ".git" / "refs" / "mlrepro" / "audit.lock"
    if where == "pending":
        ref_lock.parent.mkdir(parents=True, exist_ok=True)
        # a folder in the place of git's lock file: no update of the ref can take it,
        # and no publisher takes it for a lock a killed git left (those are files)
        ref_lock.mkdir()
    proj.ok("repro")
    one = run_entry(proj, b"0.1")
    tampered = one.read_bytes()  # the entry stays as written: the record of its run goes
    [run] = [
        e
        for e in audit_log(proj)
        if e["action"] == "stage.run" and e["details"]["run_key"] == key_of(one)
    ]
    seq, eid = run["seq"], run["id"]
    if where == "pending":
        ref_lock.rmdir()
        drop_pending(proj, eid)
    else:
        drop_published(proj, seq, eid)
    forget_the_run(proj)

    def why() -> str:
        assert json.loads(tampered)["audit"] == {"seq": seq, "id": eid}
        return f"audit entry #{seq} ({eid[:16]}…) is not in this clone's log"

    assert_refused(proj, one, tampered, why)


def test_cache_verify_repair_removes_unbound_entries_and_records_it(proj: Proj) -> None:
    one, two = two_runs(proj)
    plant(one, two.read_bytes())  # copied under another key
    before = set(proj.objects())
    proc = proj.ok("cache", "verify", "--repair")
    [line] = [ln for ln in proc.stdout.splitlines() if "run-cache" in ln and ":" in ln]
    assert line.startswith(f"unbound  run-cache {key_of(one)}: ") and line.endswith("(removed)")
    assert not one.exists() and two.exists()
    assert set(proj.objects()) == before  # the objects are not the entry's to remove
    [repair] = [e for e in audit_log(proj) if e["action"] == "cache.repair"]
    [removed] = repair["details"]["run_entries"]
    assert removed["run_key"] == key_of(one) and "records another run" in removed["why"]
    proj.ok("cache", "verify")
    set_lr(proj, 0.1)
    proc = proj.ok("repro")
    assert "Done: 1 ran, 0 restored" in proc.stdout
    assert "unusable" not in proc.stdout  # no entry any more: nothing to refuse
    assert proj.read("model.txt") == "0.1"


# -- digests that name a path instead of an object (issue 16) ----------------------------


def test_a_lock_digest_naming_a_path_out_of_the_cache_is_refused(proj: Proj) -> None:
    """``xxh3-128:ab/abs/path`` would make the object's path ``/abs/path`` (os.path.join
    keeps the last absolute part): every command refuses the lock, naming the entry,
    and the file it names is neither read into the workspace nor removed."""
    victim = proj.outside / "victim.txt"
    victim.write_text("not the cache's\n")
    proj.write("d.txt", "data\n")
    proj.ok("add", "d.txt")
    good = proj.lock_text()
    digest = proj.data_records()["d.txt"]["digest"]
    (proj.root / "mlrepro.lock").write_text(good.replace(digest, f"xxh3-128:ab{victim}"))
    (proj.root / "d.txt").unlink()
    for args in (["checkout"], ["status"], ["cache", "verify", "--repair"], ["gc", "-w", "-f"]):
        proc = proj.fails(*args)
        assert error_line(proc.stderr).endswith(
            "mlrepro.lock: malformed entry (bad digest for 'd.txt')"
        ), args
    assert victim.read_text() == "not the cache's\n"
    assert not (proj.root / "d.txt").exists()
    (proj.root / "mlrepro.lock").write_text(good)
    proj.ok("checkout")
    assert proj.read("d.txt") == "data\n"


def test_a_crafted_tree_naming_a_file_out_of_the_cache_is_refused(proj: Proj) -> None:
    """A tree object is named by its own bytes, so anyone can write a valid one. One
    whose entry names an outside file by its digest is refused as a tree: the folder is
    not built, the file not read, and not removed as a corrupt object (which a restore
    from the run-cache does to objects that fail their check)."""
    victim = proj.outside / "victim.txt"
    victim.write_text("not the cache's\n")
    proj.pipeline({"make": {"cmd": proj.cmd(["mkfiles", "feats", "2", "f"]), "outs": ["feats"]}})
    proj.ok("repro")
    record = proj.out_record("make", "feats")
    entry = {"path": "x", "sha256": "0" * 64, "size": 16, "xxh3-128": f"ab{victim}"}
    crafted = json.dumps([entry], separators=(",", ":")).encode()
    name = xxhash.xxh3_128_hexdigest(crafted)
    obj = proj.object_path(f"xxh3-128:{name}")
    obj.parent.mkdir(exist_ok=True)
    obj.write_bytes(crafted)
    lock = proj.lock_text().replace(record["digest"], f"xxh3-128:{name}")
    (proj.root / "mlrepro.lock").write_text(lock)
    shutil.rmtree(proj.root / "feats")
    proc = proj.fails("checkout")  # the folder is named, as for a corrupt tree
    assert proc.stderr.startswith("missing  feats: not a tree object: bad entry"), proc.stderr
    assert not (proj.root / "feats").exists()
    ran = proj.ok("repro")  # its output is not as recorded: the stage runs again
    assert "Done: 1 ran" in ran.stdout, ran.stdout
    assert victim.read_text() == "not the cache's\n"
    assert sorted(p.name for p in (proj.root / "feats").rglob("*.txt")) == ["f0.txt", "f1.txt"]


def test_a_stray_file_among_the_objects_is_reported_and_removed(proj: Proj) -> None:
    """A file in a prefix folder whose name is no object's is reported as corrupt by
    `cache verify`, removed by --repair, and by gc as kept by nothing: never an internal
    error (the guard against names out of the cache lets it through, as it stays in)."""
    proj.write("d.txt", "data\n")
    proj.ok("add", "d.txt")
    folder = proj.object_path(proj.data_records()["d.txt"]["digest"]).parent
    stray = folder / "junk"
    stray.write_bytes(b"junk")
    proc = proj.fails("cache", "verify")
    assert f"corrupt  xxh3-128:{folder.name}junk" in proc.stdout, proc.stdout
    proj.ok("cache", "verify", "--repair")
    assert not stray.exists()
    stray.write_bytes(b"junk")
    proj.ok("gc", "-w", "-f")
    assert not stray.exists()
    proj.ok("cache", "verify")
