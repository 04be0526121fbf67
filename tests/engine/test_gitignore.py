"""Keeping outputs out of git (mlrepro.engine.gitignore): the exact line written for a
name, and how ignore_outputs edits an existing .gitignore. (That each line matches its
output and nothing else, by git itself, is tests/adversarial/test_names.py.)"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from mlrepro.engine.gitignore import check_ignorable, ignore_line, ignore_outputs
from mlrepro.errors import MlreproError


@pytest.mark.parametrize(
    ("name", "line"),
    [
        ("model.pkl", b"/model.pkl"),
        ("z*", b"/z\\*"),
        ("a?b", b"/a\\?b"),
        ("[x]", b"/\\[x]"),
        ("back\\slash", b"/back\\\\slash"),
        ("sp ", b"/sp[ ]"),
        ("tab\t", b"/tab[\t]"),
        ("#hash", b"/#hash"),
        ("!bang", b"/!bang"),
        ("caf\u00e9", "/caf\u00e9".encode()),
        ("raw\udcff", b"/raw\xff"),  # not UTF-8: its own bytes
    ],
)
def test_the_line_for_a_name(name: str, line: bytes) -> None:
    assert ignore_line(name) == line


def test_a_name_with_a_newline_has_no_line() -> None:
    with pytest.raises(MlreproError, match="newline"):
        ignore_line("a\nb")
    with pytest.raises(MlreproError) as err:
        check_ignorable("d/a\nb", what="data input")
    assert str(err.value).startswith("data input 'd/a\\nb' has a newline")
    check_ignorable("a\nb/c")  # only the last name is written to a line


def test_lines_go_to_the_gitignore_beside_each_output(tmp_path: Path) -> None:
    ignore_outputs(str(tmp_path), ["b.txt", "a.txt", "deep/er/out", "deep/er/in"])
    assert (tmp_path / ".gitignore").read_bytes() == b"/a.txt\n/b.txt\n"
    assert (tmp_path / "deep/er/.gitignore").read_bytes() == b"/in\n/out\n"
    assert not (tmp_path / "deep/.gitignore").exists()


def test_the_users_lines_stay_and_nothing_is_added_twice(tmp_path: Path) -> None:
    gi = tmp_path / ".gitignore"
    gi.write_bytes(b"# mine\n*.log\n/model")  # no final newline
    ignore_outputs(str(tmp_path), ["model", "data"])
    assert gi.read_bytes() == b"# mine\n*.log\n/model\n/data\n"
    before = os.stat(gi).st_mtime_ns, gi.read_bytes()
    ignore_outputs(str(tmp_path), ["data", "model"])
    assert (os.stat(gi).st_mtime_ns, gi.read_bytes()) == before  # not even rewritten


def test_a_crlf_line_counts_as_present(tmp_path: Path) -> None:
    gi = tmp_path / ".gitignore"
    gi.write_bytes(b"/model\r\n*.tmp\r\n")
    ignore_outputs(str(tmp_path), ["model"])
    assert gi.read_bytes() == b"/model\r\n*.tmp\r\n"
    ignore_outputs(str(tmp_path), ["new"])
    assert gi.read_bytes() == b"/model\r\n*.tmp\r\n/new\n"


def test_a_bad_name_anywhere_stops_every_write(tmp_path: Path) -> None:
    with pytest.raises(MlreproError):
        ignore_outputs(str(tmp_path), ["fine", "sub/bad\nname"])
    assert not (tmp_path / ".gitignore").exists()


def test_git_ignores_the_outputs_and_keeps_the_rest(tmp_path: Path) -> None:
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True, env=env)
    for rel in ("out[1]", "out1", "d/m*", "d/mx", "d/sub/m*"):
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(rel)
    ignore_outputs(str(tmp_path), ["out[1]", "d/m*"])
    proc = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    listed = {line[3:].strip('"') for line in proc.stdout.splitlines()}
    assert listed == {".gitignore", "out1", "d/.gitignore", "d/mx", "d/sub/m*"}
