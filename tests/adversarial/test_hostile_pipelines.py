"""Hostile pipelines: a stage command that makes its output a link out of the repository,
or fails half-way (issue 15). Nothing outside the repository may enter the cache, the
lock file or the audit log, and a failed run is recorded as failed."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import xxhash

from tests.ops.conftest import Proj

SECRET = b"outside the repository: must never be cached\n"


def link_cmd(target: str, link: str) -> str:
    """A stage command that makes ``link`` a symbolic link to ``target``."""
    return (
        f"{sys.executable} -c 'import os,sys; os.symlink(sys.argv[1], sys.argv[2])' {target} {link}"
    )


def error_line(stderr: str) -> str:
    (line,) = [ln for ln in stderr.splitlines() if ln.startswith("error: ")]
    return line


def audit_entries(proj: Proj) -> list[dict[str, object]]:
    doc = json.loads(proj.ok("audit", "log", "--json").stdout)
    return list(doc["entries"])


def assert_nothing_from_outside(proj: Proj) -> None:
    outside_digest = xxhash.xxh3_128_hexdigest(SECRET)
    assert outside_digest not in proj.objects()
    lock = (proj.root / "mlrepro.lock").read_text() if (proj.root / "mlrepro.lock").exists() else ""
    assert outside_digest not in lock
    assert outside_digest not in json.dumps(audit_entries(proj))


def outside_file(proj: Proj) -> str:
    path = proj.ext("secret.txt")
    path.write_bytes(SECRET)
    return str(path)


def test_an_output_the_command_makes_a_link_out_is_refused(proj: Proj) -> None:
    proj.write("in.txt", "in\n")
    proj.pipeline(
        {"leak": {"cmd": link_cmd(outside_file(proj), "x"), "deps": ["in.txt"], "outs": ["x"]}}
    )
    proc = proj.fails("repro")
    first = error_line(proc.stderr)
    assert first.startswith("error: stage 'leak' failed: output 'x' is a symbolic link leading")
    assert "outside the repository" in first and "secret.txt" in first
    assert "hint: a stage must write its outputs inside the repository" in proc.stderr
    assert not os.path.lexists(proj.root / "x")  # the link was taken away
    assert "leak" not in proj.locked_stages() if (proj.root / "mlrepro.lock").exists() else True
    runs = [e for e in audit_entries(proj) if e["action"] == "stage.run"]
    assert [e["details"]["status"] for e in runs] == ["failed"]  # type: ignore[index]
    assert "outside the repository" in runs[0]["details"]["message"]  # type: ignore[index]
    assert_nothing_from_outside(proj)


def test_an_output_folder_linked_out_is_refused(proj: Proj) -> None:
    folder = proj.ext("elsewhere")
    folder.mkdir()
    (folder / "data.bin").write_bytes(SECRET)
    proj.write("in.txt", "in\n")
    proj.pipeline(
        {"leak": {"cmd": link_cmd(str(folder), "out"), "deps": ["in.txt"], "outs": ["out"]}}
    )
    proc = proj.fails("repro")
    assert "output 'out' is a symbolic link leading outside the repository" in proc.stderr
    assert (folder / "data.bin").read_bytes() == SECRET  # nothing outside was touched
    assert_nothing_from_outside(proj)


def test_a_folder_above_the_output_linked_out_is_refused_and_left_alone(proj: Proj) -> None:
    folder = proj.ext("elsewhere")
    folder.mkdir()
    proj.write("in.txt", "in\n")
    swap = (
        f'{sys.executable} -c \'import os,sys,shutil; shutil.rmtree("d"); '
        f'os.symlink(sys.argv[1], "d"); open("d/o","w").write("elsewhere")\' {folder}'
    )
    proj.pipeline({"leak": {"cmd": swap, "deps": ["in.txt"], "outs": ["d/o"]}})
    proc = proj.fails("repro")
    assert "output 'd/o' is a symbolic link leading outside the repository" in proc.stderr
    assert (folder / "o").read_text() == "elsewhere"  # removing it would delete outside
    assert_nothing_from_outside(proj)


def test_a_link_out_inside_an_output_folder_fails_the_run_and_is_audited(proj: Proj) -> None:
    proj.write("in.txt", "in\n")
    make = (
        f'{sys.executable} -c \'import os,sys; os.makedirs("out"); '
        f'os.symlink(sys.argv[1], "out/peek")\' {outside_file(proj)}'
    )
    proj.pipeline({"leak": {"cmd": make, "deps": ["in.txt"], "outs": ["out"]}})
    proc = proj.fails("repro")
    assert "out/peek" in proc.stderr and "outside the repository" in proc.stderr
    runs = [e for e in audit_entries(proj) if e["action"] == "stage.run"]
    assert [e["details"]["status"] for e in runs] == ["failed"]  # type: ignore[index]
    assert_nothing_from_outside(proj)


def test_a_data_input_linked_out_is_refused(proj: Proj) -> None:
    os.symlink(outside_file(proj), proj.root / "raw.txt")
    proj.pipeline(
        {
            "use": {
                "cmd": proj.cmd(["cat", "o.txt", "raw.txt"]),
                "deps": ["raw.txt"],
                "outs": ["o.txt"],
            }
        }
    )
    proc = proj.fails("repro")
    first = error_line(proc.stderr)
    assert "data input 'raw.txt' is a symbolic link leading outside the repository" in first
    assert_nothing_from_outside(proj)


@pytest.mark.parametrize("how", ["fails", "interrupted"])
def test_a_failed_stages_partial_outputs_stay_but_are_gitignored(proj: Proj, how: str) -> None:
    proj.write("in.txt", "in\n")
    ops = [["write", "half/part.txt", "half written"], ["write", "log.txt", "partial log"]]
    tail = ["fail", "3"] if how == "fails" else ["waitfor", str(proj.ext("never")), "60"]
    proj.pipeline(
        {"half": {"cmd": proj.cmd(*ops, tail), "deps": ["in.txt"], "outs": ["half", "log.txt"]}}
    )
    proj.commit("pipeline")
    if how == "fails":
        proj.fails("repro")
    else:
        proc = proj.popen("repro")
        deadline = 600
        while not (proj.root / "log.txt").exists() and deadline:
            deadline -= 1
            subprocess.run(["sleep", "0.05"], check=True)
        proc.send_signal(2)
        proc.wait(timeout=60)
        assert proc.returncode == 130
    # left for the user to look at, never committed by `git add -A`
    assert proj.read("half/part.txt") == "half written"
    # only the .gitignore that names them is new to git
    assert proj.git("status", "--porcelain").strip() == "?? .gitignore"
    ignored = proj.git("status", "--porcelain", "--ignored")
    assert "!! half/" in ignored and "!! log.txt" in ignored
