"""``mlrepro gc -c``: a remote keeps what the kept revisions need, a clone of every
kept branch still pulls, young objects survive, and a kept folder that cannot be
listed stops gc before it deletes anything (a folder remote and moto's S3)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.ops.conftest import Proj, git_env
from tests.ops.test_sync import clone, remote_objects, setup

KINDS = ["local", "s3"]


def branches(proj: Proj, remote: Callable[[Proj], str]) -> str:
    """Branches one, two and main, each with its own outputs, all pushed; then a branch
    'gone' pushed and deleted, whose objects nothing keeps."""
    setup(proj, n=1)
    url = remote(proj)
    for name, n in (("one", 1), ("two", 2), ("gone", 3)):
        proj.git("checkout", "-q", "-b", name)
        proj.params({"n": n})
        proj.ok("repro")
        proj.commit(f"n={n}")
        proj.ok("push")
        proj.git("checkout", "-q", "main")
        proj.ok("checkout")
    proj.git("branch", "-q", "-D", "gone")
    return url


def server_of(request: pytest.FixtureRequest, url: str) -> object:
    return request.getfixturevalue("s3_server") if url.startswith("s3://") else None


@pytest.mark.parametrize("remote", KINDS, indirect=True)
def test_gc_keeps_every_branch_pullable_and_removes_the_rest(
    proj: Proj, remote: Callable[[Proj], str], tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = branches(proj, remote)
    server = server_of(request, url)
    before = remote_objects(url, server)  # type: ignore[arg-type]
    # young objects are kept whatever the scope
    assert "nothing to remove" in proj.ok("gc", "-c", "-a", "-f").stdout
    dry = proj.ok("gc", "-c", "-a", "--grace", "0", "--dry").stdout
    assert "would remove" in dry
    assert remote_objects(url, server) == before  # type: ignore[arg-type]
    done = proj.ok("gc", "-c", "-a", "--grace", "0", "-f")
    assert "removed" in done.stdout
    after = remote_objects(url, server)  # type: ignore[arg-type]
    assert set(after) < set(before)
    for branch, n in (("one", 1), ("two", 2), ("main", 1)):
        other = Proj(root=tmp_path / f"clone-{branch}", tool=proj.tool, outside=proj.outside)
        subprocess.run(
            ["git", "clone", "-q", "-b", branch, str(proj.root), str(other.root)],
            check=True,
            env=git_env(),
        )
        other.ok("pull")
        assert json.loads((other.root / "model.json").read_text()) == n
    entries = json.loads(proj.ok("audit", "log", "--json").stdout)["entries"]
    gcs = [e for e in entries if e["action"] == "remote.gc"]
    assert len(gcs) == 1 and gcs[0]["details"]["removed"] == len(before) - len(after)


def test_another_clones_record_is_dropped_by_the_new_epoch(proj: Proj, tmp_path: Path) -> None:
    setup(proj)
    url = tmp_path / "remote"
    proj.ok("remote", "add", "-d", "store", str(url))
    proj.commit("remote")
    proj.ok("push")
    other = clone(proj, tmp_path / "clone")
    other.ok("pull")  # its record now lists every object
    # main moves on; gc keeps only the new state, so the old model goes from the remote
    proj.params({"n": 7})
    proj.ok("repro")
    proj.commit("n=7")
    proj.ok("push")
    proj.ok("gc", "-c", "-w", "--grace", "0", "-f")
    # the clone, still at n=1, pushes: its record would say "there"; the epoch says ask
    assert "files pushed" in other.ok("push").stdout


def test_a_kept_folder_that_cannot_be_listed_stops_gc(proj: Proj, tmp_path: Path) -> None:
    setup(proj)
    url = tmp_path / "remote"
    proj.ok("remote", "add", "-d", "store", str(url))
    proj.ok("push")
    feats = proj.out_record("gen", "feats")["digest"].split(":")[1]
    for base in (url / "files", proj.root / ".mlrepro" / "cache"):
        p = base / "xxh3-128" / feats[:2] / feats[2:]
        p.chmod(0o644)
        p.unlink()
    before = remote_objects(str(url))
    got = proj.fails("gc", "-c", "-w", "--grace", "0", "-f")
    assert f"xxh3-128:{feats}" in got.stderr and "nothing was deleted" in got.stderr
    assert remote_objects(str(url)) == before


def test_run_cache_entries_naming_removed_objects_go_first_and_the_rest_stay(
    proj: Proj, tmp_path: Path
) -> None:
    setup(proj, n=1)
    url = tmp_path / "remote"
    proj.ok("remote", "add", "-d", "store", str(url))
    proj.params({"n": 2})
    proj.ok("repro")
    proj.commit("n=2")
    assert "run-cache entries" in proj.ok("push", "--run-cache").stdout
    runs = url / "runs"
    before = {p.parent.name + p.name for p in runs.rglob("*") if p.is_file()}
    assert len(before) >= 2  # the n=1 run and the n=2 run
    # the remote keeps only n=2 now: n=1's model goes, and so does every entry naming it
    proj.ok("gc", "-c", "-w", "--grace", "0", "-f")
    after = {p.parent.name + p.name for p in runs.rglob("*") if p.is_file()}
    assert after and after < before
    for key in after:  # what stays names only what stays
        entry = json.loads((runs / key[:2] / key[2:]).read_text())
        for out in entry["outs"]:
            xxh = out["digest"].split(":")[1]
            assert (url / "files" / "xxh3-128" / xxh[:2] / xxh[2:]).exists()
    gcs = [e for e in json.loads(proj.ok("audit", "log", "--json").stdout)["entries"]
           if e["action"] == "remote.gc"]
    assert gcs[-1]["details"]["run_cache_entries_removed"] == len(before) - len(after)
