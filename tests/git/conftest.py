"""Real git repositories in temporary folders, with a pinned identity, dates and config."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.ops.conftest import GIT_ENV


def git(root: Path, *args: str, input: bytes | None = None) -> str:
    """Run git in ``root`` the plain way (the tests' own oracle); its output, stripped."""
    return (
        subprocess.run(["git", *args], cwd=root, input=input, check=True, capture_output=True)
        .stdout.decode("utf-8", "surrogateescape")
        .strip()
    )


def commit(root: Path, files: dict[str, str], message: str) -> str:
    """Write ``files`` (path -> text), commit them all; the new commit's id."""
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text, encoding="utf-8")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)
    return git(root, "rev-parse", "HEAD")


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository on ``main`` with one commit (``README``)."""
    for key, value in GIT_ENV.items():
        monkeypatch.setenv(key, value)
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    commit(root, {"README": "hello\n"}, "init")
    return root
