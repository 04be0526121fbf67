"""Attacks on the audit log's history as someone with push access to the remote would
make them: entries rewritten into a new, consistent chain (every id and link
recomputed), the log cut short, the log replaced, all force-pushed. A clone that saw
the log before refuses to take the rewrite in; a fresh clone finds the gap through the
checkpoints committed with the results (issue 15)."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlrepro.audit import anchor
from mlrepro.audit.entry import entry_bytes, entry_id
from tests.audit.test_recorder import pipeline, tamper
from tests.ops.conftest import Proj, git_env

REF = "refs/mlrepro/audit"
CHECKPOINTS = ".mlrepro/audit-checkpoints"


def sh(cwd: Path, *args: str, data: bytes | None = None, env: dict[str, str] | None = None) -> str:
    return subprocess.run(
        list(args), cwd=cwd, input=data, env=env or git_env(), capture_output=True, check=True
    ).stdout.decode()


def entries(p: Proj) -> dict[str, dict[str, Any]]:
    """path -> entry, as the ref's tip holds them."""
    tip = p.git("rev-parse", REF).strip()
    found = {}
    for path in p.git("ls-tree", "-r", "--name-only", tip).split():
        found[path] = json.loads(sh(p.root, "git", "cat-file", "blob", f"{tip}:{path}"))
    return found


def forge(
    p: Proj, edit: Callable[[dict[str, Any]], None], *, start: int, keep_history: bool = True
) -> None:
    """Rewrite the log from entry #``start`` on as a forger would: ``edit`` the entry
    there, then recompute its id and every later entry's ``prev`` and id, so that the
    new log is a consistent chain that verifies on its own; commit it to the ref
    (on top of the old tip, or with no history) as a force-push would leave it."""
    old = entries(p)
    renamed: dict[str, str] = {}
    files: dict[str, bytes] = {}
    for entry in sorted(old.values(), key=lambda e: e["seq"]):
        if entry["seq"] >= start:
            old_id = entry_id(entry)
            if entry["seq"] == start:
                edit(entry)
            entry["prev"] = [renamed.get(x, x) for x in entry["prev"]]
            renamed[old_id] = entry_id(entry)
        seq, eid = entry["seq"], entry_id(entry)
        files[f"entries/{seq // 1000:05d}/{seq:08d}-{eid}.json"] = entry_bytes(entry)
    index = str(p.outside / "forge.index")
    env = {**git_env(), "GIT_INDEX_FILE": index}
    if os.path.exists(index):
        os.unlink(index)
    lines = []
    for path, data in files.items():
        blob = sh(p.root, "git", "hash-object", "-w", "--stdin", data=data).strip()
        lines.append(f"100644 blob {blob}\t{path}\n")
    sh(
        p.root,
        "git",
        "update-index",
        "--add",
        "--index-info",
        data="".join(lines).encode(),
        env=env,
    )
    tree = sh(p.root, "git", "write-tree", env=env).strip()
    parent = ["-p", p.git("rev-parse", REF).strip()] if keep_history else []
    commit = p.git("commit-tree", tree, *parent, "-m", "audit: 1 entries").strip()
    p.git("update-ref", REF, commit)


def set_lr(value: float) -> Callable[[dict[str, Any]], None]:
    def edit(entry: dict[str, Any]) -> None:
        entry["details"]["params"]["params.yaml"]["lr"] = value

    return edit


def shared(proj: Proj, tmp_path: Path, tool: Path, runs: int = 3) -> tuple[Proj, Path]:
    """``runs`` retrainings, each committed with its lock and checkpoint, the code and
    the audit log pushed to a bare remote."""
    pipeline(proj)
    for i in range(runs):
        proj.params({"lr": round(0.1 * (i + 1), 1)})
        proj.ok("repro")
        proj.commit(f"train {i}")
    bare = tmp_path / "remote.git"
    sh(tmp_path, "git", "init", "-q", "--bare", "-b", "main", str(bare))
    proj.git("remote", "add", "origin", str(bare))
    proj.git("push", "-q", "origin", "main")
    proj.ok("audit", "push")
    return proj, bare


def fresh_clone(tmp_path: Path, tool: Path, bare: Path, name: str) -> Proj:
    root = tmp_path / name
    sh(tmp_path, "git", "clone", "-q", str(bare), str(root))
    (tmp_path / f"{name}-outside").mkdir()
    return Proj(root=root, tool=tool, outside=tmp_path / f"{name}-outside")


def ids(p: Proj) -> list[str]:
    return sorted(e["id"] for e in json.loads(p.ok("audit", "log", "--json").stdout)["entries"])


def force_push(p: Proj) -> None:
    p.git("push", "-q", "--force", "origin", f"{REF}:{REF}")


# -- a clone that saw the log before -------------------------------------------


