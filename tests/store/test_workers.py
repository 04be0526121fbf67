"""Storing many small files in forked worker processes: same results as in-process."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlrepro.store import workers
from mlrepro.store.digest import digest_bytes
from mlrepro.store.objects import ObjectStore


@pytest.fixture
def forking(monkeypatch: pytest.MonkeyPatch) -> None:
    """Workers even for a handful of files, and at least two of them."""
    monkeypatch.setattr(workers, "_MIN_PER_WORKER", 2)
    monkeypatch.setattr(os, "cpu_count", lambda: 3)


def no_children_left() -> bool:
    try:
        os.waitpid(-1, os.WNOHANG)
    except ChildProcessError:
        return True
    return False


@settings(max_examples=15, deadline=None)
@given(contents=st.lists(st.binary(max_size=300), min_size=4, max_size=40))
def test_workers_store_what_the_process_itself_would(
    tmp_path_factory: pytest.TempPathFactory, contents: list[bytes]
) -> None:
    tmp = tmp_path_factory.mktemp("w")
    paths = []
    for i, data in enumerate(contents):
        p = tmp / f"f{i}"
        p.write_bytes(data)
        paths.append(str(p))
    store = ObjectStore(str(tmp / "cache"))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(workers, "_MIN_PER_WORKER", 2)
        mp.setattr(os, "cpu_count", lambda: 3)
        assert workers.workers_for(len(paths)) >= 2
        results = workers.add_small_files(store, paths)
    assert len(results) == len(contents)
    for data, path, (digest, (ino, size, mtime)) in zip(contents, paths, results, strict=True):
        assert digest == digest_bytes(data, sha=True)
        st_ = os.stat(path)
        assert (ino, size, mtime) == (st_.st_ino, st_.st_size, st_.st_mtime_ns)
        assert Path(store.path(digest.xxh)).read_bytes() == data
    assert no_children_left()


def test_a_failing_worker_raises_here_and_leaves_no_child(tmp_path: Path, forking: None) -> None:
    paths = []
    for i in range(10):
        p = tmp_path / f"f{i}"
        p.write_bytes(b"x%d" % i)
        paths.append(str(p))
    paths[7] = str(tmp_path / "vanished")
    with pytest.raises(FileNotFoundError):
        workers.add_small_files(ObjectStore(str(tmp_path / "cache")), paths)
    assert no_children_left()


def test_no_fork_while_other_threads_run(forking: None) -> None:
    assert workers.workers_for(100) > 1
    stop = threading.Event()
    t = threading.Thread(target=stop.wait)
    t.start()
    try:
        assert workers.workers_for(100) == 1
    finally:
        stop.set()
        t.join()
