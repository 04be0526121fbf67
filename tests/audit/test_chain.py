"""The audit chain (hypothesis): appends always verify; any single tampering is caught."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlrepro.audit.chain import StoredEntry, verify
from mlrepro.audit.entry import entry_bytes, entry_id, make_entry

SHARED: dict[str, Any] = {
    "actor": {"git_name": "A", "git_email": "a@x", "os_user": "a"},
    "host": "h",
    "git": {"commit": "0" * 40, "branch": "main", "dirty": False},
    "env": {"python": "3.11", "packages": [], "packages_sha256": "0" * 64},
}

actions = st.sampled_from(["stage.run", "stage.restore", "checkout", "add"])
details = st.dictionaries(
    st.sampled_from(["stage", "path", "n"]),
    st.text(alphabet="abcxyz/._-é", max_size=8) | st.integers(-1000, 1000),
    max_size=3,
)
# small inputs, several per test: a chain's behaviour does not depend on its length
CHAIN = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def chain(steps: list[tuple[str, dict[str, Any]]]) -> list[StoredEntry]:
    stored: list[StoredEntry] = []
    prev: list[str] = []
    for seq, (action, d) in enumerate(steps, start=1):
        e = make_entry(seq=seq, prev=prev, action=action, details=d, shared=SHARED)
        eid = entry_id(e)
        stored.append(StoredEntry(seq, eid, entry_bytes(e)))
        prev = [eid]
    return stored


logs = st.lists(st.tuples(actions, details), min_size=2, max_size=8)


@CHAIN
@given(logs, st.integers(0, 6))
def test_appending_always_verifies(steps: list[tuple[str, dict[str, Any]]], more: int) -> None:
    stored = chain(steps)
    verdict = verify(stored)
    assert verdict.ok and verdict.heads == [stored[-1].name_id]
    grown = chain(steps + steps[:more])
    verdict = verify(grown)
    assert verdict.ok and verdict.entries == len(steps) + min(more, len(steps))


@CHAIN
@given(logs, st.data())
def test_an_edit_is_caught(steps: list[tuple[str, dict[str, Any]]], data: st.DataObject) -> None:
    stored = chain(steps)
    i = data.draw(st.integers(0, len(stored) - 1))
    s = stored[i]
    edited = s.data.replace(b'"action":"', b'"action":"x', 1)
    stored[i] = StoredEntry(s.name_seq, s.name_id, edited)
    kinds = {b.kind for b in verify(stored).breaks}
    assert "edited" in kinds


@CHAIN
@given(logs, st.data())
def test_a_deletion_is_caught(steps: list[tuple[str, dict[str, Any]]], data: st.DataObject) -> None:
    stored = chain(steps)
    i = data.draw(st.integers(0, len(stored) - 1))
    head = stored[-1].name_id
    del stored[i]
    verdict = verify(stored, known_head=head)
    assert not verdict.ok
    assert {b.kind for b in verdict.breaks} & {"removed", "truncated"}


@CHAIN
@given(logs, st.data())
def test_a_swap_is_caught(steps: list[tuple[str, dict[str, Any]]], data: st.DataObject) -> None:
    stored = chain(steps)
    i = data.draw(st.integers(0, len(stored) - 2))
    a, b = stored[i], stored[i + 1]
    # each entry filed under the other's place
    stored[i] = StoredEntry(b.name_seq - 1, b.name_id, b.data)
    stored[i + 1] = StoredEntry(a.name_seq + 1, a.name_id, a.data)
    assert not verify(stored).ok


@CHAIN
@given(logs, st.data(), actions, details)
def test_an_insertion_is_caught(
    steps: list[tuple[str, dict[str, Any]]], data: st.DataObject, action: str, d: dict[str, Any]
) -> None:
    stored = chain(steps)
    # inside the chain: an entry added after the newest one is an append, which a
    # hash chain cannot tell from a real one (docs/audit.md: what the log does not prove)
    i = data.draw(st.integers(0, len(stored) - 2))
    after = stored[i]
    forged = make_entry(
        seq=after.name_seq + 1, prev=[after.name_id], action=action, details=d, shared=SHARED
    )
    stored.append(StoredEntry(after.name_seq + 1, entry_id(forged), entry_bytes(forged)))
    verdict = verify(stored)
    assert not verdict.ok and "inserted" in {b.kind for b in verdict.breaks}


@CHAIN
@given(logs, st.data())
def test_truncation_is_caught_against_the_head_verified_before(
    steps: list[tuple[str, dict[str, Any]]], data: st.DataObject
) -> None:
    stored = chain(steps)
    keep = data.draw(st.integers(1, len(stored) - 1))
    head = stored[-1].name_id
    truncated = stored[:keep]
    assert verify(truncated).ok  # on its own a prefix is a valid log...
    verdict = verify(truncated, known_head=head)  # ...but not after the longer one was seen
    assert [b.kind for b in verdict.breaks] == ["truncated"]


@CHAIN
@given(logs, logs, logs)
def test_merging_two_concurrent_chains_keeps_everything_and_verifies(
    common: list[tuple[str, dict[str, Any]]],
    left: list[tuple[str, dict[str, Any]]],
    right: list[tuple[str, dict[str, Any]]],
) -> None:
    base = chain(common)

    def grow(steps: list[tuple[str, dict[str, Any]]], host: str) -> list[StoredEntry]:
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
    assert not verify(base + a + b).ok  # two heads: not yet joined
    heads = [a[-1], b[-1]]
    merge = make_entry(
        seq=1 + max(h.name_seq for h in heads),
        prev=[h.name_id for h in heads],
        action="audit.merge",
        details={},
        shared=SHARED,
    )
    merged = [*base, *a, *b, StoredEntry(merge["seq"], entry_id(merge), entry_bytes(merge))]
    verdict = verify(merged)
    assert verdict.ok and verdict.entries == len(base) + len(a) + len(b) + 1
    assert verdict.heads == [entry_id(merge)]
