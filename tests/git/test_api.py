"""mlrepro.git.api: the GitReader protocol that revision readers are typed against."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

from mlrepro.git.api import CommitInfo, GitReader
from mlrepro.git.repo import GitRepo
from mlrepro.snapshot.revisions import Revisions


def protocol_methods() -> list[str]:
    return [n for n, v in vars(GitReader).items() if inspect.isfunction(v) and n[0] != "_"]


def test_git_repo_implements_every_method_with_the_same_signature() -> None:
    assert len(protocol_methods()) == 10
    for name in protocol_methods():
        wanted = inspect.signature(getattr(GitReader, name))
        assert inspect.signature(getattr(GitRepo, name)) == wanted, name


def test_revisions_read_through_the_protocol(repo: Path) -> None:
    with Revisions(str(repo)) as revs:
        reader: GitReader = revs.git
        head = reader.resolve("HEAD")
        assert revs.tracked(revs.revision("HEAD"), "README") == reader.read(head, "README")
        [info] = reader.log(head)
        assert info == CommitInfo(
            head, (), "mlrepro tests", "tests@mlrepro.invalid", info.date, "init"
        )


def test_the_protocol_and_its_readers_import_no_gitpython() -> None:
    code = (
        "import sys, mlrepro.git.api, mlrepro.snapshot.revisions;"
        "print(sorted(m for m in sys.modules if m == 'git' or m.startswith('git.')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
