"""``mlrepro lineage --digest`` keeps its index where the lineage package says
(:func:`mlrepro.lineage.index.index_path`), not at a path of the CLI's own."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from mlrepro.lineage.index import DigestIndex, index_path
from mlrepro.snapshot.revisions import Revisions
from mlrepro.workspace.project import Project
from tests.ops.conftest import TOOL, Proj, make_repo


@pytest.fixture
def proj(tmp_path: Path) -> Proj:
    tool = tmp_path / "tool.py"
    tool.write_text(TOOL, encoding="utf-8")
    proj = make_repo(tmp_path / "repo", tool, tmp_path / "outside")
    proj.pipeline({"make": {"cmd": proj.cmd(["write", "out.txt", "made"]), "outs": ["out.txt"]}})
    proj.ok("repro")
    proj.commit("made")
    return proj


def test_the_index_is_kept_where_the_lineage_package_says(proj: Proj) -> None:
    project = Project.find(str(proj.root))
    path = Path(index_path(project))
    assert path == proj.root / ".mlrepro" / "state" / "lineage.db"
    sha = proj.out_record("make", "out.txt")["sha256"]
    assert not path.exists()
    found = json.loads(proj.ok("lineage", "--digest", sha, "--json").stdout)["found"]
    assert [(h["role"], h["stage"], h["path"]) for h in found] == [("produced", "make", "out.txt")]
    assert path.is_file()
    # the same index, opened in-process, answers the same
    with Revisions.of(project) as revs, DigestIndex.of(project, revs) as index:
        assert [h.commit for h in index.find(sha)] == [h["commit"] for h in found]
        db = index.db
    with pytest.raises(sqlite3.ProgrammingError):  # closed at the end of the block
        db.execute("SELECT 1")
    project.close()
