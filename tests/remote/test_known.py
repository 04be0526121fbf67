"""The local record of what a remote holds: kept across loads, dropped with a new epoch,
a torn line skipped, one file per URL."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlrepro.remote.known import HEADER, Known, record_path

A, B, C, D = ("a" * 32, "b" * 32, "0123456789abcdef" * 2, "f" * 31 + "0")
NAME = st.text("0123456789abcdef", min_size=32, max_size=32)
_records = itertools.count()


def test_names_survive_a_reload(tmp_path: Path) -> None:
    path = str(tmp_path / "rec")
    known = Known(path, "e1")
    assert len(known) == 0
    known.add([A, B])
    known.add([B, C])
    known.add([])
    assert A in known and C in known and D not in known
    again = Known(path, "e1")
    assert again.names == {A, B, C}
    assert len(again) == 3
    with open(path) as f:
        lines = f.read().split("\n")
    assert lines[:2] == [HEADER, "epoch e1"]
    assert sorted(lines[2:]) == sorted(["", A, B, C])  # each name once


def test_another_epoch_drops_the_record(tmp_path: Path) -> None:
    path = str(tmp_path / "rec")
    Known(path, "e1").add([A, B])
    later = Known(path, "e2")
    assert later.names == set()
    later.add([C])
    assert Known(path, "e2").names == {C}
    assert Known(path, "e1").names == set()  # the file was restarted under e2


def test_another_format_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "rec"
    path.write_text(f"mlrepro remote record 0\nepoch e1\n{A}\n")
    assert Known(str(path), "e1").names == set()
    path.write_bytes(b"\xff\xfe garbage")
    assert Known(str(path), "e1").names == set()


def test_a_torn_last_line_is_skipped(tmp_path: Path) -> None:
    path = str(tmp_path / "rec")
    Known(path, "e1").add([A, B])
    with open(path, "a") as f:
        f.write(C[:13])  # a crash while appending: no newline
    assert Known(path, "e1").names == {A, B}


def test_junk_lines_are_skipped(tmp_path: Path) -> None:
    path = str(tmp_path / "rec")
    Known(path, "e1").add([A])
    with open(path, "a") as f:
        f.write(f"{B.upper()}\n{B}0\n \n{B[:31]}\n{B}\n")
    assert Known(path, "e1").names == {A, B}


def test_names_added_after_a_torn_line_survive(tmp_path: Path) -> None:
    path = str(tmp_path / "rec")
    Known(path, "e1").add([A, B])
    with open(path, "a") as f:
        f.write(C[:13])
    known = Known(path, "e1")
    known.add([D])
    assert Known(path, "e1").names == {A, B, D}


def test_forget_removes_the_file(tmp_path: Path) -> None:
    path = str(tmp_path / "state" / "rec")
    known = Known(path, "e1")
    known.forget()  # nothing there yet: not an error
    known.add([A])
    assert os.path.exists(path)
    known.forget()
    assert not os.path.exists(path)
    assert A not in known
    assert Known(path, "e1").names == set()
    known.add([B])  # starts the file again
    assert Known(path, "e1").names == {B}


def test_record_path_per_url(tmp_path: Path) -> None:
    state = str(tmp_path / ".mlrepro")
    urls = ["s3://bucket/a", "s3://bucket/a/", "s3://bucket/b", "/mnt/remote", "remote"]
    paths = [record_path(state, u) for u in urls]
    assert len(set(paths)) == len(urls)
    assert record_path(state, urls[0]) == paths[0]  # stable
    for p in paths:
        assert os.path.dirname(p) == os.path.join(state, "state", "remotes")
        assert len(os.path.basename(p)) == 32
    # two remotes' records do not mix
    Known(paths[0], "-").add([A])
    Known(paths[2], "-").add([B])
    assert Known(paths[0], "-").names == {A}
    assert Known(paths[2], "-").names == {B}


def test_record_path_of_an_undecodable_url(tmp_path: Path) -> None:
    url = "/mnt/r\udcff"  # a folder name that is not UTF-8
    assert record_path(str(tmp_path), url) != record_path(str(tmp_path), "/mnt/r")


@settings(max_examples=50, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=st.lists(st.lists(NAME, max_size=8), max_size=8))
def test_batches_reload_to_their_union(tmp_path: Path, batches: list[list[str]]) -> None:
    path = str(tmp_path / f"rec{next(_records)}")  # a fresh record for each example
    known = Known(path, "e")
    for batch in batches:
        known.add(batch)
        assert Known(path, "e").names == known.names
    union = {n for batch in batches for n in batch}
    assert known.names == union
    assert Known(path, "e").names == union
