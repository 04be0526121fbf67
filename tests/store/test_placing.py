"""``placing.place_new``: an object written under its final name in a private folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlrepro.store.digest import SMALL
from mlrepro.store.objects import CorruptObjectError, MissingObjectError, ObjectStore
from mlrepro.store.placing import place_new

PAST = 1_600_000_000_000_000_000


@settings(max_examples=40, deadline=None)
@given(data=st.binary(max_size=3000), link=st.sampled_from(["copy", "hardlink", "symlink"]))
def test_round_trip_for_every_link_type(
    tmp_path_factory: pytest.TempPathFactory, data: bytes, link: str
) -> None:
    tmp = tmp_path_factory.mktemp("place")
    store = ObjectStore(str(tmp / "cache"))
    xxh = store.add_bytes(data)
    dest = tmp / "out.bin"
    st_ = place_new(store, xxh, str(dest), link, size=len(data), mtime_ns=PAST)
    assert dest.read_bytes() == data
    assert st_.st_ino == os.stat(dest).st_ino and st_.st_size == len(data)
    if link == "copy":
        assert st_.st_mtime_ns == PAST
        assert os.stat(dest).st_mode & 0o777 == 0o644
        assert not os.path.samefile(dest, store.path(xxh))


def test_a_large_object_is_copied_and_verified(tmp_path: Path) -> None:
    data = os.urandom(SMALL + 12345)
    store = ObjectStore(str(tmp_path / "cache"))
    src = tmp_path / "src"
    src.write_bytes(data)
    d = store.add_file(str(src), size=len(data))
    place_new(store, d.xxh, str(tmp_path / "out"), "copy", size=len(data), mtime_ns=PAST)
    assert (tmp_path / "out").read_bytes() == data


@pytest.mark.parametrize("size", [5, SMALL + 1])
def test_a_corrupt_object_leaves_nothing_behind(tmp_path: Path, size: int) -> None:
    store = ObjectStore(str(tmp_path / "cache"))
    data = b"x" * size
    src = tmp_path / "src"
    src.write_bytes(data)
    xxh = store.add_file(str(src), size=size).xxh
    obj = store.path(xxh)
    os.chmod(obj, 0o644)
    with open(obj, "r+b") as f:
        f.write(b"y")
    with pytest.raises(CorruptObjectError):
        place_new(store, xxh, str(tmp_path / "out"), "copy", size=size, mtime_ns=PAST)
    assert not (tmp_path / "out").exists()


def test_missing_object_and_existing_destination(tmp_path: Path) -> None:
    store = ObjectStore(str(tmp_path / "cache"))
    for link in ("copy", "hardlink", "symlink", "reflink"):
        with pytest.raises(MissingObjectError):
            place_new(store, "0" * 32, str(tmp_path / "out"), link, size=1, mtime_ns=PAST)
        assert not os.path.lexists(tmp_path / "out")
    xxh = store.add_bytes(b"abc")
    (tmp_path / "taken").write_bytes(b"mine")
    with pytest.raises(FileExistsError):
        place_new(store, xxh, str(tmp_path / "taken"), "copy", size=3, mtime_ns=PAST)
    assert (tmp_path / "taken").read_bytes() == b"mine"
