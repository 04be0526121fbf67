"""The audit log in real repositories: what repro, add and checkout record, secrets kept
out, tampering with git plumbing caught, and entries of a killed command kept."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable

import pytest

from tests.ops.conftest import Proj, git_env, kill_group, stamps, wait_until


def entries(proj: Proj, *args: str) -> list[dict]:  # type: ignore[type-arg]
    doc = json.loads(proj.ok("audit", "log", "--json", *args).stdout)
    assert doc["version"] == 1
    return doc["entries"]  # type: ignore[no-any-return]


def pipeline(proj: Proj, **extra: object) -> None:
    proj.params({"lr": 0.1})
    proj.pipeline(
        {
            "train": {
                "cmd": proj.cmd(["param", "model.json", "params.yaml", "lr"]),
                "params": ["lr"],
                "outs": ["model.json"],
                **extra,
            }
        }
    )
    proj.commit("pipeline")


def test_repro_records_who_what_where_and_the_digests(proj: Proj) -> None:
    pipeline(proj)
    proj.ok("repro")
    [e] = entries(proj)
    assert e["action"] == "stage.run" and e["seq"] == 1 and e["prev"] == []
    assert len(e["id"]) == 64
    d = e["details"]
    assert d["stage"] == "train" and d["status"] == "succeeded" and d["exit_status"] == 0
    assert d["params"] == {"params.yaml": {"lr": 0.1}}
    [out] = d["outs"]
    assert out["path"] == "model.json" and out["sha256"].startswith("sha256:")
    assert len(d["run_key"]) == 64
    assert e["actor"]["git_name"] == "mlrepro tests"
    assert e["actor"]["git_email"] == "tests@mlrepro.invalid"
    assert e["git"]["commit"] == proj.git("rev-parse", "HEAD").strip()
    assert e["git"]["branch"] == "main" and e["git"]["dirty"] is False
    assert e["env"]["python"] and len(e["env"]["packages_sha256"]) == 64
    assert any(p.startswith("mlrepro==") for p in e["env"]["packages"])
    # the entry is in git, under the ref, named by its own SHA-256
    listing = proj.git("ls-tree", "-r", "--name-only", "refs/mlrepro/audit")
    assert listing.strip() == f"entries/00000/00000001-{e['id']}.json"
    proc = proj.ok("audit", "verify")
    assert proc.stdout.startswith("audit log OK: 1 entries")


def test_no_op_repro_records_nothing_and_restores_and_failures_are_recorded(proj: Proj) -> None:
    pipeline(proj)
    proj.ok("repro")
    proj.ok("repro")  # up to date: nothing happened, nothing recorded
    assert len(entries(proj)) == 1
    proj.params({"lr": 0.2})
    proj.ok("repro")
    proj.params({"lr": 0.1})
    proj.ok("repro")  # back to 0.1: from the run-cache
    log = entries(proj)
    assert [e["action"] for e in log] == ["stage.restore", "stage.run", "stage.run"]
    assert [e["seq"] for e in log] == [3, 2, 1]
    assert log[0]["prev"] == [log[1]["id"]]
    assert log[0]["details"]["run_key"] == log[2]["details"]["run_key"]
    proj.pipeline({"bad": {"cmd": proj.cmd(["fail", "4"]), "deps": ["params.yaml"], "outs": ["x"]}})
    proj.fails("repro")
    failed = entries(proj, "--action", "stage.run", "--stage", "bad")
    assert [(e["details"]["status"], e["details"]["exit_status"]) for e in failed] == [
        ("failed", 4)
    ]
    assert failed[0]["details"]["outs"] == []
    proj.ok("audit", "verify")


def test_add_and_checkout_are_recorded(proj: Proj) -> None:
    proj.write("raw/a.csv", "1\n")
    proj.ok("add", "raw")
    (proj.root / "raw/a.csv").unlink()
    proj.ok("checkout")
    log = entries(proj)
    assert [e["action"] for e in log] == ["checkout", "add"]
    assert log[0]["details"]["artifact"]["path"] == "raw"
    assert log[0]["details"]["artifact"]["sha256"] == log[1]["details"]["artifact"]["sha256"]
    text = proj.ok("audit", "log").stdout.splitlines()
    assert text[0].startswith("#2  ") and "  checkout  raw  by " in text[0]


def test_secrets_never_enter_an_entry(proj: Proj) -> None:
    proj.params({"lr": 0.1})
    noisy = "echo --password=hunter2 https://bob:s3cr3t@example.com/x API_KEY=abcd1234 >/dev/null"
    proj.pipeline(
        {
            "s": {
                "cmd": proj.cmd(["param", "o.json", "params.yaml", "lr"]) + " && " + noisy,
                "params": ["lr"],
                "outs": ["o.json"],
            }
        }
    )
    env = {
        **git_env(),
        "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY",
        "MY_TOKEN": "tok-777",
    }
    proc = subprocess.run(
        [sys.executable, "-m", "mlrepro", "repro"],
        cwd=proj.root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    raw = proj.git("log", "-p", "refs/mlrepro/audit")
    assert '"action":"stage.run"' in raw
    for secret in (
        "hunter2",
        "s3cr3t",
        "abcd1234",
        "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY",
        "tok-777",
    ):
        assert secret not in raw
    assert "--password=***" in raw and "https://***@example.com/x" in raw
    assert "API_KEY=***" in raw


def tamper(
    proj: Proj, edit: Callable[[bytes], bytes], *, keep_history: bool = True, which: int = -1
) -> None:
    """Rewrite an entry's blob (the newest, or ``which``, oldest first from 0) with git
    plumbing and move the ref (a force-push): in a commit on top of the tip, or
    (``keep_history=False``) in a history of its own."""
    tip = proj.git("rev-parse", "refs/mlrepro/audit").strip()
    path = sorted(proj.git("ls-tree", "-r", "--name-only", tip).split())[which]
    data = subprocess.run(
        ["git", "cat-file", "blob", f"{tip}:{path}"], cwd=proj.root, capture_output=True, check=True
    ).stdout
    blob = (
        subprocess.run(
            ["git", "hash-object", "-w", "--stdin"],
            cwd=proj.root,
            input=edit(data),
            capture_output=True,
            check=True,
            env=git_env(),
        )
        .stdout.decode()
        .strip()
    )
    index = str(proj.outside / "tamper.index")
    env = {**git_env(), "GIT_INDEX_FILE": index}
    subprocess.run(["git", "read-tree", tip], cwd=proj.root, check=True, env=env)
    subprocess.run(
        ["git", "update-index", "--cacheinfo", f"100644,{blob},{path}"],
        cwd=proj.root,
        check=True,
        env=env,
    )
    tree = subprocess.run(
        ["git", "write-tree"], cwd=proj.root, capture_output=True, check=True, env=env, text=True
    ).stdout.strip()
    parent = ["-p", tip] if keep_history else []
    commit = proj.git("commit-tree", tree, *parent, "-m", "innocent").strip()
    proj.git("update-ref", "refs/mlrepro/audit", commit)


def test_an_entry_edited_with_git_plumbing_is_reported(proj: Proj) -> None:
    pipeline(proj)
    proj.ok("repro")
    proj.params({"lr": 0.3})
    proj.ok("repro")
    proj.ok("audit", "verify")
    tamper(proj, lambda b: b.replace(b'"lr":0.3', b'"lr":0.25'))
    proc = proj.fails("audit", "verify")
    assert "BROKEN entry #2" in proc.stdout and "edited" in proc.stdout
    assert "audit log NOT OK" in proc.stderr


def four_runs(proj: Proj) -> list[dict]:  # type: ignore[type-arg]
    """Four stage runs, one publication each (lr 0.1 to 0.4): the log, oldest first."""
    pipeline(proj)
    for lr in (0.1, 0.2, 0.3, 0.4):
        proj.params({"lr": lr})
        proj.ok("repro")
    log = entries(proj)[::-1]
    assert [e["details"]["params"]["params.yaml"]["lr"] for e in log] == [0.1, 0.2, 0.3, 0.4]
    return log


def broken_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("BROKEN")]


@pytest.mark.slow
def test_one_edited_entry_is_named_as_the_break_with_what_follows(proj: Proj) -> None:
    log = four_runs(proj)
    proj.ok("audit", "verify")
    tamper(proj, lambda b: b.replace(b'"lr":0.2', b'"lr":0.25'), which=1)
    proc = proj.fails("audit", "verify")
    # one break, at the edited entry (not a cascade through the entries around it),
    # saying what it is, when it was, and which check failed: its own hash
    [line] = broken_lines(proc.stdout)
    second = log[1]
    assert line.startswith(
        f"BROKEN entry #2 (stage.run train, {second['time']}, id {second['id'][:16]}…): "
        "edited: its bytes hash to "
    ), line
    assert line.endswith("not to the id it is stored under")
    # what follows from it, in one line: the head still vouches for the later entries
    after = proc.stdout.splitlines()[proc.stdout.splitlines().index(line) + 1]
    assert after == (
        "the chain breaks at entry #2: #3-#4 still chain up to the head, but #1 no longer "
        "does: the log cannot show that it is unchanged"
    )
    # the count is every entry checked, the edited one included
    assert proc.stderr.strip() == "audit log NOT OK: 4 entries, 1 broken"
    # `audit log` marks the edited entry, in text and in JSON
    text = proj.ok("audit", "log")
    marked = [line for line in text.stdout.splitlines() if "[BROKEN: edited]" in line]
    assert [m.split()[0] for m in marked] == ["#2"]
    assert "the chain breaks at entry #2 (edited)" in text.stderr
    doc = json.loads(proj.ok("audit", "log", "--json").stdout)
    assert doc["version"] == 1
    assert {e["seq"]: e["verified"] for e in doc["entries"]} == {
        4: True,
        3: True,
        2: False,
        1: True,
    }
    edited = next(e for e in doc["entries"] if e["seq"] == 2)
    assert edited["details"]["params"]["params.yaml"]["lr"] == 0.25  # as it reads now


def unpublish(proj: Proj, last: int) -> None:
    """As if the commands that recorded the ``last`` newest entries (one publication
    each) were killed before publishing: the ref back, the entries in the pending file."""
    ref = "refs/mlrepro/audit"
    paths = sorted(proj.git("ls-tree", "-r", "--name-only", ref).split())[-last:]
    lines = [
        subprocess.run(
            ["git", "cat-file", "blob", f"{ref}:{path}"],
            cwd=proj.root,
            capture_output=True,
            check=True,
        ).stdout
        for path in paths
    ]
    proj.git("update-ref", ref, f"{ref}~{last}")
    (proj.root / ".mlrepro/audit/pending.jsonl").write_bytes(b"".join(x + b"\n" for x in lines))


def edit_pending(proj: Proj, old: bytes, new: bytes) -> None:
    pending = proj.root / ".mlrepro/audit/pending.jsonl"
    data = pending.read_bytes()
    assert data.count(old) == 1
    pending.write_bytes(data.replace(old, new))


@pytest.mark.slow
def test_an_edited_line_of_the_pending_file_is_named_through_the_entry_after_it(
    proj: Proj,
) -> None:
    log = four_runs(proj)
    unpublish(proj, 2)
    assert proj.ok("audit", "verify").stdout.startswith("audit log OK: 4 entries")
    # a pending line is its entry's bytes, its id their hash: an edit leaves the entry
    # consistent with itself, and only the next entry's `prev` shows it
    edit_pending(proj, b'"lr":0.3', b'"lr":0.35')
    proc = proj.fails("audit", "verify")
    [line] = broken_lines(proc.stdout)
    third = log[2]
    assert line.startswith(f"BROKEN entry #3 (stage.run train, {third['time']}, id "), line
    assert f": edited: entry #4 names {third['id'][:16]}… as the entry before it" in line
    assert proc.stdout.splitlines()[-1] == (
        "the chain breaks at entry #3: #4 still chains up to the head, but #1-#2 no longer "
        "do: the log cannot show that they are unchanged"
    )
    assert proc.stderr.strip() == "audit log NOT OK: 4 entries, 1 broken"
    flags = {e["seq"]: e["verified"] for e in entries(proj)}
    assert flags == {4: True, 3: False, 2: True, 1: True}


@pytest.mark.slow
def test_an_edited_newest_pending_entry_is_named_against_the_head_verified_here(
    proj: Proj,
) -> None:
    log = four_runs(proj)
    proj.ok("audit", "verify")  # this clone remembers #4
    unpublish(proj, 2)
    edit_pending(proj, b'"lr":0.4', b'"lr":0.45')
    proc = proj.fails("audit", "verify")
    [line] = broken_lines(proc.stdout)
    newest = log[3]
    assert line.startswith(f"BROKEN entry #4 (stage.run train, {newest['time']}, id "), line
    assert f"edited: this clone verified #4 as {newest['id'][:16]}…" in line
    assert proc.stdout.splitlines()[-1] == (
        "the chain breaks at entry #4: no entry chains up to an intact head, so the log "
        "cannot show that #1-#3 are unchanged"
    )
    assert proc.stderr.strip() == "audit log NOT OK: 4 entries, 1 broken"


def test_a_log_cut_short_after_verification_is_reported(proj: Proj) -> None:
    pipeline(proj)
    proj.ok("repro")
    proj.params({"lr": 0.3})
    proj.ok("repro")
    proj.ok("audit", "verify")  # this clone now remembers the head it verified
    proj.git("update-ref", "refs/mlrepro/audit", "refs/mlrepro/audit~1")
    proc = proj.fails("audit", "verify")
    assert "truncated" in proc.stdout


def test_entries_of_a_killed_repro_are_kept_and_published_next_time(proj: Proj) -> None:
    stamp = proj.ext("stamps.jsonl")
    release = proj.ext("release")
    proj.write("raw.txt", "raw\n")
    proj.pipeline(
        {
            "a": {
                "cmd": proj.cmd(["cat", "a.txt", "raw.txt"]),
                "deps": ["raw.txt"],
                "outs": ["a.txt"],
            },
            "b": {
                "cmd": proj.cmd(
                    ["stamp", stamp, "b", "start"],
                    ["waitfor", release, "60"],
                    ["cat", "b.txt", "a.txt"],
                ),
                "deps": ["a.txt"],
                "outs": ["b.txt"],
            },
        }
    )
    first = proj.popen("repro", "-j", "1")
    try:
        wait_until(lambda: any(e["name"] == "b" for e in stamps(stamp)), what="b running")
        b = next(e for e in stamps(stamp) if e["name"] == "b")
        os.kill(first.pid, signal.SIGKILL)
        kill_group(int(b["pgid"]))  # type: ignore[call-overload]
        first.wait(timeout=30)
    finally:
        if first.poll() is None:
            first.kill()
        first.communicate()
    pending = (proj.root / ".mlrepro/audit/pending.jsonl").read_text()
    assert '"stage":"a"' in pending  # written before a's lock entry, not yet published
    release.write_text("go")
    proj.ok("repro")
    log = entries(proj)
    assert [e["details"].get("stage") for e in log if e["action"] == "stage.run"] == ["b", "a"]
    assert (proj.root / ".mlrepro/audit/pending.jsonl").read_text().strip("\0") == ""
    proj.ok("audit", "verify")


@pytest.mark.slow
def test_log_filters_by_revision_time_and_actor(proj: Proj) -> None:
    pipeline(proj)
    proj.ok("repro")
    first = proj.git("rev-parse", "HEAD").strip()
    proj.git("tag", "v1")
    proj.params({"lr": 0.3})
    proj.commit("lr 0.3")
    proj.ok("repro")
    assert len(entries(proj)) == 2
    on_v1 = entries(proj, "--commit", "v1")
    assert [e["git"]["commit"] for e in on_v1] == [first]
    assert entries(proj, "--commit", first[:8]) == on_v1
    assert len(entries(proj, "--actor", "mlrepro tests")) == 2
    assert entries(proj, "--actor", "somebody else") == []
    assert len(entries(proj, "--since", "2000-01-01")) == 2
    assert entries(proj, "--since", "2999-01-01") == []


@pytest.mark.slow
def test_an_edited_entry_cannot_forge_report_lines(proj: Proj) -> None:
    """The edited entry's own text (a newline, a terminal escape in its action) is shown
    escaped: the forger cannot add an 'audit log OK' line or recolour the report."""
    four_runs(proj)
    forged = b"stage.run\\naudit log OK: 4 entries\\u001b[32m"
    tamper(
        proj, lambda b: b.replace(b'"action":"stage.run"', b'"action":"' + forged + b'"'), which=1
    )
    proc = proj.fails("audit", "verify")
    for text in (proc.stdout, proj.ok("audit", "log").stdout):
        assert "\x1b" not in text
        assert not any(line.startswith("audit log OK") for line in text.splitlines())
        assert "stage.run\\x0aaudit log OK: 4 entries\\x1b[32m" in text
