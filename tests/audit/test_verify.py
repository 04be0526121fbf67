"""What ``audit verify`` makes of a tampered chain (hypothesis): one edited entry is one
break, named at that entry whichever check shows it (its own hash, or the ``prev`` of
the entry after it), with the entries after it still chained up to the head and those
before it cut off; and it passes or fails exactly as :func:`chain.verify` does."""

from __future__ import annotations

import hashlib
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from mlrepro.audit.chain import StoredEntry
from mlrepro.audit.chain import verify as chain_verify
from mlrepro.audit.entry import entry_bytes, entry_id, make_entry
from mlrepro.audit.verify import Known, check
from tests.audit.test_chain import CHAIN, SHARED, actions, chain, details, logs

Steps = list[tuple[str, dict[str, Any]]]


def edit(s: StoredEntry, *, renamed: bool) -> StoredEntry:
    """``s`` with other bytes: under its old name (a blob rewritten in the ref), or under
    the hash of its new bytes (a line of the pending file, or a blob renamed too)."""
    data = s.data.replace(b'"action":"', b'"action":"x', 1)
    return StoredEntry(s.name_seq, hashlib.sha256(data).hexdigest() if renamed else s.name_id, data)


@CHAIN
@given(logs, st.data(), st.booleans())
def test_one_edited_entry_is_one_break_at_that_entry(
    steps: Steps, data: st.DataObject, renamed: bool
) -> None:
    stored = chain(steps)
    i = data.draw(st.integers(0, len(stored) - 1))
    head, original = stored[-1], stored[i]
    stored[i] = edit(original, renamed=renamed)
    # an edited newest line of the pending file only shows against the head verified
    # here before (nothing after it names it)
    known = Known(head.name_id, head.name_seq)
    report = check(stored, known)
    [problem] = report.problems
    assert (problem.seq, problem.kind, problem.entry) == (i + 1, "edited", stored[i].name_id)
    if renamed and i < len(stored) - 1:
        assert problem.why.startswith(f"entry #{i + 2} names {original.name_id[:16]}…")
    elif renamed:
        assert problem.why.startswith(f"this clone verified #{i + 1} as")
    else:
        assert "not to the id it is stored under" in problem.why
    assert problem.about is not None and problem.about["action"].startswith("x")
    # what follows: the head still vouches for what comes after the edit, not before
    assert report.chained == tuple(range(i + 2, len(stored) + 1))
    assert report.cut_off == tuple(range(1, i + 1))
    assert report.found == len(stored)
    assert [c.problem is None for c in report.entries] == [j != i for j in range(len(stored))]
    assert not chain_verify(stored, known.head).ok


@CHAIN
@given(logs, st.data())
def test_a_removed_entry_is_one_break_at_the_entry_after_it(
    steps: Steps, data: st.DataObject
) -> None:
    stored = chain(steps)
    i = data.draw(st.integers(0, len(stored) - 2))
    gone = stored.pop(i)
    report = check(stored)
    [problem] = report.problems
    assert (problem.seq, problem.kind) == (i + 2, "removed")
    assert gone.name_id[:16] in problem.why
    assert report.chained == tuple(range(i + 2, len(stored) + 2))
    assert report.cut_off == tuple(range(1, i + 1))
    assert report.found == len(stored)


@CHAIN
@given(logs, st.data(), actions, details, st.booleans())
def test_an_entry_slipped_into_the_chain_is_the_only_break(
    steps: Steps, data: st.DataObject, action: str, d: dict[str, Any], remembered: bool
) -> None:
    stored = chain(steps)
    head = stored[-1]
    i = data.draw(st.integers(0, len(stored) - 2))
    after = stored[i]
    forged = make_entry(
        seq=after.name_seq + 1, prev=[after.name_id], action=action, details=d, shared=SHARED
    )
    stored.append(StoredEntry(after.name_seq + 1, entry_id(forged), entry_bytes(forged)))
    report = check(stored, Known(head.name_id, head.name_seq) if remembered else None)
    found = [(p.entry, p.kind) for p in report.problems]
    if remembered or forged["seq"] < head.name_seq:
        assert found == [(entry_id(forged), "inserted")]
        assert report.chained == tuple(range(1, len(steps) + 1))  # the real chain is whole
    else:  # two newest entries, and nothing to tell which one is real
        assert sorted(found) == sorted([(entry_id(forged), "inserted"), (head.name_id, "inserted")])
    assert report.found == len(steps) + 1


