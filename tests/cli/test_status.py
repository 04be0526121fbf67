"""``mlrepro status`` (mlrepro/cli/status.py) through the real CLI: its three output forms
(one line a stage, ``--why``, ``--json``), ``--check``'s exit status 3 whatever the form,
and target selection (docs/cli.md, "mlrepro status").

Which reasons status finds is tests/ops/test_status.py's subject."""

from __future__ import annotations

import json

import pytest

from mlrepro.errors import EXIT_CHANGED
from tests.ops.conftest import Proj


def chain(proj: Proj) -> None:
    """a: in.txt + param n -> a.txt; b: a.txt -> b.txt; run once, then n and in.txt changed."""
    proj.params({"n": 1})
    proj.write("in.txt", "in\n")
    proj.pipeline(
        {
            "a": {
                "cmd": proj.cmd(["param", "a.txt", "params.yaml", "n"]),
                "deps": ["in.txt"],
                "params": ["n"],
                "outs": ["a.txt"],
            },
            "b": {"cmd": proj.cmd(["cat", "b.txt", "a.txt"]), "deps": ["a.txt"], "outs": ["b.txt"]},
        }
    )
    proj.ok("repro")
    proj.params({"n": 2})
    proj.write("in.txt", "in2\n")


def test_text_gives_one_line_a_stage_and_why_gives_every_reason(proj: Proj) -> None:
    chain(proj)
    lines = proj.ok("status").stdout.splitlines()
    # the first reason, and how many more --why would show
    assert lines[0].startswith("a: dependency 'in.txt' changed (xxh3-128:")
    assert lines[0].endswith(" (+1 more)")
    assert lines[1:] == [
        "b: will run if upstream stage 'a' produces different bytes",
        "data:",
        "    modified: in.txt",
    ]
    why = proj.ok("status", "--why").stdout.splitlines()
    assert why[0] == "a:"
    assert why[1].startswith("    dependency 'in.txt' changed (xxh3-128:")
    assert why[2:] == [
        "    param 'n' changed: 1 -> 2",
        "b:",
        "    will run if upstream stage 'a' produces different bytes",
        "data:",
        "    modified: in.txt",
    ]


def test_json_is_versioned_and_carries_the_documented_keys(proj: Proj) -> None:
    chain(proj)
    doc = json.loads(proj.ok("status", "--json").stdout)
    assert doc["version"] == 1 and doc["changed"] is True
    assert set(doc) == {"version", "changed", "stages", "data", "cache"}
    a, b = doc["stages"]
    assert set(a) == {"id", "changed", "frozen", "reasons", "conditional_on", "restore"}
    assert (a["id"], a["changed"], a["frozen"], a["restore"]) == ("a", True, False, False)
    param = next(r for r in a["reasons"] if r["code"] == "param-changed")
    assert (param["path"], param["old"], param["new"]) == ("n", 1, 2)  # values, not text
    dep = next(r for r in a["reasons"] if r["code"] == "dep-changed")
    assert dep["path"] == "in.txt" and dep["old"].startswith("xxh3-128:")
    assert b["conditional_on"] == ["a"]
    assert [r["code"] for r in b["reasons"]] == ["upstream-bytes"]
    assert doc["data"] == [
        {"path": "in.txt", "state": "modified", "old": dep["old"], "new": dep["new"]}
    ]
    assert doc["cache"] == []


@pytest.mark.parametrize("form", [[], ["--why"], ["--json"]])
def test_check_exits_3_after_printing_in_any_form(proj: Proj, form: list[str]) -> None:
    chain(proj)
    plain = proj.ok("status", *form)
    checked = proj.fails("status", "--check", *form, code=EXIT_CHANGED)
    assert checked.stdout == plain.stdout and checked.stderr == ""
    proj.ok("repro")
    proc = proj.ok("status", "--check", *form)
    if form == ["--json"]:
        assert json.loads(proc.stdout)["changed"] is False
    else:
        assert proc.stdout == "Everything is up to date.\n"


def test_targets_select_the_stage_and_what_it_depends_on(proj: Proj) -> None:
    chain(proj)
    only_a = proj.ok("status", "a", "--json")
    assert [s["id"] for s in json.loads(only_a.stdout)["stages"]] == ["a"]
    with_upstream = proj.ok("status", "b", "--json")
    assert [s["id"] for s in json.loads(with_upstream.stdout)["stages"]] == ["a", "b"]
    # --check judges the selection only: after a reruns alone, b is out of date, a is not
    proj.ok("repro", "a")
    proj.ok("status", "a", "--check")
    proj.fails("status", "--check", code=EXIT_CHANGED)
    proj.fails("status", "b", "--check", code=EXIT_CHANGED)


def test_an_unknown_target_is_a_usage_error_with_a_hint(proj: Proj) -> None:
    chain(proj)
    proc = proj.fails("status", "nosuch", code=2)
    assert proc.stdout == ""
    assert proc.stderr.splitlines() == [
        "error: no stage named 'nosuch'",
        "hint: `mlrepro stage list` shows the stage names",
    ]
