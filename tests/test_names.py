"""File names as SQLite holds them (``mlrepro.names``).

A UTF-8 name is kept as the very text it is (a TEXT value); a name that is not UTF-8
(lone surrogates, Python's ``surrogateescape``) is kept as its bytes (a BLOB), which
SQLite can store where it cannot store the text. :func:`name_of` undoes :func:`held`
for every name a file system can give, checked here through a real SQLite database and
real files.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlrepro.names import held, name_of

utf8_names = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=16)
# any bytes a Linux file name may hold, as Python's os functions give them back
fs_names = st.binary(min_size=1, max_size=16).map(lambda b: b.decode("utf-8", "surrogateescape"))


def test_ascii_and_utf8_names_are_kept_as_text() -> None:
    for name in ("data/train.csv", "café/ü.txt", "模型.bin", "emoji-\U0001f600"):
        assert held(name) == name
        assert isinstance(held(name), str)
    name = "plain.csv"
    assert held(name) is name


def test_a_name_that_is_not_utf8_is_kept_as_its_bytes() -> None:
    name = b"caf\xe9/\xff.csv".decode("utf-8", "surrogateescape")
    assert held(name) == b"caf\xe9/\xff.csv"
    assert name_of(b"caf\xe9/\xff.csv") == name


@settings(max_examples=100)
@given(st.one_of(utf8_names, fs_names))
def test_name_of_undoes_held(name: str) -> None:
    value = held(name)
    assert name_of(value) == name
    # one form per name: text whenever the name is UTF-8, bytes only when it is not
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        assert value == os.fsencode(name)
    else:
        assert value == name


@settings(max_examples=100)
@given(st.lists(st.one_of(utf8_names, fs_names), min_size=1, max_size=8, unique=True))
def test_names_go_through_sqlite_and_come_back(names: list[str]) -> None:
    db = sqlite3.connect(":memory:")
    try:
        db.execute("CREATE TABLE files (path PRIMARY KEY)")
        db.executemany("INSERT INTO files VALUES (?)", [(held(n),) for n in names])
        rows = db.execute("SELECT path, typeof(path) FROM files").fetchall()
        assert sorted(name_of(p) for p, _ in rows) == sorted(names)
        for path, kind in rows:
            assert kind == ("text" if isinstance(path, str) else "blob")
        # a name is found by the value held for it
        for n in names:
            found = db.execute("SELECT count(*) FROM files WHERE path = ?", (held(n),))
            assert found.fetchone() == (1,)
    finally:
        db.close()


def test_sqlite_cannot_store_the_text_of_a_name_that_is_not_utf8() -> None:
    """Why the module exists: the name itself is refused, its held form is not."""
    name = b"\xff".decode("utf-8", "surrogateescape")
    db = sqlite3.connect(":memory:")
    try:
        db.execute("CREATE TABLE files (path)")
        with pytest.raises(UnicodeEncodeError):
            db.execute("INSERT INTO files VALUES (?)", (name,))
        db.execute("INSERT INTO files VALUES (?)", (held(name),))
        assert [name_of(p) for (p,) in db.execute("SELECT path FROM files")] == [name]
    finally:
        db.close()


def test_real_file_names_round_trip(tmp_path: Path) -> None:
    folder = tmp_path / "files"
    folder.mkdir()
    raw = [b"plain.txt", "caf\u00e9.txt".encode(), b"caf\xe9.txt", b"\x80\xfe\xff"]
    for name in raw:
        (folder / os.fsdecode(name)).write_bytes(name)
    db = sqlite3.connect(str(tmp_path / "index.db"))
    try:
        db.execute("CREATE TABLE files (path PRIMARY KEY)")
        db.executemany("INSERT INTO files VALUES (?)", [(held(n),) for n in os.listdir(folder)])
        db.commit()
        stored = [name_of(p) for (p,) in db.execute("SELECT path FROM files")]
    finally:
        db.close()
    assert sorted(os.fsencode(n) for n in stored) == sorted(raw)
    for found in stored:
        assert (folder / found).read_bytes() == os.fsencode(found)
