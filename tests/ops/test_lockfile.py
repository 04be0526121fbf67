"""``mlrepro.lock`` is deterministic: same inputs, same bytes, whatever the order of work."""

from __future__ import annotations

import getpass
import re
import socket
from collections.abc import Callable

import pytest

from tests.ops.conftest import Proj

FILES = {
    "raw/a.csv": "1,2\n",
    "raw/b.csv": "3,4\n",
    "extra/x/1.bin": "one",
    "extra/2.bin": "two",
    "src.txt": "code\n",
    "params.yaml": "model:\n  lr: 0.1\n  depth: 4\nseed: 3\nname: zeta\n",
}


def build(proj: Proj) -> None:
    for rel, text in FILES.items():
        proj.write(rel, text)
    proj.git("add", "src.txt", "params.yaml")
    proj.git("commit", "-q", "-m", "code")
    proj.pipeline(
        {
            # declared out of name order on purpose
            "zeta": {
                "cmd": proj.cmd(["cat", "zeta.txt", "mid/b.txt", "mid/a.txt"]),
                "deps": ["mid/b.txt", "mid/a.txt"],
                "params": ["name"],
                "outs": ["zeta.txt"],
            },
            "prep": {
                "foreach": ["b", "a"],
                "do": {
                    "cmd": proj.cmd(["cat", "mid/${item}.txt", "raw/${item}.csv", "src.txt"]),
                    "deps": ["src.txt", "raw/${item}.csv"],
                    "params": ["seed", "model.lr"],
                    "outs": ["mid/${item}.txt"],
                },
            },
            "alpha": {
                "cmd": proj.cmd(["mkfiles", "alpha_dir", "7"]),
                "deps": ["extra"],
                "outs": ["alpha_dir", {"alpha.json": {"cache": False}}],
                "metrics": [],
            },
        }
    )
    # alpha.json is written too (a second command keeps the first unchanged)
    text = proj.read("dvc.yaml").replace(
        "mkfiles alpha_dir 7", "mkfiles alpha_dir 7 + write alpha.json '{}'"
    )
    proj.write("dvc.yaml", text)


def make(new_repo: Callable[[str], Proj], name: str) -> Proj:
    proj = new_repo(name)
    build(proj)
    return proj


def stage_names_in_file_order(text: str) -> list[str]:
    return [m.group(1) for m in re.finditer(r'^  "([^"]+)":$', text, re.M)]


@pytest.mark.slow
def test_identical_repositories_give_byte_identical_locks(new_repo: Callable[[str], Proj]) -> None:
    one, two = make(new_repo, "one"), make(new_repo, "two")
    one.ok("repro", "-j", "4")
    # the other repository does the same work one stage at a time, in another order
    for target in ("alpha", "prep@b", "prep@a", "zeta"):
        two.ok("repro", "-j", "1", target)
    assert one.lock_text() == two.lock_text()
    text = one.lock_text()
    names = stage_names_in_file_order(text)
    assert names == ["alpha", "prep@a", "prep@b", "zeta"]
    assert names == sorted(names)
    assert text.startswith("# mlrepro.lock")
    assert "\nversion: 1\n" in text
    # nothing about the machine, user or time
    host = socket.gethostname()
    if len(host) >= 4:
        assert host not in text
    user = getpass.getuser()
    if len(user) >= 4:
        assert f'"{user}"' not in text and f"/{user}/" not in text.replace("/home/", "")
    assert not re.search(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}", text)
    assert str(one.root) not in text
    # running again (nothing to do) rewrites nothing; reading keeps the keys sorted
    one.ok("repro")
    assert one.lock_text() == two.lock_text()
    doc = one.lock()
    for rec in doc["stages"].values():
        assert [d["path"] for d in rec["deps"]] == sorted(d["path"] for d in rec["deps"])
        assert [o["path"] for o in rec["outs"]] == sorted(o["path"] for o in rec["outs"])
        for values in rec["params"].values():
            assert list(values) == sorted(values)


def test_lock_records_one_block_per_stage(proj: Proj) -> None:
    build(proj)
    proj.ok("repro")
    text = proj.lock_text()
    blocks = text.split("\n\n")
    # header, one block per stage, then data
    assert len(blocks) == 1 + 4 + 1
    assert blocks[-1].startswith("data:")
    assert [d["path"] for d in proj.lock()["data"]] == ["extra", "raw/a.csv", "raw/b.csv"]


def test_a_merge_of_branches_touching_different_stages_is_clean(proj: Proj) -> None:
    build(proj)
    proj.ok("repro")
    proj.commit("all stages")
    proj.git("checkout", "-q", "-b", "left")
    proj.write("params.yaml", FILES["params.yaml"].replace("zeta", "omega"))
    proj.ok("repro")
    proj.commit("left: name")
    proj.git("checkout", "-q", "main")
    proj.ok("checkout")
    proj.write("raw/b.csv", "3,5\n")
    proj.ok("repro", "prep@b")
    proj.commit("main: raw b")
    proj.git("merge", "-q", "--no-edit", "left")
    doc = proj.lock()
    assert doc["stages"]["zeta"]["params"]["params.yaml"]["name"] == "omega"
    assert "<<<<" not in proj.lock_text()
