"""Hostile file names (issue 15, bugs 4 and 5).

Names are bytes on Linux: a name that is not UTF-8 must be stored, hashed, listed,
shown and restored exactly, as git does. And every output must be kept out of git by
a .gitignore line that matches it and nothing else: git itself is the oracle.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import xxhash
from hypothesis import given, settings
from hypothesis import strategies as st

from mlrepro.engine.gitignore import ignore_outputs
from tests.ops.conftest import Proj, git_env

PY = sys.executable


def make(path: Path, data: bytes) -> None:
    """Write a file whose name may be any bytes (``path`` holds them as surrogates)."""
    os.makedirs(os.path.dirname(os.fsencode(path)), exist_ok=True)
    with open(os.fsencode(path), "wb") as f:
        f.write(data)


def files(folder: Path) -> dict[bytes, bytes]:
    """Every file below ``folder``: its name as bytes -> its bytes."""
    base = os.fsencode(folder)
    found = {}
    for dirpath, _, names in os.walk(base):
        for name in names:
            full = os.path.join(dirpath, name)
            with open(full, "rb") as f:
                found[os.path.relpath(full, base)] = f.read()
    return found


def ignored_by_git(root: Path) -> set[bytes]:
    """What git reports as ignored (``!!``), files listed one by one, as bytes."""
    out = subprocess.run(
        ["git", "status", "--porcelain", "--ignored=traditional", "-uall", "-z"],
        cwd=root,
        capture_output=True,
        check=True,
        env=git_env(),
    ).stdout
    return {
        rec[3:]
        for rec in out.split(b"\0")
        if rec.startswith(b"!! ") and not rec.startswith(b"!! .mlrepro/")
    }


def audit_runs(proj: Proj) -> list[dict[str, object]]:
    doc = json.loads(proj.ok("audit", "log", "--json").stdout)
    return [e for e in doc["entries"] if e["action"] == "stage.run"]


# -- bug 4: names that are not UTF-8 ---------------------------------------------------

# A stage command that writes files named with any bytes inside its output folder.
WRITE_RAW = (
    f"{PY} -c \"import os; os.makedirs(b'out/d\\\\xe9', exist_ok=True); "
    "[open(n, 'wb').write(n) for n in (b'out/caf\\\\xe9.txt', b'out/d\\\\xe9/\\\\xff\\\\xfe', "
    "b'out/ok.txt', b'out/new\\\\nline')]\""
)
RAW_OUT = {
    b"caf\xe9.txt": b"out/caf\xe9.txt",
    b"d\xe9/\xff\xfe": b"out/d\xe9/\xff\xfe",
    b"ok.txt": b"out/ok.txt",
    b"new\nline": b"out/new\nline",
}


def test_a_stage_output_folder_holding_names_that_are_not_utf8(proj: Proj) -> None:
    proj.write("in.txt", "in\n")
    proj.pipeline({"raw": {"cmd": WRITE_RAW, "deps": ["in.txt"], "outs": ["out"]}})
    proj.ok("repro")
    assert files(proj.root / "out") == RAW_OUT
    runs = audit_runs(proj)
    assert [r["details"]["status"] for r in runs] == ["succeeded"]  # type: ignore[index]
    proj.ok("audit", "verify")

    # the tree object: canonical JSON, each byte that is not UTF-8 as a \udcNN escape
    record = proj.out_record("raw", "out")
    tree = proj.object_path(record["digest"]).read_bytes()
    tree.decode("utf-8")  # valid UTF-8 (strict)
    assert b'"path":"caf\\udce9.txt"' in tree and b'"path":"d\\udce9/\\udcff\\udcfe"' in tree
    assert record["sha256"] == "sha256:" + hashlib.sha256(tree).hexdigest()
    names = [os.fsencode(e["path"]) for e in json.loads(tree)]
    assert sorted(names) == sorted(RAW_OUT)

    proj.ok("status", "--check")
    shutil.rmtree(proj.root / "out")
    proj.ok("checkout")
    assert files(proj.root / "out") == RAW_OUT  # the very bytes, names and contents
    proj.ok("status", "--check")
    assert b"out/caf\xe9.txt" in ignored_by_git(proj.root)


@pytest.mark.slow
def test_adding_a_large_folder_with_names_that_are_not_utf8(proj: Proj) -> None:
    """Enough files for worker processes, some named with bytes that are not UTF-8; the
    tree equals the one an independent encoder writes (json.dumps with ensure_ascii:
    the names are ASCII but for those bytes), status sees a change to such a file,
    diff shows it escaped, checkout brings back the exact bytes."""
    data = proj.root / "data"
    for i in range(4200):
        name = f"d{i % 5}/f{i:05d}" + ("\udce9" if i % 3 == 0 else "") + ".bin"
        make(data / name, b"%d\n" % i)
    make(data / "\udcff\udcfe", b"bom\n")
    before = files(data)
    expected = sorted(
        (
            {
                "path": os.fsdecode(rel),
                "sha256": hashlib.sha256(blob).hexdigest(),
                "size": len(blob),
                "xxh3-128": xxhash.xxh3_128_hexdigest(blob),
            }
            for rel, blob in before.items()
        ),
        key=lambda e: e["path"],
    )
    tree = json.dumps(expected, sort_keys=True, separators=(",", ":")).encode()
    proj.ok("add", "data")
    record = proj.data_records()["data"]
    assert record["digest"] == "xxh3-128:" + xxhash.xxh3_128_hexdigest(tree)
    assert record["nfiles"] == 4201
    proj.ok("status", "--check")
    proj.commit("data")

    make(data / "d0/f00000\udce9.bin", b"changed\n")
    assert "modified: data" in proj.fails("status", "--check", code=3).stdout
    text = proj.ok("diff", "HEAD").stdout
    assert '"data/d0/f00000\\351.bin"' in text  # git's quoting: octal for the byte
    doc = json.loads(proj.ok("diff", "HEAD", "--json").stdout)
    inside = [c["path"] for c in doc["data"] if c["folder"] == "data"]
    assert inside == ["data/d0/f00000\udce9.bin"]  # JSON keeps the exact name

    shutil.rmtree(data)
    proj.ok("checkout")
    assert files(data) == before
    proj.ok("status", "--check")


def test_names_with_line_breaks_inside_a_folder_are_shown_on_one_line(proj: Proj) -> None:
    make(proj.root / "data/a.txt", b"a\n")
    proj.ok("add", "data")
    proj.commit("data")
    make(proj.root / "data/new\nline\udcff", b"new\n")
    lines = proj.ok("diff", "HEAD").stdout.splitlines()
    row = [ln for ln in lines if "added" in ln]
    assert len(row) == 1 and row[0].startswith('"data/new\\nline\\377"'), lines


def test_a_crafted_tree_cannot_write_outside_its_folder(proj: Proj) -> None:
    """A tree object's paths come from a folder: one that climbs out (``../``) is a
    damaged or hostile cache, refused before anything is written."""
    make(proj.root / "data/a.txt", b"payload\n")
    proj.ok("add", "data")
    lock = proj.lock_text()
    old = proj.data_records()["data"]
    entry = json.loads(proj.object_path(old["digest"]).read_bytes())[0]
    entry["path"] = "../../../../escaped.txt"
    crafted = json.dumps([entry], sort_keys=True, separators=(",", ":")).encode()
    digest = xxhash.xxh3_128_hexdigest(crafted)
    target = proj.object_path("xxh3-128:" + digest)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(crafted)
    lock = lock.replace(old["digest"], "xxh3-128:" + digest).replace(
        old["sha256"], "sha256:" + hashlib.sha256(crafted).hexdigest()
    )
    (proj.root / "mlrepro.lock").write_text(lock)
    shutil.rmtree(proj.root / "data")
    proc = proj.fails("checkout")
    assert "bad path '../../../../escaped.txt'" in proc.stderr
    escaped = [p for p in proj.root.parent.rglob("escaped.txt")]
    assert escaped == []
    assert not (proj.root / "data").exists()


def test_adding_a_file_whose_own_name_is_not_utf8(proj: Proj) -> None:
    make(proj.root / "caf\udce9.csv", b"1,2\n")
    added = proj.ok("add", "caf\udce9.csv").stdout
    assert added.startswith('added "caf\\351.csv" (')  # quoted as git quotes it
    assert '"caf\\udce9.csv"' in proj.lock_text()
    # --json keeps the exact name: its escape, in valid UTF-8 JSON
    doc = json.loads(proj.ok("status", "--json").stdout.encode("utf-8"))
    assert [d["path"] for d in doc["data"]] == ["caf\udce9.csv"]
    assert b"caf\xe9.csv" in ignored_by_git(proj.root)
    proj.ok("audit", "verify")
    os.unlink(os.fsencode(proj.root / "caf\udce9.csv"))
    assert 'restored "caf\\351.csv"' in proj.ok("checkout").stdout
    assert (proj.root / "caf\udce9.csv").read_bytes() == b"1,2\n"


# -- bug 5: .gitignore lines ------------------------------------------------------------

HOSTILE = ["z*", "q?", "[x]", "!bang", "#hash", "sp ", "two  ", "back\\slash", "cr\r", "t\t"]
BYSTANDERS = ["zz", "q1", "x", "bang", "hash", "sp", "two ", "backXslash", "cr", "t"]


def test_outputs_with_glob_and_space_names_are_ignored_exactly(proj: Proj) -> None:
    proj.write("in.txt", "in\n")
    writes = [["write", name, "out\n"] for name in HOSTILE]
    proj.pipeline({"s": {"cmd": proj.cmd(*writes), "deps": ["in.txt"], "outs": HOSTILE}})
    for name in BYSTANDERS:
        proj.write(name, "mine\n")
    proj.git("add", "in.txt")  # tracked: not a data input (which would be ignored too)
    proj.ok("repro")
    assert ignored_by_git(proj.root) == {os.fsencode(n) for n in HOSTILE}
    proj.ok("status", "--check")  # the pipeline walk reads the .gitignore too
    proj.commit("all")
    committed = set(proj.git("ls-files", "-z").split("\0"))
    assert set(BYSTANDERS) <= committed
    assert not set(HOSTILE) & committed


def test_an_output_named_with_a_newline_is_refused_before_anything_runs(proj: Proj) -> None:
    proj.write("in.txt", "in\n")
    ran = proj.ext("ran")
    proj.pipeline(
        {
            "s": {
                "cmd": proj.cmd(["log", str(ran), "s"], ["write", "new\nline", "x"]),
                "deps": ["in.txt"],
                "outs": ["new\nline"],
            }
        }
    )
    proc = proj.fails("repro")
    (first,) = [ln for ln in proc.stderr.splitlines() if ln.startswith("error: ")]
    assert first.startswith("error: dvc.yaml:")
    assert "stage 's'" in first and "'new\\nline'" in first and "newline" in first
    assert "rename it" in first
    assert not ran.exists() and not (proj.root / ".gitignore").exists()
    assert proj.objects() == {}


def test_adding_a_name_with_a_newline_is_refused_and_nothing_is_cached(proj: Proj) -> None:
    proj.write("new\nline", "x\n")
    proc = proj.fails("add", "new\nline")
    assert "'new\\nline'" in proc.stderr and "newline" in proc.stderr
    assert "hint: rename it" in proc.stderr
    assert proj.objects() == {}
    assert not (proj.root / "mlrepro.lock").exists()
    assert not (proj.root / ".gitignore").exists()


def test_lines_an_earlier_version_wrote_unescaped_are_replaced(tmp_path: Path) -> None:
    """A repository whose .gitignore holds `/z*` (from before issue 15) stops hiding
    `zz` once the output is ignored again; the user's own lines stay as they were."""
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True, env=git_env())
    for name in ["z*", "zz", "sp ", "sp", "keep.log"]:
        make(tmp_path / name, b"x")
    (tmp_path / ".gitignore").write_bytes(b"*.log\n/z*\n/sp \n# mine\n")
    ignore_outputs(str(tmp_path), ["z*", "sp "])
    assert ignored_by_git(tmp_path) == {b"z*", b"sp ", b"keep.log"}
    assert (tmp_path / ".gitignore").read_bytes() == b"*.log\n/z\\*\n/sp[ ]\n# mine\n"


