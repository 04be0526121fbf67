"""The audit log's git storage in a real repository: publication by ``git fast-import``,
the compare-and-swap of the ref, a crash between the ref update and the clearing of
the pending file, and the git questions a command asks when it starts."""

from __future__ import annotations

import os
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlrepro.audit.chain import verify
from mlrepro.audit.entry import context
from mlrepro.audit.recorder import Recorder
from mlrepro.audit.store import REF, RESERVE, AuditStore
from mlrepro.git.refstore import RefConflict, RefStore
from tests.ops.conftest import GIT_ENV


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for key, value in GIT_ENV.items():
        monkeypatch.setenv(key, value)
    root = tmp_path / "repo"
    root.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=root, check=True)
    (root / "README").write_text("x\n")
    subprocess.run(["git", "add", "README"], cwd=root, check=True)
    subprocess.run(["git", "commit", "-q", "-m", "init"], cwd=root, check=True)
    (root / ".mlrepro").mkdir()
    return root


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=root, check=True, capture_output=True, text=True
    ).stdout.strip()


def append(store: AuditStore, n: int, action: str = "test.action") -> list[str]:
    shared = context(store.root)
    return [store.append(action, {"n": i}, shared).id for i in range(n)]


def test_one_publication_is_one_commit_holding_every_entry(repo: Path) -> None:
    store = AuditStore(str(repo), str(repo / ".mlrepro"))
    ids = append(store, 3)
    assert store.publish() == 3
    assert git(repo, "rev-list", "--count", REF) == "1"
    names = git(repo, "ls-tree", "-r", "--name-only", REF).splitlines()
    assert names == [f"entries/00000/{i + 1:08d}-{eid}.json" for i, eid in enumerate(ids)]
    assert (repo / ".mlrepro/audit/pending.jsonl").read_bytes().strip(b"\0") == b""
    # each blob holds the entry's canonical bytes, which hash to its name
    assert not verify(store.published()).breaks
    more = append(store, 2)
    assert store.publish() == 2
    assert git(repo, "rev-list", "--count", REF) == "2"
    assert len(store.published()) == 5
    assert git(repo, "log", "-1", "--format=%B", REF).endswith(f"head 5 {more[-1]}")


def test_a_crash_after_the_ref_moved_publishes_nothing_twice(repo: Path) -> None:
    store = AuditStore(str(repo), str(repo / ".mlrepro"))
    append(store, 4)
    left = (repo / ".mlrepro/audit/pending.jsonl").read_bytes()
    store.publish()
    tip = git(repo, "rev-parse", REF)
    # the process died after fast-import moved the ref, before it cleared the file
    (repo / ".mlrepro/audit/pending.jsonl").write_bytes(left)
    again = AuditStore(str(repo), str(repo / ".mlrepro"))
    assert again.publish() == 4  # handled: cleared without a new commit
    assert git(repo, "rev-parse", REF) == tip
    assert again.pending() == []
    assert len(again.published()) == 4


def test_entries_go_into_zero_filled_space_reserved_ahead_of_them(repo: Path) -> None:
    store = AuditStore(str(repo), str(repo / ".mlrepro"))
    pending = repo / ".mlrepro/audit/pending.jsonl"
    ids = append(store, 3)
    held = pending.read_bytes()
    lines, _, reserve = held.partition(b"\0")
    # whole blocks, the lines first, zeros after them
    assert len(held) % 4096 == 0 and len(held) >= RESERVE
    assert reserve.strip(b"\0") == b""
    assert [s.name_id for s in store.pending()] == ids
    assert len(lines.splitlines()) == 3 and lines.endswith(b"\n")
    # many more than the first reserve holds: the file grows, every entry is read back
    big = {"blob": "x" * 5000}
    more = [store.append("test.big", big, context(store.root)).id for _ in range(40)]
    assert pending.stat().st_size >= 40 * 5000
    assert [s.name_id for s in store.pending()] == ids + more
    assert not verify(store.pending()).breaks
    assert store.publish() == 43
    # emptied, its blocks kept: the next command appends even on a full disk (issue 15)
    assert pending.read_bytes().strip(b"\0") == b""
    assert pending.stat().st_size >= RESERVE
    # after a publication the next entry starts a new reserve
    last = append(store, 1)
    assert [s.name_id for s in store.pending()] == last


