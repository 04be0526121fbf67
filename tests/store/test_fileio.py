"""Low-level file writing: naming an unnamed file."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

import pytest

from mlrepro.fsutil import unnamed_files
from mlrepro.store import fileio

needs_unnamed = pytest.mark.skipif(
    not unnamed_files(tempfile.gettempdir()), reason="no unnamed files (O_TMPFILE) here"
)


def unnamed(folder: Path, data: bytes) -> int:
    fd = os.open(folder, os.O_WRONLY | os.O_TMPFILE, 0o444)
    os.write(fd, data)
    return fd


@needs_unnamed
def test_an_unnamed_file_is_named_once_and_a_taken_name_refused(tmp_path: Path) -> None:
    """The file gets the name with its bytes and mode; naming another file the same is
    refused with FileExistsError and leaves the first as it was; a name in a folder
    that does not exist is an error naming it."""
    name = "caf\udce9 obj"  # a name that is not UTF-8 (issue 15)
    dir_fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for data, outcome in ((b"bytes", None), (b"other", FileExistsError)):
            fd = unnamed(tmp_path, data)
            try:
                if outcome is None:
                    fileio.name_open_file(fd, dir_fd, name)
                else:
                    with pytest.raises(outcome):
                        fileio.name_open_file(fd, dir_fd, name)
            finally:
                os.close(fd)
        fd = unnamed(tmp_path, b"x")
        try:
            with pytest.raises(FileNotFoundError, match="no-such-folder/name"):
                fileio.name_open_file(fd, dir_fd, "no-such-folder/name")
        finally:
            os.close(fd)
    finally:
        os.close(dir_fd)
    assert os.listdir(tmp_path) == [name]
    assert (tmp_path / name).read_bytes() == b"bytes"
    assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o444
