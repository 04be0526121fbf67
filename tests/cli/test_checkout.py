"""``mlrepro checkout`` (mlrepro/cli/checkout.py) through the real CLI: one ``restored``
line a path, the message when nothing needed doing, the ``missing`` lines and the one
error for what the cache lacks, TARGETs with and without ``--with-deps``, and names
quoted as git quotes them (docs/cli.md, "mlrepro checkout" and "File names").

How outputs come back is tests/ops/test_checkout.py's subject."""

from __future__ import annotations

import os
import shutil

import pytest

from tests.ops.conftest import Proj

TAB = "tab\tname.txt"  # a control character: shown quoted, "tab\tname.txt"


def two_stages(proj: Proj) -> None:
    """a: in.txt -> a.txt; b: a.txt -> TAB and the folder dir/ (3 files)."""
    proj.write("in.txt", "in\n")
    proj.pipeline(
        {
            "a": {
                "cmd": proj.cmd(["cat", "a.txt", "in.txt"]),
                "deps": ["in.txt"],
                "outs": ["a.txt"],
            },
            "b": {
                "cmd": proj.cmd(["cat", TAB, "a.txt", "a.txt"], ["mkfiles", "dir", "3"]),
                "deps": ["a.txt"],
                "outs": [TAB, "dir"],
            },
        }
    )
    proj.ok("repro")


def remove_all(proj: Proj) -> None:
    os.unlink(proj.root / "a.txt")
    os.unlink(proj.root / TAB)
    shutil.rmtree(proj.root / "dir")


def test_nothing_to_restore_says_the_workspace_matches(proj: Proj) -> None:
    two_stages(proj)
    proc = proj.ok("checkout")
    assert (proc.stdout, proc.stderr) == ("Everything matches mlrepro.lock.\n", "")


def test_each_restored_path_is_one_line_its_name_quoted_as_git_quotes_it(proj: Proj) -> None:
    two_stages(proj)
    remove_all(proj)
    proc = proj.ok("checkout")
    assert sorted(proc.stdout.splitlines()) == [
        'restored "tab\\tname.txt"',
        "restored a.txt",
        "restored dir",
    ]
    assert proj.read(TAB) == "in\nin\n" and len(list((proj.root / "dir").rglob("*.txt"))) == 3


def test_targets_restore_only_their_outputs_unless_with_deps(proj: Proj) -> None:
    two_stages(proj)
    remove_all(proj)
    proc = proj.ok("checkout", "b")
    assert sorted(proc.stdout.splitlines()) == ['restored "tab\\tname.txt"', "restored dir"]
    assert not (proj.root / "a.txt").exists()
    # b's outputs match: checking b out again has nothing to do, a.txt notwithstanding
    assert proj.ok("checkout", "b").stdout == "Everything matches mlrepro.lock.\n"
    assert proj.ok("checkout", "b", "--with-deps").stdout == "restored a.txt\n"
    assert proj.read("a.txt") == "in\n"


def test_paths_the_cache_lacks_are_listed_and_the_rest_still_restored(proj: Proj) -> None:
    two_stages(proj)
    remove_all(proj)
    digest = proj.out_record("a", "a.txt")["digest"]
    proj.object_path(digest).unlink()
    proc = proj.fails("checkout")
    # what could be restored is reported on standard output ...
    assert sorted(proc.stdout.splitlines()) == ['restored "tab\\tname.txt"', "restored dir"]
    # ... what could not, on standard error, before the one error and its hint
    assert proc.stderr.splitlines() == [
        f"missing  a.txt: object {digest} is not in the cache (for 'a.txt')",
        "error: 1 path(s) could not be restored from the cache",
        "hint: pull the cache from a remote, or run `mlrepro repro` to rebuild them",
    ]
    assert not (proj.root / "a.txt").exists()


def test_a_missing_line_never_prints_a_control_character_raw(proj: Proj) -> None:
    two_stages(proj)
    os.unlink(proj.root / TAB)
    proj.object_path(proj.out_record("b", TAB)["digest"]).unlink()
    proc = proj.fails("checkout")
    missing = [ln for ln in proc.stderr.splitlines() if ln.startswith("missing")]
    assert missing and missing[0].startswith('missing  "tab\\tname.txt": ')
    assert "\t" not in proc.stderr


@pytest.mark.parametrize(
    ("args", "code", "first"),
    [
        (["nosuch"], 2, "error: no stage named 'nosuch'"),
        (["--wait", "x"], 2, "error: invalid value for '--wait': 'x' is not a valid float."),
    ],
)
def test_bad_targets_and_option_values_change_nothing(
    proj: Proj, args: list[str], code: int, first: str
) -> None:
    two_stages(proj)
    os.unlink(proj.root / "a.txt")
    proc = proj.fails("checkout", *args, code=code)
    assert proc.stdout == "" and proc.stderr.splitlines()[0] == first
    assert not (proj.root / "a.txt").exists()
