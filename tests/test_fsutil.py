"""atomic_write: the unnamed-file way and the reference (a named temporary file) write
the same file, report the same errors naming the same path, and leave nothing behind."""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlrepro import fsutil
from mlrepro.fsutil import atomic_write, atomic_write_named, atomic_write_unnamed, unnamed_files
from tests.adversarial.test_disk import fill, small_disk

Writer = Callable[..., None]
WAYS: list[Writer] = [atomic_write_named]
if unnamed_files(tempfile.gettempdir()):
    WAYS.insert(0, atomic_write_unnamed)


def listing(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {p.name: (p.read_bytes(), stat.S_IMODE(p.stat().st_mode)) for p in folder.iterdir()}


@settings(max_examples=40)
@given(
    old=st.none() | st.binary(max_size=3000),
    new=st.binary(max_size=3000),
    mode=st.sampled_from([0o644, 0o600, 0o444, 0o755]),
)
def test_both_ways_write_the_same_file(old: bytes | None, new: bytes, mode: int) -> None:
    """Over a file or where there was none, any bytes, any mode: the same folder after."""
    after = []
    for way in WAYS:
        with tempfile.TemporaryDirectory() as tmp:
            target = Path(tmp) / "mlrepro.lock"
            if old is not None:
                target.write_bytes(old)
            (Path(tmp) / "neighbour").write_bytes(b"kept")
            way(str(target), new, mode)
            after.append(listing(Path(tmp)))
    assert all(a == after[0] for a in after)
    assert after[0] == {"mlrepro.lock": (new, mode), "neighbour": (b"kept", 0o644)}


def test_the_unnamed_way_is_chosen_where_the_file_system_has_it(tmp_path: Path) -> None:
    chosen = []
    with (
        mock.patch.object(fsutil, "atomic_write_unnamed", lambda *a: chosen.append("unnamed")),
        mock.patch.object(fsutil, "atomic_write_named", lambda *a: chosen.append("named")),
    ):
        atomic_write(str(tmp_path / "f"), b"x")
        with mock.patch.object(fsutil, "unnamed_files", lambda folder: False):
            atomic_write(str(tmp_path / "f"), b"x")
    assert chosen == ["unnamed" if unnamed_files(str(tmp_path)) else "named", "named"]


@pytest.mark.parametrize(
    ("code", "unnamed"),
    [
        (errno.EOPNOTSUPP, False),  # a file system without unnamed files
        (errno.EISDIR, False),  # a kernel without O_TMPFILE
        (errno.EINVAL, False),
        (errno.EROFS, True),  # refused for another reason: the write reports it
        (errno.EACCES, True),
        (errno.ENOSPC, True),
    ],
)
def test_the_probe_says_no_only_for_a_missing_feature(
    tmp_path: Path, code: int, unnamed: bool
) -> None:
    real = os.open

    def refuse(path: object, flags: int, *args: object, **kw: object) -> int:
        if flags & os.O_TMPFILE == os.O_TMPFILE:
            raise OSError(code, os.strerror(code), path)
        return real(path, flags, *args, **kw)  # type: ignore[arg-type]

    with mock.patch.object(os, "open", refuse):
        assert fsutil.unnamed_files.__wrapped__(str(tmp_path)) is unnamed


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Path]:
    with small_disk(tmp_path / "disk", size=1 << 20) as mounted:
        yield mounted


@pytest.mark.parametrize("way", WAYS, ids=lambda w: w.__name__)
def test_a_full_disk_is_reported_naming_the_file_and_leaves_nothing(
    disk: Path, way: Writer
) -> None:
    target = disk / "mlrepro.lock"
    target.write_bytes(b"old")
    filler = fill(disk)
    with pytest.raises(OSError) as caught:
        way(str(target), b"n" * (256 << 10))
    assert caught.value.errno == errno.ENOSPC
    assert caught.value.filename == str(target)  # the user's file, not a temporary name
    assert target.read_bytes() == b"old"
    filler.unlink()
    assert sorted(p.name for p in disk.iterdir()) == ["mlrepro.lock"]
