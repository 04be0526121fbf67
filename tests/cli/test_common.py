"""``project_at``, the one way a command opens its project: found from the current
directory, closed however the command ends, its errors left to ``cli.main`` (one
``error:`` line, a ``hint:``, exit 1), in-process and through every command."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from mlrepro.cli.common import project_at
from mlrepro.errors import MlreproError
from mlrepro.workspace.project import Project
from tests.cli.test_cli import GIT_ENV, repo, run

# every command that opens an initialised project (arguments enough to get that far)
NEEDS_INIT = [
    ["status"],
    ["repro"],
    ["checkout"],
    ["add", "data.csv"],
    ["cache", "verify"],
    ["config", "--list"],
    ["config", "core.remote", "r"],
    ["remote", "add", "r", "/tmp/r"],
    ["remote", "modify", "r", "region", "x"],
    ["remote", "remove", "r"],
    ["remote", "default"],
    ["remote", "list"],
    ["gc", "-w"],
    ["audit", "log"],
    ["audit", "verify"],
    ["audit", "push"],
    ["audit", "pull"],
    ["audit", "export", "--format", "jsonl"],
]
# the commands that read revisions of any git work tree
ANY_WORK_TREE = [
    ["diff"],
    ["lineage", "x"],
    ["metrics", "show"],
    ["metrics", "diff"],
    ["params", "diff"],
    ["metrics", "history"],
]


@pytest.fixture(scope="module")
def uninitialised(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git work tree with one commit, where `mlrepro init` never ran."""
    root = repo(tmp_path_factory.mktemp("common"), {"sub/keep.txt": "x\n"})
    env = {**os.environ, **GIT_ENV}
    for args in (["add", "-A"], ["commit", "-q", "-m", "first"]):
        subprocess.run(["git", *args], cwd=root, check=True, env=env, capture_output=True)
    return Path(os.path.realpath(root))


@pytest.mark.parametrize("args", NEEDS_INIT, ids=" ".join)
def test_a_command_outside_an_initialised_project_says_so_in_one_line(
    uninitialised: Path, args: list[str]
) -> None:
    proc = run(uninitialised / "sub", *args)  # found from a subfolder: the top is named
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr == (
        f"error: '{uninitialised}' is not an mlrepro project (no .mlrepro/config.json)\n"
        "hint: run `mlrepro init` in the repository's top folder\n"
    )
    assert not (uninitialised / ".mlrepro").exists()


@pytest.mark.parametrize("args", NEEDS_INIT[:3] + ANY_WORK_TREE, ids=" ".join)
def test_a_command_outside_a_git_work_tree_says_so_in_one_line(
    tmp_path: Path, args: list[str]
) -> None:
    here = Path(os.path.realpath(tmp_path))
    proc = run(here, *args)
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr == (
        f"error: '{here}' is not inside a git work tree\n"
        "hint: run mlrepro inside a git repository (git init creates one)\n"
    )


@pytest.mark.parametrize("args", ANY_WORK_TREE[:1] + ANY_WORK_TREE[2:], ids=" ".join)
def test_reading_revisions_needs_no_init(uninitialised: Path, args: list[str]) -> None:
    proc = run(uninitialised / "sub", *args)
    assert proc.returncode == 0, proc.stderr
    assert "error:" not in proc.stderr


@pytest.fixture
def closes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The roots of the projects closed, in order."""
    closed: list[str] = []
    monkeypatch.setattr(Project, "close", lambda self: closed.append(self.root))
    return closed


def test_the_project_is_found_from_a_folder_and_closed_after(
    uninitialised: Path, closes: list[str]
) -> None:
    with project_at(str(uninitialised / "sub"), require_init=False) as project:
        assert project.root == str(uninitialised)
        assert closes == []
    assert closes == [str(uninitialised)]


def test_the_current_directory_is_the_default(
    uninitialised: Path, closes: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(uninitialised / "sub")
    with project_at(require_init=False) as project:
        assert project.root == str(uninitialised)
    assert closes == [str(uninitialised)]


def test_an_error_in_the_block_closes_the_project_and_goes_on_unchanged(
    uninitialised: Path, closes: list[str]
) -> None:
    refused = MlreproError("refused", hint="do something else")
    with (
        pytest.raises(MlreproError) as caught,
        project_at(str(uninitialised), require_init=False),
    ):
        raise refused
    assert caught.value is refused
    assert closes == [str(uninitialised)]


def test_a_project_that_is_not_found_is_not_closed(uninitialised: Path, closes: list[str]) -> None:
    with (
        pytest.raises(MlreproError, match="is not an mlrepro project"),
        project_at(str(uninitialised)),
    ):
        pytest.fail("the block runs only in a project")
    assert closes == []