@CHAIN
@given(logs, logs, logs, st.data(), st.booleans())
def test_an_edit_in_one_of_two_merged_chains_is_one_break(
    common: Steps, left: Steps, right: Steps, data: st.DataObject, renamed: bool
) -> None:
    base = chain(common)

    def grow(steps: Steps, host: str) -> list[StoredEntry]:
        out: list[StoredEntry] = []
        prev, seq = [base[-1].name_id], base[-1].name_seq
        for action, d in steps:
            seq += 1
            e = make_entry(
                seq=seq, prev=prev, action=action, details=d, shared={**SHARED, "host": host}
            )
            out.append(StoredEntry(seq, entry_id(e), entry_bytes(e)))
            prev = [out[-1].name_id]
        return out

    a, b = grow(left, "laptop"), grow(right, "ci")
    heads = [a[-1], b[-1]]
    merge = make_entry(
        seq=1 + max(h.name_seq for h in heads),
        prev=[h.name_id for h in heads],
        action="audit.merge",
        details={},
        shared=SHARED,
    )
    stored = [*base, *a, *b, StoredEntry(merge["seq"], entry_id(merge), entry_bytes(merge))]
    assert check(stored).ok
    i = data.draw(st.integers(0, len(a) - 1))
    stored[len(base) + i] = edit(a[i], renamed=renamed)
    report = check(stored)
    [problem] = report.problems
    assert (problem.seq, problem.kind) == (a[i].name_seq, "edited")
    # the common part is still reached through the other chain; only the edited
    # chain's entries before the edit are cut off
    assert report.cut_off == tuple(s.name_seq for s in a[:i])
    assert set(report.chained) >= {s.name_seq for s in base + b}


tamperings = st.sampled_from(["edit", "rename", "delete", "swap", "insert", "truncate", "none"])


@CHAIN
@given(logs, st.data(), st.lists(tamperings, min_size=1, max_size=3), st.booleans())
def test_it_passes_and_fails_as_chain_verify_does(
    steps: Steps, data: st.DataObject, how: list[str], remembered: bool
) -> None:
    stored = chain(steps)
    head = stored[-1]
    for t in how:
        if len(stored) < 2:
            break
        i = data.draw(st.integers(0, len(stored) - 2))
        s = stored[i]
        if t in ("edit", "rename"):
            stored[i] = edit(s, renamed=t == "rename")
        elif t == "delete":
            del stored[i]
        elif t == "swap":
            b = stored[i + 1]
            stored[i] = StoredEntry(b.name_seq - 1, b.name_id, b.data)
            stored[i + 1] = StoredEntry(s.name_seq + 1, s.name_id, s.data)
        elif t == "insert":
            forged = make_entry(
                seq=s.name_seq + 1, prev=[s.name_id], action="x", details={}, shared=SHARED
            )
            stored.append(StoredEntry(s.name_seq + 1, entry_id(forged), entry_bytes(forged)))
        elif t == "truncate":
            stored = stored[: i + 1]
    known = Known(head.name_id, head.name_seq) if remembered else None
    report = check(stored, known)
    assert report.ok == chain_verify(stored, known.head if known else None).ok
    assert report.found == len(stored)
    # every entry is accounted for: chained up to the head, cut off from it, or edited
    edited = {p.seq for p in report.problems if p.kind == "edited"}
    assert {*report.chained, *report.cut_off, *edited} == {s.name_seq for s in stored}