# names a file may have (no "/" or NUL; not "." or ".."; not git's or mlrepro's own),
# from characters that gitignore patterns and git's line reading treat specially
_NAME = (
    st.lists(
        st.sampled_from(
            ["*", "?", "[", "]", "\\", "!", "#", " ", "\t", "\r", "a", "z", ".", "é", "\udce9"]
        ),
        min_size=1,
        max_size=6,
    )
    .map("".join)
    .filter(lambda n: n not in (".", "..", ".git", ".gitignore", ".mlrepro"))
)


@settings(max_examples=60)
@given(st.lists(_NAME, min_size=1, max_size=8, unique=True), st.data())
def test_gitignore_lines_match_exactly_the_outputs_by_git(
    tmp_path_factory: pytest.TempPathFactory, names: list[str], data: st.DataObject
) -> None:
    outs = data.draw(st.lists(st.sampled_from(names), unique=True, min_size=1))
    root = tmp_path_factory.mktemp("ignore")
    subprocess.run(["git", "init", "-q", str(root)], check=True, env=git_env())
    for name in names:
        make(root / "sub" / name, b"x")
    (root / "sub/.gitignore").write_bytes(b"# the user's own lines stay\nkeep*\n")
    ignore_outputs(str(root), [f"sub/{n}" for n in outs])
    ignore_outputs(str(root), [f"sub/{n}" for n in outs])  # a second time adds nothing
    assert ignored_by_git(root) == {os.fsencode(f"sub/{n}") for n in outs}
    lines = (root / "sub/.gitignore").read_bytes().split(b"\n")
    assert lines[:2] == [b"# the user's own lines stay", b"keep*"]
    assert len(lines) == 2 + len(outs) + 1  # one line each, and the final newline


