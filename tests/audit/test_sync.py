"""The audit log shared through a bare git remote on disk: two clones append at the same
time, push and pull, and end with the same verified history; a log edited with git
plumbing and force-pushed is reported in the other clone."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.audit.test_recorder import pipeline, tamper
from tests.ops.conftest import Proj, git_env


def sh(cwd: Path, *args: str) -> str:
    return subprocess.run(
        list(args), cwd=cwd, env=git_env(), capture_output=True, text=True, check=True
    ).stdout


def clones(proj: Proj, tmp_path: Path, tool: Path) -> tuple[Proj, Proj, Path]:
    """A bare remote, the project pushed to it, and a second clone of it."""
    pipeline(proj)
    proj.ok("repro")
    bare = tmp_path / "remote.git"
    sh(tmp_path, "git", "init", "-q", "--bare", "-b", "main", str(bare))
    proj.git("remote", "add", "origin", str(bare))
    proj.git("push", "-q", "origin", "main")
    assert "pushed the audit log (1 entries)" in proj.ok("audit", "push").stdout
    other_root = tmp_path / "other"
    sh(tmp_path, "git", "clone", "-q", str(bare), str(other_root))
    (tmp_path / "other-outside").mkdir()
    other = Proj(root=other_root, tool=tool, outside=tmp_path / "other-outside")
    assert (other_root / ".mlrepro" / "config.json").exists()  # committed by the first clone
    return proj, other, bare


def ids(p: Proj) -> list[str]:
    doc = json.loads(p.ok("audit", "log", "--json").stdout)
    return sorted(e["id"] for e in doc["entries"])


@pytest.mark.slow
def test_two_clones_append_concurrently_and_converge(
    proj: Proj, tmp_path: Path, tool: Path
) -> None:
    a, b, _bare = clones(proj, tmp_path, tool)
    assert "fast-forward: 1 entries" in b.ok("audit", "pull").stdout
    # both append while apart
    a.params({"lr": 0.2})
    a.ok("repro")
    b.params({"lr": 0.3})
    b.ok("repro")
    a.ok("audit", "push")
    proc = b.fails("audit", "push")
    # the remote moved on: one line and what to do, not git's rejection (issue 15)
    assert proc.stderr.splitlines() == [
        "error: the audit log was not pushed to 'origin': the remote refused it (fetch first); "
        "its log has entries this clone does not have",
        "hint: run `mlrepro audit pull origin` first, then push again",
    ]
    assert "merged: 1 entries" in b.ok("audit", "pull").stdout
    b.ok("audit", "push")
    a.ok("audit", "pull")
    assert ids(a) == ids(b)
    log = json.loads(a.ok("audit", "log", "--json").stdout)["entries"]
    assert log[0]["action"] == "audit.merge" and len(log[0]["prev"]) == 2
    assert len(log) == 4  # first run, one run on each side, the merge
    for p in (a, b):
        assert p.ok("audit", "verify").stdout.startswith("audit log OK: 4 entries")
    # and appending after the merge continues one chain
    a.params({"lr": 0.4})
    a.ok("repro")
    assert a.ok("audit", "verify").stdout.startswith("audit log OK: 5 entries")


def test_an_edited_and_force_pushed_log_is_reported_in_the_other_clone(
    proj: Proj, tmp_path: Path, tool: Path
) -> None:
    a, b, bare = clones(proj, tmp_path, tool)
    b.ok("audit", "pull")
    b.ok("audit", "verify")
    # in clone a: rewrite the only entry's bytes with plumbing, keep its name, force-push
    tamper(a, lambda data: data.replace(b'"lr":0.1', b'"lr":0.5'), keep_history=False)
    a.git("push", "-q", "--force", "origin", "refs/mlrepro/audit:refs/mlrepro/audit")
    # clone b pulls: the remote no longer holds the entry as b saw it there...
    proc = b.fails("audit", "pull")
    assert "no longer holds 1 of the entries it held when this clone last saw it" in proc.stderr
    assert "(the first: #1, id" in proc.stderr and "edited)" in proc.stderr
    # ...and verify names the edited entry in the refused log; b's own log is intact
    out = b.fails("audit", "verify").stdout
    assert "BROKEN in the log refused from 'origin': entry #1" in out and "edited" in out
    assert "in the log fetched from 'origin'" not in out
    assert str(bare)  # the remote is a real bare repository on disk


def test_a_push_to_no_such_remote_says_so_in_one_line(proj: Proj) -> None:
    pipeline(proj)
    proj.ok("repro")
    proc = proj.fails("audit", "push", "nowhere")
    lines = proc.stderr.splitlines()
    assert len(lines) == 2, proc.stderr
    assert lines[0].startswith("error: the audit log was not pushed to 'nowhere': 'nowhere'")
    assert lines[1] == "hint: check the remote's name and that it can be reached (`git remote -v`)"
