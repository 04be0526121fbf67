"""mlrepro.git.catfile: objects read through one long-lived ``git cat-file --batch``."""

from __future__ import annotations

import os
from pathlib import Path

from mlrepro.git.catfile import CatFile
from tests.git.conftest import commit, git


def test_objects_by_id_and_by_revision_and_path(repo: Path) -> None:
    commit(repo, {"dir/a.txt": "a\n"}, "dir")
    blob = git(repo, "rev-parse", "HEAD:dir/a.txt")
    with CatFile(str(repo)) as cat:
        by_id, by_path, tree, missing = cat.ask([blob, "HEAD:README", "HEAD:dir", "HEAD:nope"])
        assert by_id == (b"blob", b"a\n")
        assert by_path == (b"blob", b"hello\n")
        assert tree == (b"tree", b"100644 a.txt\0" + bytes.fromhex(blob))  # git's raw tree
        assert missing is None
        assert cat.id_size == 20


def test_one_process_answers_every_question(repo: Path) -> None:
    with CatFile(str(repo)) as cat:
        assert cat.ask(["HEAD:README"]) == [(b"blob", b"hello\n")]
        proc = cat._proc
        commit(repo, {"later": "later\n"}, "later")
        assert cat.ask(["HEAD:later"]) == [(b"blob", b"later\n")]
        assert cat._proc is proc
    assert proc is not None and proc.returncode == 0  # ended at the end of its input


def test_large_objects_and_many_questions_at_once(repo: Path) -> None:
    big = os.urandom(300_000).hex()  # larger than a pipe holds
    commit(repo, {"big": big}, "big")
    with CatFile(str(repo)) as cat:
        answers = cat.ask(["HEAD:big", *["HEAD:README"] * 200])
    assert answers[0] == (b"blob", big.encode())
    assert answers[1:] == [(b"blob", b"hello\n")] * 200


def test_a_closed_reader_starts_git_again_when_asked(repo: Path) -> None:
    cat = CatFile(str(repo))
    assert cat.ask(["HEAD:README"]) == [(b"blob", b"hello\n")]
    cat.close()
    cat.close()  # twice is harmless
    assert cat.ask(["HEAD:README"]) == [(b"blob", b"hello\n")]
    cat.close()


def test_without_a_repository_every_answer_is_none(tmp_path: Path) -> None:
    with CatFile(str(tmp_path)) as cat:
        assert cat.ask(["HEAD:README", "HEAD"]) == [None, None]
        assert cat.ask(["HEAD"]) == [None]  # and git is not started again
        assert cat._proc is None
