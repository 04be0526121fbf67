"""Storing many small files in forked worker processes: same results as in-process.

Workers are only forked from a process with no other thread, and the test process
has helper threads from other tests, so each check runs in a fresh interpreter.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlrepro.store.digest import digest_bytes

SCRIPT = r"""
import json, os, sys, threading
from mlrepro.store import workers
from mlrepro.store.objects import ObjectStore
workers._MIN_PER_WORKER = 2
os.cpu_count = lambda: 3
cache, *paths = sys.argv[1:]
report = {"workers": workers.workers_for(len(paths))}
store = ObjectStore(cache)
try:
    results = workers.add_small_files(store, paths)
    report["results"] = [[d.xxh, d.sha, d.size, list(key)] for d, key in results]
except OSError as exc:
    report["error"] = type(exc).__name__
report["flushing"] = store._flusher is not None
other = ObjectStore(cache + "-unstated")
try:
    unstated = workers.add_unstated_files(other, paths)
    report["unstated"] = [[d.xxh, d.sha, d.size, list(key), same] for d, key, same in unstated]
except OSError as exc:
    report["unstated_error"] = type(exc).__name__
other.settle()  # its own background flush is not the one checked below
report["forks_beside_its_flush"] = workers.workers_for(len(paths), store)  # waits for it
report["flush_waited_for"] = store._flusher is None
store.flush_soon()
store.sync()
report["sync_waits_for_the_flush"] = store._flusher is None
try:
    os.waitpid(-1, os.WNOHANG)
    report["children_left"] = True
except ChildProcessError:
    report["children_left"] = False
stop = threading.Event()
t = threading.Thread(target=stop.wait)
t.start()
report["workers_with_a_thread"] = workers.workers_for(len(paths))
stop.set()
t.join()
print(json.dumps(report))
"""


def run(cache: Path, paths: list[str]) -> dict:  # type: ignore[type-arg]
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(cache), *paths],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


@settings(max_examples=10, deadline=None)
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
    report = run(tmp / "cache", paths)
    assert report["workers"] >= 2
    assert report["workers_with_a_thread"] == 1  # never fork beside another thread
    assert not report["children_left"]
    # the batch is flushed to disk in the background, and that thread does not
    # stop the next batch from forking: workers_for waits for it first
    assert report["flushing"]
    assert report["forks_beside_its_flush"] >= 2
    assert report["flush_waited_for"]
    assert report["sync_waits_for_the_flush"]
    assert len(report["results"]) == len(contents)
    for data, path, (xxh, sha, size, key) in zip(contents, paths, report["results"], strict=True):
        want = digest_bytes(data, sha=True)
        assert (xxh, sha, size) == (want.xxh, want.sha, len(data))
        st_ = Path(path).stat()
        assert key == [st_.st_ino, st_.st_size, st_.st_mtime_ns]
        obj = tmp / "cache" / "xxh3-128" / xxh[:2] / xxh[2:]
        assert obj.read_bytes() == data
    # files not stat-ed beforehand: the same digests and stats, and each found unchanged
    # while read; every object stored in that cache too
    assert report["unstated"] == [[*row, True] for row in report["results"]]
    for xxh, *_ in report["results"]:
        assert (tmp / "cache-unstated" / "xxh3-128" / xxh[:2] / xxh[2:]).exists()


def small_files(folder: Path, count: int, tag: bytes) -> list[str]:
    """``count`` small files of distinct contents in ``folder``; their paths."""
    paths = []
    for i in range(count):
        p = folder / f"f{i}"
        p.write_bytes(tag + b"%d" % i)
        paths.append(str(p))
    return paths


def test_a_failing_worker_raises_here_and_leaves_no_child(tmp_path: Path) -> None:
    paths = small_files(tmp_path, 10, b"x")
    paths[7] = str(tmp_path / "vanished")
    report = run(tmp_path / "cache", paths)
    assert report["workers"] >= 2
    assert report["error"] == "FileNotFoundError"
    assert report["unstated_error"] == "FileNotFoundError"
    assert not report["children_left"]


GC_SCRIPT = r"""
import gc, os, sys
from mlrepro.store import workers
from mlrepro.store.objects import ObjectStore
workers._MIN_PER_WORKER = 2
os.cpu_count = lambda: 2


class Watched(ObjectStore):
    def add_small(self, src, *, sha=True):
        if gc.isenabled():
            raise OSError("the collector runs in a worker")
        return super().add_small(src, sha=sha)


cache, *paths = sys.argv[1:]
assert workers.workers_for(len(paths)) == 2
workers.add_small_files(Watched(cache), paths)
print("collector", "on" if gc.isenabled() else "off", "here")
"""


def test_workers_store_with_the_collector_off(tmp_path: Path) -> None:
    # A collection in a forked worker writes to the header of every object it
    # inherited, copying page after page of the parent's memory.
    paths = small_files(tmp_path, 6, b"y")
    proc = subprocess.run(
        [sys.executable, "-c", GC_SCRIPT, str(tmp_path / "cache"), *paths],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "collector on here"
    assert len(list((tmp_path / "cache" / "xxh3-128").glob("*/*"))) == 6


DIE_SCRIPT = r"""
import os, signal, sys
from mlrepro.errors import MlreproError
from mlrepro.store import workers
from mlrepro.store.objects import ObjectStore
workers._MIN_PER_WORKER = 2
os.cpu_count = lambda: 2


class Dies(ObjectStore):
    def add_small(self, src, *, sha=True):
        if src.endswith("/f7"):
            os.kill(os.getpid(), signal.SIGKILL)  # as the out-of-memory killer would
        return super().add_small(src, sha=sha)


cache, *paths = sys.argv[1:]
try:
    workers.add_small_files(Dies(cache), paths)
except workers.WorkerDiedError as exc:
    assert isinstance(exc, MlreproError) and exc.hint
    print(exc.count, exc.path)
    print(exc.message)
try:
    os.waitpid(-1, os.WNOHANG)
    print("a child is left")
except ChildProcessError:
    print("no child left")
"""


def test_a_worker_that_dies_is_reported_as_such(tmp_path: Path) -> None:
    """A worker killed mid-way (the out-of-memory killer) is a user-facing error naming
    what was being stored, not a bare OSError; no worker is left behind."""
    paths = small_files(tmp_path, 10, b"z")
    proc = subprocess.run(
        [sys.executable, "-c", DIE_SCRIPT, str(tmp_path / "cache"), *paths],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    fields, message, children = proc.stdout.splitlines()
    assert fields == f"10 {paths[0]}"
    assert message.startswith(f"a worker process storing 10 files ({paths[0]}, ...) died")
    assert children == "no child left"
