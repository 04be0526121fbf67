"""Planted secrets (issue 15): a token that reaches a stage through a gitignored vars file,
interpolated into the command and tracked as a param, never lands in anything mlrepro
writes (the committed lock, the audit log, the run-cache, exports, reports), while the run
key stays exact: a changed token reruns the stage and the old one restores it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.ops.conftest import Proj

TOKEN = "ghp_" + "Zq7" * 12  # a GitHub token's shape
OTHER = "ghp_" + "Kx9" * 12
PASSWORD = "correct-horse-battery-staple-42"


def secret_pipeline(proj: Proj, token: str) -> None:
    proj.write(".gitignore", "secrets.yaml\n")
    proj.write("secrets.yaml", f"api_token: {token}\ndb:\n  password: {PASSWORD}\n")
    log = str(proj.ext("runs.log"))
    proj.write("in.txt", "in\n")
    proj.pipeline(
        {
            "fetch": {
                "cmd": proj.cmd(["log", log, "fetch"], ["write", "out.txt", "fetched"])
                + " --api-token=${api_token} --db-password ${db.password}",
                "deps": ["in.txt"],
                "params": [{"secrets.yaml": ["api_token", "db.password"]}],
                "outs": ["out.txt"],
            }
        },
        vars=["secrets.yaml"],
    )


def everything_written(proj: Proj) -> bytes:
    """Every file in the work tree but the secrets file itself, and every git object."""
    found = [
        p.read_bytes()
        for p in proj.root.rglob("*")
        if p.is_file() and p.name != "secrets.yaml" and ".git" not in p.relative_to(proj.root).parts
    ]
    objects = subprocess.run(
        ["git", "cat-file", "--batch-all-objects", "--batch"],
        cwd=proj.root,
        capture_output=True,
        check=True,
    ).stdout
    return b"\n".join([*found, objects])


def reports(proj: Proj) -> str:
    """What the commands print about the pipeline. `stage list` is left out on purpose: it
    is the pipeline as the user wrote it, resolved (as `dvc stage list` shows it)."""
    out = []
    for args in (
        ("status", "--json"),
        ("status", "--why"),
        ("audit", "log", "--json"),
        ("lineage", "out.txt", "--json"),
        ("repro", "--force"),  # its `> CMD` lines go to CI logs
    ):
        proc = proj.mlrepro(*args)
        out += [proc.stdout, proc.stderr]
    exported = proj.ext("audit.jsonl")
    proj.ok("audit", "export", "--format", "jsonl", "--output", str(exported))
    return "\n".join([*out, exported.read_text()])


def assert_never_written(proj: Proj, *secrets: str) -> None:
    written = everything_written(proj)
    shown = reports(proj)
    for secret in secrets:
        assert secret.encode() not in written, secret
        assert secret not in shown, secret


@pytest.mark.slow
def test_a_token_in_the_command_and_params_never_reaches_a_record(proj: Proj) -> None:
    secret_pipeline(proj, TOKEN)
    proj.ok("repro")
    proj.commit("results")
    assert "***sha256:" in proj.lock_text()  # masked, by its hash
    assert_never_written(proj, TOKEN, PASSWORD)
    proj.ok("status", "--check")  # the masked lock compares equal to the workspace


@pytest.mark.slow
def test_the_run_key_stays_exact(proj: Proj) -> None:
    secret_pipeline(proj, TOKEN)
    proj.ok("repro")
    secret_pipeline(proj, OTHER)  # the token rotated: the stage must run again
    why = proj.fails("status", "--why", "--check", code=3).stdout
    assert "command changed" in why and "param 'secrets.yaml:api_token' changed" in why
    assert TOKEN not in why and OTHER not in why
    proj.ok("repro")
    assert proj.runs("fetch") == 2
    secret_pipeline(proj, TOKEN)  # and back: restored, not run
    assert "Done: 0 ran, 1 restored" in proj.ok("repro").stdout
    assert proj.runs("fetch") == 2
    assert_never_written(proj, TOKEN, OTHER, PASSWORD)


def test_a_path_holding_a_credential_is_refused(proj: Proj, tmp_path: Path) -> None:
    proj.pipeline(
        {
            "get": {
                "cmd": proj.cmd(["write", "o.txt", "o"]),
                "deps": [f"https://user:{PASSWORD}@example.com/data.csv"],
                "outs": ["o.txt"],
            }
        }
    )
    proc = proj.fails("repro")
    assert "holds a credential" in proc.stderr and PASSWORD not in proc.stderr
    assert not (proj.root / "mlrepro.lock").exists() or PASSWORD not in proj.lock_text()
    assert [ln.split(":")[0] for ln in proc.stderr.splitlines()] == ["error", "hint"]