def test_an_entry_after_a_torn_line_starts_a_line_of_its_own(repo: Path) -> None:
    store = AuditStore(str(repo), str(repo / ".mlrepro"))
    first = append(store, 1)
    pending = repo / ".mlrepro/audit/pending.jsonl"
    lines = pending.read_bytes().partition(b"\0")[0]
    # a crash tore the second line: part of it reached the disk, the reserve after it
    pending.write_bytes(lines + b'{"seq":2,"act' + bytes(8192))
    later = AuditStore(str(repo), str(repo / ".mlrepro"))
    shared = context(later.root)
    eid = later.append("test.after", {"n": 1}, shared).id
    assert [s.name_id for s in later.pending()] == [first[0], eid]
    assert pending.read_bytes().partition(b"\0")[0].count(b"\n") == 3


def test_entries_published_again_under_an_older_tip_message_land_on_the_same_paths(
    repo: Path,
) -> None:
    store = AuditStore(str(repo), str(repo / ".mlrepro"))
    append(store, 2)
    pending = store.pending()
    store.publish()
    tip = git(repo, "rev-parse", REF)
    # a tip whose message does not name its head (written by something else)
    files = [(f"entries/00000/{s.name_seq:08d}-{s.name_id}.json", s.data) for s in pending]
    store.git.add_files(REF, tip, files, "rewritten without a head line\n", 0)
    assert git(repo, "rev-parse", f"{REF}^{{tree}}") == git(repo, "rev-parse", f"{tip}^{{tree}}")
    assert len(store.published()) == 2


def test_the_ref_moves_only_from_the_tip_the_commit_was_built_on(repo: Path) -> None:
    refs = RefStore(str(repo))
    refs.add_files(REF, None, [("entries/a.json", b"{}")], "one\n", 0)
    first = git(repo, "rev-parse", REF)
    refs.add_files(REF, first, [("entries/b.json", b"{}")], "two\n", 0)
    second = git(repo, "rev-parse", REF)
    with pytest.raises(RefConflict):
        refs.add_files(REF, first, [("entries/c.json", b"{}")], "stale\n", 0)
    with pytest.raises(RefConflict):
        refs.add_files(REF, None, [("entries/c.json", b"{}")], "unborn\n", 0)
    assert git(repo, "rev-parse", REF) == second
    assert git(repo, "ls-tree", "-r", "--name-only", REF).split() == [
        "entries/a.json",
        "entries/b.json",
    ]


def test_a_publication_that_lost_the_race_reads_the_tip_again(repo: Path) -> None:
    state = str(repo / ".mlrepro")
    ours = AuditStore(str(repo), state)
    append(ours, 1)
    stale = RefStore(str(repo)).tip_and_message(REF)  # no ref yet: None
    other = RefStore(str(repo))
    other.add_files(REF, None, [("entries/00000/x.json", b"{}")], "someone else\n", 0)
    racing = AuditStore(str(repo), state, tip=stale)  # believes the ref is absent
    assert racing.publish() == 1
    names = git(repo, "ls-tree", "-r", "--name-only", REF).split()
    assert "entries/00000/x.json" in names and len(names) == 2
    assert git(repo, "rev-list", "--count", REF) == "2"


