"""The digest index (``lineage/index.py``; docs/format.md, "Digest index") over a real git
history made with the real CLI: which commits produced, consumed or added an artifact."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
import xxhash

from mlrepro.lineage.index import INDEX_VERSION, DigestIndex, Hit, index_path
from mlrepro.snapshot.revisions import Revisions
from mlrepro.workspace.project import Project
from tests.ops.conftest import Proj, make_repo


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def xxh(data: bytes) -> str:
    return "xxh3-128:" + xxhash.xxh3_128_hexdigest(data)


class History:
    """out.txt is raw.txt twice, final.txt out.txt twice (every artifact its own bytes).
    main: one (raw r1) <- same (an empty commit: the same lock blob) <- two (raw r2);
    side, from two: three (raw r3) <- broken (a lock file that does not parse)."""

    def __init__(self, proj: Proj) -> None:
        self.proj = proj
        proj.write("raw.txt", "r1\n")
        proj.ok("add", "raw.txt")
        proj.pipeline(
            {
                "make": {
                    "cmd": proj.cmd(["cat", "out.txt", "raw.txt", "raw.txt"]),
                    "deps": ["raw.txt"],
                    "outs": ["out.txt"],
                },
                "use": {
                    "cmd": proj.cmd(["cat", "final.txt", "out.txt", "out.txt"]),
                    "deps": ["out.txt"],
                    "outs": ["final.txt"],
                },
            }
        )
        self.one = self._repro("one")
        proj.git("commit", "-q", "--allow-empty", "-m", "same")
        self.same = self.head()
        proj.write("raw.txt", "r2\n")
        proj.ok("add", "raw.txt")
        self.two = self._repro("two")
        proj.git("checkout", "-q", "-b", "side")
        proj.write("raw.txt", "r3\n")
        proj.ok("add", "raw.txt")
        self.three = self._repro("three")
        proj.write("mlrepro.lock", "version: 1\nstages: [not, a, mapping\n")
        proj.commit("broken")
        self.broken = self.head()
        proj.git("checkout", "-q", "-f", "main")

    def _repro(self, message: str) -> str:
        self.proj.ok("repro")
        self.proj.commit(message)
        return self.head()

    def head(self) -> str:
        return self.proj.git("rev-parse", "HEAD").strip()


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory, tool: Path) -> History:
    base = tmp_path_factory.mktemp("index")
    return History(make_repo(base / "repo", tool, base / "outside"))


@pytest.fixture
def index(history: History, tmp_path: Path) -> Iterator[DigestIndex]:
    """An index of its own (the repository is shared by the tests of this module)."""
    with Revisions(str(history.proj.root)) as revs, DigestIndex(revs, str(tmp_path / "i.db")) as i:
        yield i


def test_an_output_is_found_by_either_digest_in_every_commit_holding_its_lock(
    history: History, index: DigestIndex
) -> None:
    # out.txt at "one", and at "same", which holds the same lock blob
    out = b"r1\nr1\n"
    expected = [
        Hit(commit, role, stage, "out.txt", xxh(out), digest)
        for commit in (history.same, history.one)  # newest first
        for role, stage, digest in (("consumed", "use", None), ("produced", "make", sha(out)))
    ]
    assert index.find(sha(out)) == expected
    assert index.find(xxh(out)) == expected


def test_a_data_input_is_found_as_data_and_as_what_a_stage_consumed(
    history: History, index: DigestIndex
) -> None:
    raw = b"r2\n"
    assert index.find(sha(raw)) == [
        Hit(history.two, "consumed", "make", "raw.txt", xxh(raw), None),
        Hit(history.two, "data", None, "raw.txt", xxh(raw), sha(raw)),
    ]


def test_other_branches_only_with_all_commits(history: History, index: DigestIndex) -> None:
    raw = b"r3\n"
    assert index.find(sha(raw)) == []
    hits = index.find(sha(raw), all_commits=True)
    assert {(h.commit, h.role, h.stage) for h in hits} == {
        (history.three, "consumed", "make"),
        (history.three, "data", None),
    }
    # a lock file that does not parse is remembered as such, and answers nothing
    assert index.db.execute("SELECT count(*) FROM lock WHERE ok = 0").fetchone() == (1,)


def test_unknown_digests_find_nothing(index: DigestIndex) -> None:
    assert index.find(sha(b"never written")) == []
    assert index.find(xxh(b"never written")) == []


def test_each_lock_blob_is_parsed_once_ever(
    history: History, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = str(tmp_path / "i.db")
    root = str(history.proj.root)
    with Revisions(root) as revs, DigestIndex(revs, path) as index:
        first = index.find(sha(b"r1\n"), all_commits=True)
        locks = index.db.execute("SELECT count(*) FROM lock").fetchone()[0]
        rows = index.db.execute("SELECT count(*) FROM art").fetchone()[0]
    assert locks == 4  # one, two, three, broken ("same" shares one's blob)

    def no_reading(blob: str) -> bytes:
        raise AssertionError(f"lock blob {blob} parsed again")

    with Revisions(root) as revs, DigestIndex(revs, path) as index:
        monkeypatch.setattr(revs.git, "read_blob", no_reading)
        assert index.find(sha(b"r1\n"), all_commits=True) == first
        assert index.db.execute("SELECT count(*) FROM art").fetchone()[0] == rows


def test_an_index_of_another_version_is_rebuilt(history: History, tmp_path: Path) -> None:
    path = tmp_path / "i.db"
    db = sqlite3.connect(path)
    db.executescript(
        "CREATE TABLE lock (blob TEXT PRIMARY KEY, ok INTEGER);"
        "CREATE TABLE art (blob TEXT, role TEXT, stage TEXT, path TEXT, xxh TEXT, sha TEXT);"
        f"INSERT INTO art VALUES ('x', 'produced', 'fake', 'fake.txt', 'xxh3-128:00', "
        f"'{sha(b'forged')}');"
        f"PRAGMA user_version={INDEX_VERSION + 1};"
    )
    db.close()
    with Revisions(str(history.proj.root)) as revs, DigestIndex(revs, str(path)) as index:
        assert index.db.execute("PRAGMA user_version").fetchone() == (INDEX_VERSION,)
        assert index.db.execute("SELECT count(*) FROM art").fetchone() == (0,)
        assert index.find(sha(b"forged")) == []
        assert [h.commit for h in index.find(sha(b"r2\n"))] == [history.two, history.two]


def test_the_index_lives_in_the_state_folder(history: History) -> None:
    project = Project.find(str(history.proj.root))
    try:
        assert Path(index_path(project)) == history.proj.root / ".mlrepro/state/lineage.db"
    finally:
        project.close()


@pytest.mark.slow
def test_a_name_that_is_not_utf8_is_held_as_its_bytes_and_found_exactly(
    proj: Proj, tmp_path: Path
) -> None:
    name = b"caf\xe9.csv".decode("utf-8", "surrogateescape")
    with open(proj.root / name, "wb") as f:
        f.write(b"1,2\n")
    proj.ok("add", name)
    proj.commit("data")
    head = proj.git("rev-parse", "HEAD").strip()
    with Revisions(str(proj.root)) as revs, DigestIndex(revs, str(tmp_path / "i.db")) as index:
        hits = index.find(sha(b"1,2\n"))
        assert hits == [Hit(head, "data", None, name, xxh(b"1,2\n"), sha(b"1,2\n"))]
        assert index.db.execute("SELECT typeof(path), path FROM art").fetchall() == [
            ("blob", b"caf\xe9.csv")
        ]