@pytest.mark.slow
def test_lineage_of_a_file_whose_name_is_not_utf8(proj: Proj) -> None:
    """The lineage index holds such a path as a BLOB of its bytes (as the stat cache
    does), finds it by either digest, and gives it back exactly: as its JSON escape in
    --json, quoted as git quotes it in text."""
    make(proj.root / "caf\udce9.csv", b"1,2\n")
    proj.ok("add", "caf\udce9.csv")
    proj.commit("data")
    head = proj.git("rev-parse", "HEAD").strip()
    sha = "sha256:" + hashlib.sha256(b"1,2\n").hexdigest()
    xxh = "xxh3-128:" + xxhash.xxh3_128_hexdigest(b"1,2\n")
    for _ in range(2):  # built, then read back from the index
        for digest in (sha, xxh):
            doc = json.loads(proj.ok("lineage", "--digest", digest, "--json").stdout)
            assert [(h["commit"], h["role"], h["path"]) for h in doc["found"]] == [
                (head, "data", "caf\udce9.csv")
            ]
        (row,) = proj.ok("lineage", "--digest", sha).stdout.splitlines()
        assert row.startswith(f"{head[:12]}  data      data input  ") and "caf" in row
        assert row.endswith('"caf\\351.csv"')
    text = proj.ok("lineage", "caf\udce9.csv").stdout
    assert text.splitlines()[0] == 'lineage of "caf\\351.csv" at HEAD'
    assert '    "caf\\351.csv"  [data]  xxh3-128:' in text
    doc = json.loads(proj.ok("lineage", "caf\udce9.csv", "--json").stdout)
    assert [n["path"] for n in doc["nodes"]] == ["caf\udce9.csv"]
    dot = proj.ok("lineage", "caf\udce9.csv", "--dot").stdout
    assert '\\"caf\\\\351.csv\\"' in dot  # the label, shown as in text


def test_an_output_named_with_a_cr_hides_no_folder_from_the_pipeline_walk(proj: Proj) -> None:
    """The .gitignore line of an output named ``b<CR>c`` is one line to git; read as two
    (``/b`` and ``c``), it hid the folder ``b`` and the stages of its dvc.yaml."""
    proj.write("in.txt", "in\n")
    proj.pipeline(
        {"s": {"cmd": proj.cmd(["write", "b\rc", "out\n"]), "deps": ["in.txt"], "outs": ["b\rc"]}}
    )
    proj.write(
        "b/dvc.yaml",
        json.dumps(
            {"stages": {"t": {"cmd": proj.cmd(["write", "y.txt", "y\n"]), "outs": ["y.txt"]}}}
        ),
    )
    proj.git("add", "in.txt")
    proj.ok("repro")
    assert (proj.root / ".gitignore").read_bytes() == b"/b\rc\n"
    assert ignored_by_git(proj.root) == {b"b\rc", b"b/y.txt"}
    listed = proj.ok("stage", "list").stdout
    assert "b/dvc.yaml:t" in listed, listed
    proj.ok("status", "--check")