def plant_ref_lock(repo: Path, age: float) -> Path:
    """The lock file a git killed while it moved the audit ref leaves behind."""
    lock = repo / ".git" / (REF + ".lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_text("0" * 40 + "\n")
    then = time.time() - age
    os.utime(lock, (then, then))
    return lock


@pytest.mark.parametrize("streamed", [False, True])
@pytest.mark.parametrize("age", [60.0, 0.0])
def test_a_ref_lock_left_by_a_killed_publisher_does_not_block_the_next(
    repo: Path, streamed: bool, age: float
) -> None:
    store = streaming_store(repo) if streamed else AuditStore(str(repo), str(repo / ".mlrepro"))
    ids = append(store, 2)
    lock = plant_ref_lock(repo, age)  # a fresh one is waited for, then taken for stale
    assert store.publish() == 2
    assert not lock.exists()
    assert git(repo, "log", "-1", "--format=%B", REF).endswith(f"head 2 {ids[-1]}")


@pytest.mark.slow
def test_a_ref_lock_that_its_owner_releases_is_left_to_it(repo: Path) -> None:
    refs = RefStore(str(repo))
    lock = plant_ref_lock(repo, 0.0)

    def owner_finishes() -> None:
        time.sleep(0.2)
        lock.unlink()

    finisher = threading.Thread(target=owner_finishes)
    finisher.start()
    assert refs.clear_stale_lock(REF) is False  # gone by the time it was old enough
    finisher.join()
    lock = plant_ref_lock(repo, 0.0)

    def owner_takes_it_again() -> None:
        time.sleep(0.2)
        lock.unlink()
        plant_ref_lock(repo, 0.0)

    again = threading.Thread(target=owner_takes_it_again)
    again.start()
    assert refs.clear_stale_lock(REF) is False  # a new lock: someone is at work
    again.join()
    assert lock.exists()


def test_moving_a_ref_past_a_stale_lock(repo: Path) -> None:
    refs = RefStore(str(repo))
    head = git(repo, "rev-parse", "HEAD")
    lock = plant_ref_lock(repo, 60.0)
    refs.move(REF, head, None)
    assert git(repo, "rev-parse", REF) == head and not lock.exists()
    with pytest.raises(RefConflict):  # a real conflict is still one
        refs.move(REF, head, None)


def streaming_store(repo: Path) -> AuditStore:
    """A store as a command has it after its first entry's setup: the ref's tip known
    (here: no ref yet) and nothing left pending, so it appends alone and streams."""
    store = AuditStore(str(repo), str(repo / ".mlrepro"), tip=None)
    assert store.publish() == 0
    return store


def test_entries_stream_to_fast_import_as_they_are_appended(repo: Path) -> None:
    store = streaming_store(repo)
    ids = append(store, 3)
    imp = store._import
    assert imp is not None and imp.marks == 3  # each entry went out as it was appended
    assert git(repo, "for-each-ref", REF) == ""  # nothing visible before publication
    assert store.publish() == 3
    assert store._import is None and imp._proc.returncode == 0
    assert git(repo, "rev-list", "--count", REF) == "1"
    names = git(repo, "ls-tree", "-r", "--name-only", REF).splitlines()
    assert names == [f"entries/00000/{i + 1:08d}-{eid}.json" for i, eid in enumerate(ids)]
    assert not verify(store.published()).breaks
    assert git(repo, "log", "-1", "--format=%B", REF).endswith(f"head 3 {ids[-1]}")
    assert (repo / ".mlrepro/audit/pending.jsonl").read_bytes().strip(b"\0") == b""


def test_a_streamed_publication_that_lost_the_race_goes_on_the_new_tip(repo: Path) -> None:
    store = streaming_store(repo)  # believes there is no ref
    append(store, 2)
    RefStore(str(repo)).add_files(REF, None, [("entries/00000/x.json", b"{}")], "other\n", 0)
    assert store.publish() == 2
    names = git(repo, "ls-tree", "-r", "--name-only", REF).split()
    assert "entries/00000/x.json" in names and len(names) == 3
    assert git(repo, "rev-list", "--count", REF) == "2"


@pytest.mark.parametrize("when", ["while streaming", "after the last entry"])
def test_a_fast_import_that_died_is_replaced_at_publication(repo: Path, when: str) -> None:
    store = streaming_store(repo)
    append(store, 1)
    assert store._import is not None
    proc = store._import._proc
    if when == "while streaming":
        proc.kill()
        proc.wait()
        # more than its input buffer holds: a write fails, and the import is broken
        append(store, 30)
        assert store._import.broken
    else:
        append(store, 30)
        proc.kill()
        proc.wait()
    assert store.publish() == 31
    assert len(git(repo, "ls-tree", "-r", "--name-only", REF).split()) == 31
    assert not verify(store.published()).breaks


def test_a_stream_never_committed_moves_nothing_and_leaves_no_process(repo: Path) -> None:
    store = streaming_store(repo)
    append(store, 2)
    assert store._import is not None
    proc = store._import._proc
    store.close()  # the command failed before publishing
    assert proc.returncode is not None
    assert git(repo, "for-each-ref", REF) == ""
    assert len(store.pending()) == 2  # still pending: the next command publishes them
    assert AuditStore(str(repo), str(repo / ".mlrepro")).publish() == 2


def test_a_stream_cut_off_without_its_end_moves_no_ref(repo: Path) -> None:
    # as when the command is killed: fast-import reads the end of its input without
    # the final "done" and gives up instead of committing
    store = streaming_store(repo)
    append(store, 2)
    assert store._import is not None
    proc = store._import._proc
    assert proc.stdin is not None
    proc.stdin.close()
    assert proc.wait(timeout=30) != 0
    assert git(repo, "for-each-ref", REF) == ""
    store._import = None  # as after a crash: nothing of this process is left


def test_a_command_that_records_nothing_stops_its_git_questions_cleanly(repo: Path) -> None:
    # many tracked files so that `git status` is still running when it is stopped
    for i in range(300):
        (repo / f"f{i}.txt").write_text(str(i))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "files")
    os.utime(repo / ".git/index", (0, 0))  # stale index: status would want to refresh it
    for _ in range(5):
        recorder = Recorder(str(repo), str(repo / ".mlrepro"))
        asked = list(recorder._started())
        recorder.close()
        assert all(p is None or p.returncode is not None for p in asked)
        assert not (repo / ".git/index.lock").exists()
    assert git(repo, "for-each-ref", REF) == ""
    assert not (repo / ".mlrepro/audit").exists()


