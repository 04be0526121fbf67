"""``mlrepro status -c``: what the cache and a remote each lack, per stage, output and
file in a folder, asked of the remote itself (a folder remote and moto's S3)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.ops.conftest import Proj
from tests.ops.test_sync import setup

KINDS = ["local", "s3"]


def cloud(proj: Proj, *args: str) -> dict[str, Any]:
    doc = json.loads(proj.ok("status", "-c", "--json", *args).stdout)
    assert doc["version"] == 1
    return doc


def states(doc: dict[str, Any]) -> dict[str, str]:
    return {o["path"]: o["state"] for o in doc["objects"]}


@pytest.mark.parametrize("remote", KINDS, indirect=True)
def test_new_then_in_sync_then_deleted_then_missing(
    proj: Proj, remote: Callable[[Proj], str]
) -> None:
    setup(proj)
    remote(proj)
    before = cloud(proj)
    files = sorted(p for p in (proj.root / "feats").rglob("*") if p.is_file())
    want = {"model.json", "feats", "raw", "raw/a.csv", "raw/b.csv"}
    want |= {str(p.relative_to(proj.root)) for p in files}
    assert set(states(before)) == want and set(states(before).values()) == {"new"}
    stages = {o["path"]: o["stage"] for o in before["objects"]}
    assert stages["model.json"] == "gen" and stages["raw/a.csv"] is None
    text = proj.ok("status", "-c").stdout
    assert "gen:\n\tnew:                feats" in text and "data:\n" in text
    proj.ok("push")
    assert proj.ok("status", "-c").stdout.strip() == "Cache and remote 'store' are in sync."
    assert cloud(proj)["in_sync"]
    # the cache loses everything: the remote has it all
    shutil.rmtree(proj.root / ".mlrepro" / "cache" / "xxh3-128")
    gone = cloud(proj)
    assert set(states(gone).values()) == {"deleted"} and set(states(gone)) == want
    assert proj.mlrepro("status", "-c", "--check").returncode == 3


def test_an_object_deleted_from_the_remote_by_hand_is_seen_and_the_next_push_restores_it(
    proj: Proj, tmp_path: Path
) -> None:
    setup(proj)
    url = tmp_path / "remote"
    proj.ok("remote", "add", "-d", "store", str(url))
    proj.ok("push")
    model = proj.out_record("gen", "model.json")["digest"].split(":")[1]
    obj = url / "files" / "xxh3-128" / model[:2] / model[2:]
    obj.unlink()
    assert proj.ok("push").stdout.strip() == "Everything is up to date."  # the record trusts it
    assert states(cloud(proj)) == {"model.json": "new"}
    assert "1 file pushed" in proj.ok("push").stdout  # the record was dropped
    assert obj.exists()


def test_options_of_the_cloud_only_are_a_usage_error_without_it(proj: Proj) -> None:
    got = proj.fails("status", "-a", code=2)
    assert "-a: meaningful only with -c/--cloud" in got.stderr
