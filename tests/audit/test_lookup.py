"""Finding audit entries by place (mlrepro.audit.lookup): its fast path agrees with the
reference beside it (issue 16), on a real repository holding a real log of 2,600
entries in three folders of the ref's tree, and a few pending ones."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlrepro.audit.entry import context
from mlrepro.audit.lookup import EntryFinder
from mlrepro.audit.store import AuditStore, Placed
from mlrepro.git.catfile import Answer
from tests.ops.conftest import GIT_ENV


@dataclass(frozen=True)
class Log:
    root: Path
    published: list[Placed]
    pending: list[Placed]

    def finder(self, by_tree: bool = True) -> EntryFinder:
        return EntryFinder(str(self.root), str(self.root / ".mlrepro"), by_tree=by_tree)


def make_repo(root: Path) -> Path:
    root.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=root, check=True)
    subprocess.run(["git", "commit", "-q", "--allow-empty", "-m", "init"], cwd=root, check=True)
    (root / ".mlrepro").mkdir()
    return root


def append(store: AuditStore, n: int) -> list[Placed]:
    shared = context(store.root)
    return [store.append("test.action", {"n": i}, shared) for i in range(n)]


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Log]:
    with pytest.MonkeyPatch.context() as mp:
        for key, value in GIT_ENV.items():
            mp.setenv(key, value)
        root = make_repo(tmp_path_factory.mktemp("lookup") / "repo")
        store = AuditStore(str(root), str(root / ".mlrepro"))
        # two publications (the second rewrites folder 00001), then entries left pending
        published = append(store, 1500)
        assert store.publish() == 1500
        published += append(store, 1100)
        assert store.publish() == 1100
        pending = append(store, 5)
        assert {p.seq // 1000 for p in published} == {0, 1, 2}
        yield Log(root, published, pending)


def places(log: Log) -> st.SearchStrategy[Placed]:
    """Present (published, pending) and absent places: unknown ids, a present entry's id
    at another seq, a present seq under another entry's id, in folders that exist or not."""
    present = st.sampled_from(log.published + log.pending)
    hex_id = st.binary(min_size=32, max_size=32).map(bytes.hex)
    seqs = st.integers(min_value=0, max_value=6000)
    return st.one_of(
        st.sampled_from(log.published),
        st.sampled_from(log.pending),
        st.builds(Placed, seqs, hex_id),
        st.builds(lambda p, q: Placed(p.seq, q.id), present, present),
        st.builds(lambda p, d: Placed(max(0, p.seq + d), p.id), present, st.integers(-2, 2)),
        st.builds(lambda p, s: Placed(s, p.id), present, seqs),
    )


@pytest.mark.slow
@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_the_fast_path_finds_what_its_reference_finds(log: Log, data: st.DataObject) -> None:
    wanted = data.draw(st.lists(places(log), max_size=40), label="wanted")
    truth = set(log.published) | set(log.pending)
    with log.finder(by_tree=False) as reference:
        expected = {p: reference.find(*p) for p in wanted}
    # the reference is right: an entry for every place the log holds, and only those
    assert {p for p, e in expected.items() if e is not None} == set(wanted) & truth
    for p, entry in expected.items():
        if entry is not None:
            assert entry["seq"] == p.seq and entry["action"] == "test.action"
    with log.finder(by_tree=True) as finder:
        assert {p: finder.find(*p) for p in wanted} == expected
    for by_tree in (True, False):
        with log.finder(by_tree) as finder:
            found = finder.find_all(wanted)
            assert found == {p: e for p, e in expected.items() if e is not None}
            assert found == {p: e for p in wanted if (e := finder.find(*p)) is not None}


def test_the_fast_path_reads_each_folder_once(log: Log, monkeypatch: pytest.MonkeyPatch) -> None:
    wanted = log.published[990:1010]  # in two folders
    with log.finder() as finder:
        asked: list[str] = []
        ask = finder._git.ask

        def counted(names: list[str]) -> list[Answer]:
            asked.extend(names)
            return ask(names)

        monkeypatch.setattr(finder._git, "ask", counted)
        assert all(finder.find(*p) is not None for p in wanted)
        folders = [n for n in asked if ":" in n]
        assert folders == ["refs/mlrepro/audit:entries/00000", "refs/mlrepro/audit:entries/00001"]
        assert len(asked) == len(wanted) + 2  # then one blob id per entry


@pytest.mark.parametrize("by_tree", [True, False])
def test_an_entry_published_after_its_folder_was_read_is_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, by_tree: bool
) -> None:
    for key, value in GIT_ENV.items():
        monkeypatch.setenv(key, value)
    root = make_repo(tmp_path / "repo")
    store = AuditStore(str(root), str(root / ".mlrepro"))
    first = append(store, 3)
    store.publish()
    with EntryFinder(str(root), str(root / ".mlrepro"), by_tree=by_tree) as finder:
        assert finder.find_all(first).keys() == set(first)
        # another process appends and publishes: the ref moves, the pending file is emptied
        other = AuditStore(str(root), str(root / ".mlrepro"))
        later = append(other, 2)
        other.publish()
        assert finder.find_all(later).keys() == set(later)
        assert finder.find(*first[0]) is not None