@pytest.mark.slow
def test_a_rewritten_chain_is_refused_by_a_clone_that_saw_the_log(
    proj: Proj, tmp_path: Path, tool: Path
) -> None:
    a, bare = shared(proj, tmp_path, tool)
    b = fresh_clone(tmp_path, tool, bare, "b")
    b.ok("audit", "pull")
    before = ids(b)
    assert b.ok("audit", "verify").stdout.startswith("audit log OK: 3 entries")
    # in clone a: run #2's params rewritten, ids and links recomputed, force-pushed
    forge(a, set_lr(0.9), start=2)
    force_push(a)
    proc = b.fails("audit", "pull")
    assert "the audit log on 'origin' no longer holds 2 of the entries it held" in proc.stderr
    assert "rewritten or cut short there" in proc.stderr
    assert "refs/mlrepro/audit-incoming/origin" in proc.stderr  # kept to look at
    assert ids(b) == before  # nothing of the forgery came in
    out = b.fails("audit", "verify")
    assert "BROKEN in the log refused from 'origin': entry #2" in out.stdout
    assert "removed: the remote held it when this clone last saw its log" in out.stdout
    # and b cannot spread it, nor be talked into it by pulling again
    b.fails("audit", "pull")
    assert ids(b) == before


@pytest.mark.slow
def test_a_log_cut_short_on_the_remote_is_refused_by_a_clone_that_pushed_it(
    proj: Proj, tmp_path: Path, tool: Path
) -> None:
    a, bare = shared(proj, tmp_path, tool)
    # someone else rolls the remote's ref back to an older publication
    other = fresh_clone(tmp_path, tool, bare, "other")
    other.ok("audit", "pull")
    first = other.git("rev-list", "--reverse", REF).split()[0]
    other.git("update-ref", REF, first)
    force_push(other)
    proc = a.fails("audit", "pull")  # a pushed the whole log: the remote must still hold it
    assert "no longer holds 2 of the entries it held" in proc.stderr


@pytest.mark.slow
def test_a_log_deleted_on_the_remote_is_refused_by_a_clone_that_saw_it(
    proj: Proj, tmp_path: Path, tool: Path
) -> None:
    a, bare = shared(proj, tmp_path, tool)
    sh(tmp_path, "git", "--git-dir", str(bare), "update-ref", "-d", REF)
    proc = a.fails("audit", "pull")
    assert "the audit log on 'origin' is gone; it held 3 entries when this clone" in proc.stderr
    assert "mlrepro audit push origin" in proc.stderr
    a.ok("audit", "push")  # this clone holds them all: the remote's log comes back
    assert "up to date" in a.ok("audit", "pull").stdout


@pytest.mark.slow
def test_a_log_that_does_not_verify_is_refused_even_on_first_contact(
    proj: Proj, tmp_path: Path, tool: Path
) -> None:
    a, bare = shared(proj, tmp_path, tool)
    tamper(a, lambda data: data.replace(b'"lr":0.2', b'"lr":0.7'), which=1)
    force_push(a)
    c = fresh_clone(tmp_path, tool, bare, "c")
    proc = c.fails("audit", "pull")
    assert "the audit log on 'origin' does not verify: entry #2" in proc.stderr
    assert "edited" in proc.stderr
    assert c.git("for-each-ref", REF).strip() == ""  # nothing was taken in


# -- a fresh clone, through the committed checkpoints ---------------------------


@pytest.mark.slow
def test_repro_commits_a_checkpoint_of_the_head_with_its_results(proj: Proj) -> None:
    pipeline(proj)
    proj.ok("repro")
    head = json.loads(proj.ok("audit", "log", "--json").stdout)["entries"][0]
    assert proj.read(CHECKPOINTS) == f"{head['seq']} {head['id']}\n"
    assert proj.read(".mlrepro/.gitattributes") == "/audit-checkpoints merge=union\n"
    assert proj.git("status", "--porcelain", "--", CHECKPOINTS).startswith("??")
    proj.commit("results")
    # commands that change no committed file write none: the work tree stays clean, also
    # when a stage is restored from its own lock block or unchanged data is added again
    proj.write("data.txt", "data\n")
    proj.ok("add", "data.txt")
    proj.commit("data")

    def restore() -> None:
        (proj.root / "model.json").unlink()
        assert "restored" in proj.ok("repro").stdout

    steps = [
        ("repro",),
        ("status",),
        ("checkout",),
        ("gc", "-w"),
        ("audit", "verify"),
        ("add", "data.txt"),
        restore,
    ]
    for step in steps:
        step() if callable(step) else proj.ok(*step)
        assert proj.git("status", "--porcelain") == "", step


