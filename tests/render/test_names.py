"""File names as people are shown them (``render/names.py``): as git quotes paths, checked
against a real git, and reversible for every name a file system can give."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlrepro.render.names import shown_path


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("data/train.csv", "data/train.csv"),
        ("café/模型 ü.bin", "café/模型 ü.bin"),  # UTF-8 stays as it is (core.quotePath=false)
        ("with space", "with space"),
        ("new\nline", '"new\\nline"'),
        ("tab\there", '"tab\\there"'),
        ('say "hi"', '"say \\"hi\\""'),
        ("back\\slash", '"back\\\\slash"'),
        ("bell\a\b\f\v\r", '"bell\\a\\b\\f\\v\\r"'),
        ("esc\x1b[31m", '"esc\\033[31m"'),
        ("nul\x00", '"nul\\000"'),
        ("del\x7f", '"del\\177"'),
        ("c1\x85", '"c1\\302\\205"'),  # a C1 control: its UTF-8 bytes in octal
        (b"caf\xe9.txt".decode("utf-8", "surrogateescape"), '"caf\\351.txt"'),
        (b"\xff\xfe".decode("utf-8", "surrogateescape"), '"\\377\\376"'),
    ],
)
def test_shown_path(name: str, shown: str) -> None:
    assert shown_path(name) == shown


# every name a Linux file system can give, as Python's os functions give it back
fs_names = st.binary(min_size=1, max_size=24).map(lambda b: b.decode("utf-8", "surrogateescape"))
UNESCAPE = {"a": 7, "b": 8, "t": 9, "n": 10, "v": 11, "f": 12, "r": 13, '"': 34, "\\": 92}


def unquote(shown: str) -> str:
    """git's C-quoted path back to the name (as ``surrogateescape`` gives it)."""
    if not shown.startswith('"'):
        return shown
    assert shown.endswith('"') and len(shown) >= 2
    out = bytearray()
    for m in re.finditer(r"\\([0-7]{3}|.)|([^\\]+)", shown[1:-1], re.DOTALL):
        esc, text = m.groups()
        if text is not None:
            assert '"' not in text  # a quote inside is always escaped
            out += text.encode("utf-8")
        elif len(esc) == 3:
            out.append(int(esc, 8))
        else:
            out.append(UNESCAPE[esc])
    return out.decode("utf-8", "surrogateescape")


@given(fs_names)
def test_any_name_is_shown_on_one_line_without_controls_and_can_be_read_back(name: str) -> None:
    shown = shown_path(name)
    # no control character (C0, DEL, C1) and no lone surrogate; other characters are the
    # name's own, as git prints them with core.quotePath=false
    assert not re.search("[\x00-\x1f\x7f-\x9f\ud800-\udfff]", shown)
    assert unquote(shown) == name
    shown.encode("utf-8")  # a terminal can be given it


@given(st.text(st.characters(blacklist_categories=("Cc", "Cs")).filter(lambda c: c not in '"\\')))
def test_a_name_without_odd_characters_is_shown_as_it_is(name: str) -> None:
    assert shown_path(name) == name


NAMES = [
    "plain.txt",
    "café ü.txt",
    "new\nline",
    "tab\tx",
    'q"uote',
    "back\\slash",
    "esc\x1bx",
    "del\x7fx",
    "cr\rx",
]
NOT_UTF8 = [b"caf\xe9.csv", b"\xff\xfe", b"a\x80b"]


def _git(root: Path, *args: str) -> bytes:
    return subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True).stdout


def test_shown_as_git_shows_paths(tmp_path: Path) -> None:
    """``git -c core.quotePath=false ls-files`` for names that are UTF-8; for names that
    are not, git's octal escapes of the bytes that are not UTF-8 (core.quotePath=true,
    which escapes only those bytes in names that are otherwise ASCII)."""
    _git(tmp_path, "init", "-q")
    for name in NAMES:
        (tmp_path / name).write_bytes(b"x")
    for raw in NOT_UTF8:
        with open(os.path.join(os.fsencode(tmp_path), raw), "wb") as f:
            f.write(b"x")
    _git(tmp_path, "add", "-A")
    loose = _git(tmp_path, "-c", "core.quotePath=false", "ls-files").decode("utf-8", "replace")
    assert set(loose.splitlines()) >= {shown_path(n) for n in NAMES}
    strict = _git(tmp_path, "-c", "core.quotePath=true", "ls-files").decode("ascii")
    assert set(strict.splitlines()) >= {
        shown_path(raw.decode("utf-8", "surrogateescape")) for raw in NOT_UTF8
    }
