"""``audit verify --deep``: the cached objects the log names, re-hashed against both digests."""

from __future__ import annotations

import os

from mlrepro.audit.deep import deep_check
from mlrepro.audit.store import AuditStore
from mlrepro.workspace.project import Project
from tests.ops.conftest import Proj


def check(proj: Proj) -> tuple[int, list[tuple[str, str]]]:
    project = Project(str(proj.root))
    store = AuditStore(project.root, project.state_dir)
    try:
        result = deep_check(store, project.store)
    finally:
        store.close()
        project.close()
    return result.checked, result.mismatches


def test_objects_the_log_names_are_rehashed_and_a_changed_one_is_named(proj: Proj) -> None:
    proj.write("d.txt", "data\n")
    proj.ok("add", "d.txt")
    record = proj.data_records()["d.txt"]
    assert check(proj) == (1, [])
    obj = proj.object_path(record["digest"])
    os.chmod(obj, 0o644)
    obj.write_text("DATA\n")
    checked, mismatches = check(proj)
    assert checked == 1
    assert mismatches == [(record["digest"], "the cached object's bytes do not match its address")]
    proc = proj.fails("audit", "verify", "--deep")
    assert f"MISMATCH {record['digest']}: the cached object's bytes" in proc.stdout


def test_an_object_no_longer_in_the_cache_is_not_counted(proj: Proj) -> None:
    proj.write("d.txt", "data\n")
    proj.ok("add", "d.txt")
    proj.object_path(proj.data_records()["d.txt"]["digest"]).unlink()
    assert check(proj) == (0, [])
    assert "0 artifacts re-hashed" in proj.ok("audit", "verify", "--deep").stdout