def test_a_command_that_records_reads_the_answers_asked_at_its_start(repo: Path) -> None:
    recorder = Recorder(str(repo), str(repo / ".mlrepro"))
    # the questions are asked (by a thread, while the command loads) and answered: wait
    # for git to have read the repository (their answers are a few lines, well within a
    # pipe's buffer), or a slow git under load reads it after the switch below
    for proc in recorder._started():
        if proc is not None:
            proc.wait()
    git(repo, "checkout", "-q", "-b", "later")  # after the command started
    recorder.record("test.action", {"n": 1})
    recorder.close()
    store = AuditStore(str(repo), str(repo / ".mlrepro"))
    ((_, entry),) = store.entries()
    assert entry["git"]["branch"] == "main"
    assert entry["git"]["commit"] == git(repo, "rev-parse", "HEAD")
    assert entry["actor"]["git_email"] == GIT_ENV["GIT_AUTHOR_EMAIL"]
    assert entry["git"]["dirty"] is False


def test_the_context_names_commit_branch_and_uncommitted_changes(
    repo: Path, tmp_path: Path
) -> None:
    head = git(repo, "rev-parse", "HEAD")
    clean = context(str(repo))["git"]
    assert clean == {"commit": head, "branch": "main", "dirty": False}
    (repo / "README").write_text("changed\n")
    assert context(str(repo))["git"] == {"commit": head, "branch": "main", "dirty": True}
    git(repo, "checkout", "-q", "README")
    (repo / "untracked.txt").write_text("new\n")  # untracked files do not make it dirty
    git(repo, "checkout", "-q", "--detach")
    assert context(str(repo))["git"] == {"commit": head, "branch": None, "dirty": False}
    fresh = tmp_path / "fresh"
    subprocess.run(["git", "init", "-q", "-b", "trunk", str(fresh)], check=True)
    assert context(str(fresh))["git"] == {"commit": None, "branch": "trunk", "dirty": False}
    outside = tmp_path / "outside"
    outside.mkdir()
    unknown = context(str(outside))["git"]
    assert unknown["commit"] is None and unknown["dirty"] is None


