"""Raw data cached and recorded before a repro (mlrepro.engine.datainputs), driven
in-process on real repositories; the audit log is read back through the CLI."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import xxhash

from mlrepro.audit.recorder import Recorder
from mlrepro.dag.workstate import WorkState
from mlrepro.engine.datainputs import save_data_inputs
from mlrepro.errors import MlreproError
from mlrepro.workspace.lockfile import read_lock
from mlrepro.workspace.project import Project
from tests.ops.conftest import Proj


def save(proj: Proj) -> WorkState:
    project = Project(str(proj.root))
    ws = WorkState.load(project)
    audit = Recorder(project.root, project.state_dir)
    try:
        save_data_inputs(ws, audit)
    finally:
        audit.close()
        project.close()
    return ws


def data_adds(proj: Proj) -> list[dict]:  # type: ignore[type-arg]
    doc = json.loads(proj.ok("audit", "log", "--json").stdout)
    return [e["details"]["artifact"] for e in doc["entries"] if e["action"] == "data.add"]


def test_raw_data_is_cached_recorded_and_ignored(proj: Proj) -> None:
    proj.write("raw/a.csv", "1,2\n")
    proj.write("raw/b.csv", "3,4\n")
    proj.write("labels.txt", "cat\n")
    proj.pipeline({"s": {"cmd": "x", "deps": ["raw", "labels.txt"], "outs": ["o"]}})
    ws = save(proj)
    lock = read_lock(str(proj.root))
    assert sorted(lock.data) == ["labels.txt", "raw"] == sorted(ws.lock.data)
    assert lock.data["raw"].isdir and lock.data["raw"].nfiles == 2
    assert lock.data["labels.txt"].digest == "xxh3-128:" + xxhash.xxh3_128_hexdigest(b"cat\n")
    objects = proj.objects()
    for content in (b"1,2\n", b"3,4\n", b"cat\n"):
        assert xxhash.xxh3_128_hexdigest(content) in objects
    assert proj.read(".gitignore").splitlines() == ["/labels.txt", "/raw"]
    assert sorted(a["path"] for a in data_adds(proj)) == ["labels.txt", "raw"]
    proj.assert_cache_verifies()


def test_unchanged_data_is_not_recorded_again(proj: Proj) -> None:
    proj.write("raw.csv", "v1\n")
    proj.pipeline({"s": {"cmd": "x", "deps": ["raw.csv"], "outs": ["o"]}})
    save(proj)
    lock_before = proj.lock_text()
    mtime = os.stat(proj.root / "mlrepro.lock").st_mtime_ns
    save(proj)
    assert proj.lock_text() == lock_before
    assert os.stat(proj.root / "mlrepro.lock").st_mtime_ns == mtime
    assert len(data_adds(proj)) == 1
    proj.write("raw.csv", "v2, changed\n")
    save(proj)
    adds = data_adds(proj)
    assert len(adds) == 2 and adds[0]["digest"] != adds[1]["digest"]
    expected = "xxh3-128:" + xxhash.xxh3_128_hexdigest(b"v2, changed\n")
    assert read_lock(str(proj.root)).data["raw.csv"].digest == expected


def test_nothing_to_save_writes_nothing(proj: Proj) -> None:
    proj.write("code.py", "print()")
    proj.commit("code")  # tracked by git: not data
    proj.pipeline({"s": {"cmd": "x", "deps": ["code.py", "absent.csv"], "outs": ["o"]}})
    save(proj)
    assert not (proj.root / "mlrepro.lock").exists()
    assert not (proj.root / ".gitignore").exists()
    assert proj.objects() == {}


def test_a_data_input_linking_outside_is_refused_before_caching(proj: Proj, tmp_path: Path) -> None:
    outside = tmp_path / "private.csv"
    outside.write_text("private bytes")
    proj.write("fine.csv", "fine")
    os.symlink(outside, proj.root / "zlink.csv")
    proj.pipeline({"s": {"cmd": "x", "deps": ["fine.csv", "zlink.csv"], "outs": ["o"]}})
    with pytest.raises(MlreproError, match=r"'zlink\.csv' is a symbolic link leading outside"):
        save(proj)
    assert xxhash.xxh3_128_hexdigest(b"private bytes") not in proj.objects()
    assert not (proj.root / "mlrepro.lock").exists()


def test_a_data_input_named_with_a_newline_is_refused(proj: Proj) -> None:
    proj.write("bad\nname.csv", "x")
    proj.write(
        "dvc.yaml",
        'stages:\n  s:\n    cmd: x\n    deps: ["bad\\nname.csv"]\n    outs: [o]\n',
    )
    with pytest.raises(MlreproError, match=r"data input .* newline"):
        save(proj)
    assert proj.objects() == {}
