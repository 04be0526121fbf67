"""``audit log`` and ``audit verify`` as text and versioned JSON (docs/cli.md,
"mlrepro audit log", "mlrepro audit verify")."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlrepro.audit.verify import Checked, Problem, Report
from mlrepro.render.audit import (
    consequence,
    log_json,
    log_line,
    log_warning,
    shown,
    summary_line,
    verify_lines,
    what,
)

ID = "dd56488323553b57" + "0" * 48
ACTOR = {"git_email": "alice@example.com", "os_user": "alice"}


def entry(seq: int, action: str, details: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "seq": seq,
        "time": f"2026-11-27T03:0{seq}:00.000Z",
        "action": action,
        "actor": ACTOR,
        "host": "build-7",
        "git": {"commit": "3f2a9c1d04be" + "5" * 28, "dirty": False},
        "details": details,
        **extra,
    }


@pytest.mark.parametrize(
    ("details", "about"),
    [
        ({"stage": "train", "artifact": {"path": "x"}}, "train"),
        ({"artifact": {"path": "data/raw"}}, "data/raw"),
        ({"name": "core.remote"}, "core.remote"),
        ({"removed": 1}, "1 object"),
        ({"removed": 0}, "0 objects"),
        ({"removed": ["a", "b", "c"]}, "3 objects"),
        ({"removed": "text"}, ""),
        ({}, ""),
    ],
)
def test_what_an_entry_is_about(details: dict[str, Any], about: str) -> None:
    assert what(details) == about


def test_log_lines_as_documented() -> None:
    run = entry(2, "stage.run", {"stage": "train", "status": "failed"})
    run["git"]["dirty"] = True
    add = entry(1, "add", {"artifact": {"path": "data/raw"}, "status": "succeeded"})
    add["actor"] = {"os_user": "bob"}
    assert log_line(Checked(ID, run, None)) == (
        "#2  2026-11-27T03:02:00.000Z  stage.run  train  [failed]  by alice@example.com on"
        " build-7  at 3f2a9c1d04be (dirty)"
    )
    assert log_line(Checked(ID, add, None)) == (
        "#1  2026-11-27T03:01:00.000Z  add  data/raw  by bob on build-7  at 3f2a9c1d04be"
    )


def test_a_broken_entry_is_tagged() -> None:
    e = entry(3, "stage.restore", {"stage": "train"})
    edited = Problem(3, ID, "edited", "its bytes hash to …")
    removed = Problem(3, ID, "removed", "its prev names …")
    assert "  train  [BROKEN: edited]  by " in log_line(Checked(ID, e, edited))
    assert "  [BROKEN: the entry before it is gone]  by " in log_line(Checked(ID, e, removed))


def test_a_mangled_entry_still_prints_one_line() -> None:
    mangled = {"seq": 9, "actor": "x", "details": ["y"], "git": None, "action": "a\nb\x1b[31m"}
    assert log_line(Checked(ID, mangled, None)) == (
        "#9  None  a\\x0ab\\x1b[31m    by None on None  at -"
    )


@given(st.text())
def test_shown_leaves_no_control_character(text: str) -> None:
    out = shown(text)
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in out)
    assert len(out.splitlines()) <= 1
    if not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F or c in "\u2028\u2029" for c in text):
        assert out == text


def test_the_line_breaks_beyond_control_characters_are_written_out() -> None:
    """Found by the property above: U+2028 ends a line for str.splitlines."""
    assert shown("a\u2028b\u2029c\x85") == "a\\u2028b\\u2029c\\x85"


def test_log_json_sets_id_and_verified_last() -> None:
    forged = entry(1, "add", {"artifact": {"path": "a"}}, id="forged", verified=True)
    sound = entry(2, "add", {"artifact": {"path": "b"}})
    broken = Problem(1, ID, "edited", "…")
    doc = json.loads(log_json([Checked(ID, forged, broken), Checked("b" * 64, sound, None)]))
    assert doc["version"] == 1
    first, second = doc["entries"]
    assert (first["id"], first["verified"]) == (ID, False)
    assert (second["id"], second["verified"]) == ("b" * 64, True)
    keys = list(second)
    assert keys[0] == "id" and keys[-1] == "verified"
    assert {k: v for k, v in second.items() if k not in ("id", "verified")} == sound
    assert json.loads(log_json([])) == {"version": 1, "entries": []}


def report(
    problems: tuple[Problem, ...], chained: tuple[int, ...], cut: tuple[int, ...], found: int = 5
) -> Report:
    entries = tuple(Checked(ID, {"seq": s}, None) for s in range(1, found + 1))
    return Report(found, ("h",), problems, chained, cut, entries)


EDITED = Problem(
    3,
    ID,
    "edited",
    "its bytes hash to 29799a0db274bde1…, not to the id it is stored under",
    about=entry(3, "add", {"artifact": {"path": "d9.txt"}}),
)


def test_verify_lines_as_documented() -> None:
    r = report((EDITED,), chained=(4, 5), cut=(1, 2))
    assert verify_lines(r) == [
        "BROKEN entry #3 (add d9.txt, 2026-11-27T03:03:00.000Z, id dd56488323553b57…): edited:"
        " its bytes hash to 29799a0db274bde1…, not to the id it is stored under",
        "the chain breaks at entry #3: #4-#5 still chain up to the head, but #1-#2 no longer"
        " do: the log cannot show that they are unchanged",
    ]
    assert summary_line(r) == "5 entries, 1 broken"
    assert log_warning(r) == (
        "warning: the audit log does not verify: the chain breaks at entry #3 (edited);"
        " see `mlrepro audit verify`"
    )


def test_verify_lines_of_a_fetched_log_name_it() -> None:
    where = "in the log fetched from 'origin': "
    lines = verify_lines(report((EDITED,), (4, 5), (1, 2)), where)
    assert all(line.startswith(("BROKEN " + where, where)) for line in lines)
    assert len(lines) == 2


def test_a_log_that_verifies_prints_nothing() -> None:
    r = report((), (1, 2, 3, 4, 5), ())
    assert r.ok and verify_lines(r) == []
    assert summary_line(r) == "5 entries"


ONE = "#4 still chains up to the head, but #1 no longer does: the log cannot show that it is"
STRETCHES = "#4-#5, #7, #9 and 1 more stretches still chain up to the head; no entry before it"
NONE = "no entry chains up to an intact head, so the log cannot show that #1-#2 are unchanged"


@pytest.mark.parametrize(
    ("chained", "cut", "says"),
    [
        ((4,), (1,), ONE + " unchanged"),
        ((4, 5, 7, 9, 11), (), STRETCHES + " is affected"),
        ((), (1, 2), NONE),
        ((), (), "no entry is left that the log can vouch for"),
    ],
)
def test_consequence_of_a_break(chained: tuple[int, ...], cut: tuple[int, ...], says: str) -> None:
    assert consequence(report((EDITED,), chained, cut)) == f"the chain breaks at entry #3: {says}"


def test_a_truncated_log() -> None:
    gone = Problem(-1, "e" * 64, "truncated", "the head verified before is gone")
    r = report((gone,), chained=(1, 2), cut=())
    assert verify_lines(r) == [
        f"BROKEN {'e' * 16}…: truncated: the head verified before is gone",
        "the log was cut short or replaced since this clone last verified it; nothing ties"
        " #1-#2 to that verification",
    ]
    assert summary_line(r) == "5 entries"
    assert log_warning(r) == (
        "warning: the audit log does not verify: the head this clone verified before is gone;"
        " see `mlrepro audit verify`"
    )
    assert consequence(report((gone,), (), ())).endswith(
        "no entry is left that chains up to a head"
    )


def test_missing_checkpoints() -> None:
    missing = tuple(
        Problem(s, f"{s}" * 64, "missing", "not in the log", checkpoint=True) for s in (7, 8)
    )
    r = report(missing, chained=(1, 2), cut=(), found=2)
    assert verify_lines(r)[0] == f"BROKEN checkpoint #7 (id {'7' * 16}…): missing: not in the log"
    assert verify_lines(r)[2] == (
        "committed history names entries this log does not hold: it was cut short (its newest"
        " entry is #2) or replaced; if those entries were made in another clone,"
        " `mlrepro audit pull` brings them"
    )
    assert summary_line(r) == "2 entries, 2 checkpoints missing"
    assert "a committed checkpoint names an entry the log does not hold" in log_warning(r)
    empty = Report(0, (), missing[:1], (), (), ())
    assert "(it holds no entry)" in consequence(empty)
    assert summary_line(empty) == "0 entries, 1 checkpoint missing"


def test_a_malformed_checkpoint_line_is_named_by_its_place() -> None:
    bad = Problem(
        4, ".mlrepro/audit-checkpoints, line 4", "malformed", "not a checkpoint", checkpoint=True
    )
    assert verify_lines(report((bad,), (), ()))[0] == (
        "BROKEN .mlrepro/audit-checkpoints, line 4: malformed: not a checkpoint"
    )


def test_an_edited_entry_cannot_forge_a_line_of_the_report() -> None:
    about = entry(2, "add\nBROKEN entry #9", {"artifact": {"path": "x\x1b[2K"}})
    p = Problem(2, "a\nb" + "0" * 20, "edited", "…", about=about)
    lines = verify_lines(report((p,), (), (1,)))
    assert len(lines) == 2
    assert lines[0].startswith("BROKEN entry #2 (add\\x0aBROKEN entry #9 x\\x1b[2K, ")
    assert "id a\\x0ab0000000000000…)" in lines[0]
