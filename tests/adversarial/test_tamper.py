"""A tampered cache (issue 15): objects whose bytes were changed, truncated, replaced by
another valid object, or deleted; for each, what `cache verify`, `status`, `checkout`
and `repro` say and do, with each link type a project may configure.

The rule above all: a wrong file is never placed in the workspace. Copies are verified
while they are written; links (hardlink, symlink, and reflink on file systems that
have it) are verified before they get their name, since they hold the object's bytes
as they are. A folder's errors name the file as the user knows it (`feats/d1/f1.txt`),
never the scratch folder it is built in.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.adversarial.test_disk import error_line, fill, small_disk
from tests.ops.conftest import Proj, make_repo, tree_bytes, xxh_file

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