@pytest.mark.slow
def test_a_fresh_clone_finds_a_log_cut_short(proj: Proj, tmp_path: Path, tool: Path) -> None:
    a, bare = shared(proj, tmp_path, tool)
    first = a.git("rev-list", "--reverse", REF).split()[0]
    a.git("update-ref", REF, first)  # the log's first publication only: #1
    force_push(a)
    c = fresh_clone(tmp_path, tool, bare, "c")
    pulled = c.ok("audit", "pull")
    assert "fast-forward: 1 entries" in pulled.stdout
    assert "2 committed checkpoints name entries that neither" in pulled.stderr
    proc = c.fails("audit", "verify")
    assert "BROKEN checkpoint #3 (id" in proc.stdout and "missing" in proc.stdout
    assert "committed at HEAD" in proc.stdout
    assert "it was cut short (its newest entry is #1) or replaced" in proc.stdout
    assert "audit log NOT OK: 1 entries, 2 checkpoints missing" in proc.stderr


@pytest.mark.slow
def test_a_fresh_clone_finds_a_log_replaced_by_a_consistent_forgery(
    proj: Proj, tmp_path: Path, tool: Path
) -> None:
    a, bare = shared(proj, tmp_path, tool)
    forge(a, set_lr(0.5), start=1, keep_history=False)  # a whole new history
    force_push(a)
    c = fresh_clone(tmp_path, tool, bare, "c")
    c.ok("audit", "pull")
    proc = c.fails("audit", "verify")
    missing = [ln for ln in proc.stdout.splitlines() if ln.startswith("BROKEN checkpoint")]
    assert len(missing) == 3, proc.stdout  # every committed head is gone
    # the forged chain on its own verifies: only the anchor shows the replacement
    assert "3 entries, 3 checkpoints missing" in proc.stderr


@pytest.mark.slow
def test_a_fresh_clone_with_no_log_at_all_is_told_so(
    proj: Proj, tmp_path: Path, tool: Path
) -> None:
    a, bare = shared(proj, tmp_path, tool)
    a.git("push", "-q", "origin", f":{REF}")  # the log deleted on the remote
    c = fresh_clone(tmp_path, tool, bare, "c")
    assert "origin has no audit log yet" in c.ok("audit", "pull").stdout
    proc = c.fails("audit", "verify")
    assert "audit log NOT OK: 0 entries, 3 checkpoints missing" in proc.stderr
    assert "(it holds no entry)" in proc.stdout


@pytest.mark.slow
def test_checkpoints_of_two_branches_merge_without_conflict(proj: Proj) -> None:
    proj.params({"a": 1}, name="a.yaml")
    proj.params({"b": 1}, name="b.yaml")
    proj.pipeline(
        {
            name: {
                "cmd": proj.cmd(["param", f"{name}.json", f"{key}.yaml", key]),
                "params": [{f"{key}.yaml": [key]}],
                "outs": [f"{name}.json"],
            }
            for name, key in (("one", "a"), ("two", "b"))
        }
    )
    proj.ok("repro")
    proj.commit("both")
    proj.git("checkout", "-q", "-b", "side")
    proj.params({"a": 2}, name="a.yaml")
    proj.ok("repro")
    proj.commit("a=2")
    proj.git("checkout", "-q", "main")
    proj.ok("checkout")
    proj.params({"b": 3}, name="b.yaml")
    proj.ok("repro")
    proj.commit("b=3")
    proj.git("merge", "-q", "--no-edit", "side")  # no conflict in the checkpoint file
    lines = proj.read(CHECKPOINTS).splitlines()
    assert len(lines) == 3 and len(set(lines)) == 3
    assert proj.ok("audit", "verify").stdout.startswith("audit log OK")


def test_a_line_that_is_not_a_checkpoint_is_named(proj: Proj) -> None:
    pipeline(proj)
    proj.ok("repro")
    with open(proj.root / CHECKPOINTS, "a", encoding="utf-8") as f:
        f.write("<<<<<<< HEAD\n")
    out = proj.fails("audit", "verify").stdout
    assert "BROKEN .mlrepro/audit-checkpoints, line 2: malformed" in out


# -- the file's own format ------------------------------------------------------

hexid = st.text(alphabet="0123456789abcdef", min_size=64, max_size=64)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 10**9), hexid), max_size=12))
def test_checkpoints_written_are_read_back_as_a_set(points: list[tuple[int, str]]) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        for seq, eid in points:
            anchor.append(tmp, seq, eid)
        found, bad = anchor.read(tmp, tmp)
        assert not bad
        assert {(c.seq, c.id) for c in found} == set(points)
        assert all(c.where == "work tree" for c in found)
        # a repeated head writes nothing more
        if points:
            size = os.path.getsize(anchor.path(tmp))
            assert not anchor.append(tmp, *points[-1])
            assert os.path.getsize(anchor.path(tmp)) == size