def _packs(root: Path) -> int:
    return len(list((root / ".git/objects/pack").glob("*.pack")))


def _add_packs(root: Path, n: int, branch: str = "filler") -> None:
    # packs as fast-import leaves them (100 objects or more stay packed)
    ref = f"refs/heads/{branch}".encode()
    for i in range(n):
        stream = b"commit %s\ncommitter a <a@b> %d +0000\ndata 1\nx\n" % (ref, i + 1)
        if i:
            stream += b"from %s^0\n" % ref
        for j in range(101):
            body = b"%s %d %d" % (ref, i, j)
            stream += b"M 100644 inline f%d\ndata %d\n%s\n" % (j, len(body), body)
        subprocess.run(["git", "fast-import", "--quiet"], cwd=root, input=stream, check=True)


def test_past_gits_pack_limit_git_is_asked_to_tidy_up(repo: Path) -> None:
    import time

    _add_packs(repo, 51)
    assert _packs(repo) > 50
    store = AuditStore(str(repo), str(repo / ".mlrepro"))
    append(store, 1)
    store.publish()
    deadline = time.monotonic() + 30
    while _packs(repo) > 2 and time.monotonic() < deadline:  # git packs in the background
        time.sleep(0.2)
    assert _packs(repo) <= 2
    assert not verify(store.published()).breaks
    # the next publication sees git has packed, and forgets it asked
    assert (repo / ".mlrepro/audit/tidy").exists()
    append(store, 1)
    store.publish()
    assert not (repo / ".mlrepro/audit/tidy").exists()


def test_with_gits_housekeeping_off_it_is_asked_only_every_25_packs(repo: Path) -> None:
    git(repo, "config", "gc.auto", "0")
    _add_packs(repo, 51)
    store = AuditStore(str(repo), str(repo / ".mlrepro"))
    marker = repo / ".mlrepro/audit/tidy"
    append(store, 1)
    store.publish()
    first = int(marker.read_text())
    assert first == _packs(repo) > 50  # asked, and nothing was packed
    append(store, 1)
    store.publish()
    assert int(marker.read_text()) == first  # not asked again yet
    _add_packs(repo, 25, "more")
    append(store, 1)
    store.publish()
    assert int(marker.read_text()) == _packs(repo) >= first + 25


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.integers(min_value=0, max_value=20000), min_size=1, max_size=12),
    cut=st.floats(min_value=0, max_value=1),
)
def test_pending_entries_read_back_whole_or_as_a_prefix_after_a_torn_write(
    sizes: list[int], cut: float
) -> None:
    """Any entries, of any size (across the reserve's growth), read back in order; a
    crash that kept the file only up to some byte (the rest still zeros) loses the
    entries from the torn one on, never one before it, and never mixes two. An entry
    whose bytes all survived counts even if its newline did not."""
    with tempfile.TemporaryDirectory() as tmp:
        store = AuditStore(tmp, os.path.join(tmp, ".mlrepro"), tip=None)
        shared = {"host": "h"}
        ids = [store.append("test.size", {"pad": "p" * n}, shared).id for n in sizes]
        assert [s.name_id for s in store.pending()] == ids
        store.close()
        path = os.path.join(tmp, ".mlrepro", "audit", "pending.jsonl")
        with open(path, "rb") as f:
            held = f.read()
        end = held.index(b"\0")
        kept = int(end * cut)
        with open(path, "wb") as f:
            f.write(held[:kept] + bytes(len(held) - kept))
        # an entry survives when all its bytes did (its newline may be lost with the tail)
        line_ends = [i for i, byte in enumerate(held[:end]) if byte == ord("\n")]
        whole = sum(1 for e in line_ends if e <= kept)
        after = AuditStore(tmp, os.path.join(tmp, ".mlrepro"), tip=None)
        assert [s.name_id for s in after.pending()] == ids[:whole]
        # the next entry follows the last whole one in the chain
        eid = after.append("test.next", {}, shared).id
        assert [s.name_id for s in after.pending()] == [*ids[:whole], eid]
        assert not verify(after.pending()).breaks
