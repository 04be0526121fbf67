"""``mlrepro init`` as a function (mlrepro.ops.init): the exact files it writes, what
git then ignores and how it merges, --force, and the refusals. (The CLI's messages are
tests/cli/test_cli.py.)"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from mlrepro.errors import MlreproError, NotInRepositoryError
from mlrepro.ops.init import GITIGNORE, init
from mlrepro.workspace.config import Config, read_config
from tests.ops.conftest import git_env

CONFIG_TEXT = """\
{
  "cache": {
    "type": [
      "reflink",
      "copy"
    ]
  },
  "remotes": {},
  "version": 1
}
"""


def git(root: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, env=git_env())
    assert proc.returncode == 0, (args, proc.stderr)
    return proc.stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    return root


def test_init_writes_the_documented_files(repo: Path) -> None:
    result = init(str(repo))
    assert (result.root, result.created) == (str(repo), True)
    state = repo / ".mlrepro"
    # docs/format.md: sorted keys, two-space indent, one trailing newline
    assert (state / "config.json").read_text() == CONFIG_TEXT
    assert json.loads(CONFIG_TEXT) == Config().to_json()
    assert read_config(str(repo)) == Config()
    assert (state / ".gitignore").read_text() == GITIGNORE
    assert [ln for ln in GITIGNORE.splitlines() if not ln.startswith("#")] == [
        "/cache/",
        "/tmp/",
        "/state/",
        "/audit/",
        "/config.local",
    ]
    assert (state / ".gitattributes").read_text() == "/audit-checkpoints merge=union\n"
    assert sorted(os.listdir(state)) == [".gitattributes", ".gitignore", "config.json"]


def test_git_commits_the_config_and_ignores_local_state(repo: Path) -> None:
    init(str(repo))
    for rel in ("cache/x", "tmp/x", "state/x", "audit/x", "config.local", "audit-checkpoints"):
        p = repo / ".mlrepro" / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("x")
    listed = git(repo, "status", "--porcelain", "--untracked-files=all").splitlines()
    assert sorted(line[3:] for line in listed) == [
        ".mlrepro/.gitattributes",
        ".mlrepro/.gitignore",
        ".mlrepro/audit-checkpoints",
        ".mlrepro/config.json",
    ]
    attr = git(repo, "check-attr", "merge", "--", ".mlrepro/audit-checkpoints")
    assert attr.strip().endswith("merge: union")


def test_a_second_init_changes_nothing(repo: Path) -> None:
    init(str(repo))
    config = repo / ".mlrepro" / "config.json"
    config.write_text(json.dumps({"version": 1, "cache": {"type": ["copy"]}, "remotes": {}}))
    (repo / ".mlrepro" / ".gitignore").write_text("/cache/\n# mine\n")
    result = init(str(repo))
    assert not result.created
    assert read_config(str(repo)).link_types == ("copy",)
    assert (repo / ".mlrepro" / ".gitignore").read_text() == "/cache/\n# mine\n"


def test_force_rewrites_config_ignore_and_attributes_and_keeps_the_rest(repo: Path) -> None:
    init(str(repo))
    state = repo / ".mlrepro"
    (state / "config.json").write_text('{"version": 99}')
    (state / ".gitattributes").unlink()
    (state / "cache").mkdir()
    (state / "cache" / "obj").write_text("kept")
    (state / "config.local").write_text('{"remotes": {}}')
    result = init(str(repo), force=True)
    assert result.created
    assert (state / "config.json").read_text() == CONFIG_TEXT
    assert (state / ".gitattributes").exists()
    assert (state / "cache" / "obj").read_text() == "kept"
    assert (state / "config.local").read_text() == '{"remotes": {}}'


def test_a_state_folder_without_config_is_completed(repo: Path) -> None:
    (repo / ".mlrepro" / "cache").mkdir(parents=True)
    assert init(str(repo)).created
    assert (repo / ".mlrepro" / "config.json").read_text() == CONFIG_TEXT


def test_only_the_top_of_a_work_tree(repo: Path, tmp_path: Path) -> None:
    (repo / "sub").mkdir()
    with pytest.raises(NotInRepositoryError, match="not the top of a git work tree"):
        init(str(repo / "sub"))
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(NotInRepositoryError):
        init(str(plain))
    assert not (repo / "sub" / ".mlrepro").exists() and not (plain / ".mlrepro").exists()


def test_a_relative_path_is_made_absolute(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(repo)
    assert init(".").root == str(repo)


def test_a_file_named_like_the_state_folder_is_refused(repo: Path) -> None:
    (repo / ".mlrepro").write_text("not a folder")
    with pytest.raises(MlreproError, match="exists and is not a directory"):
        init(str(repo))
    assert (repo / ".mlrepro").read_text() == "not a folder"


def test_a_linked_worktree_is_a_top_too(repo: Path, tmp_path: Path) -> None:
    """In a `git worktree`, .git is a file, not a folder."""
    (repo / "f").write_text("f")
    git(repo, "add", "f")
    git(repo, "commit", "-q", "-m", "f")
    other = tmp_path / "wt"
    git(repo, "worktree", "add", "-q", str(other))
    assert (other / ".git").is_file()
    assert init(str(other)).created
    assert (other / ".mlrepro" / "config.json").read_text() == CONFIG_TEXT
