"""Checking an audit chain: every id recomputed, every link followed.

The log is a set of entries, each stored under the id its author computed. An
entry whose bytes no longer hash to that id was edited. An entry naming a
``prev`` that is not there lost its predecessor (removed). An entry whose
``seq`` is not one more than its predecessors' largest was moved or slipped in
(reordered or inserted). A log has exactly one newest entry (concurrent chains
are joined by a merge entry naming both heads), so a second head was slipped in.
Every problem is listed, in ``seq`` order; the first is where the chain breaks.

What a set of entries cannot show by itself is that newer entries were cut off
(truncation) or the whole log replaced: for that, each clone remembers the head it
last verified, and :func:`verify` is told it (``known_head``).
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from mlrepro.audit.entry import entry_id

# named tuples, not dataclasses: this module is imported by every command that records,
# and a dataclass costs about half a millisecond to define


class StoredEntry(NamedTuple):
    name_seq: int  # the seq and id its storage name claims
    name_id: str
    data: bytes  # the stored bytes


class Break(NamedTuple):
    seq: int
    entry: str  # the id it is stored under
    kind: str  # "edited", "removed", "reordered", "inserted", "truncated", "malformed"
    why: str


class Verdict(NamedTuple):
    entries: int
    heads: list[str]
    breaks: list[Break]

    @property
    def ok(self) -> bool:
        return not self.breaks


def parse(stored: StoredEntry) -> dict[str, Any] | None:
    try:
        entry = json.loads(stored.data)
    except (ValueError, UnicodeDecodeError):
        return None
    return entry if isinstance(entry, dict) else None


def verify(stored: list[StoredEntry], known_head: str | None = None) -> Verdict:
    """Every check that fails, as the format states them: the plain reference verifier.
    The commands use :func:`mlrepro.audit.verify.check`, which traces each failure to
    the entry that caused it; a property test keeps the two passing and failing alike."""
    breaks: list[Break] = []
    by_id: dict[str, dict[str, Any]] = {}
    for s in stored:
        entry = parse(s)
        if entry is None:
            breaks.append(Break(s.name_seq, s.name_id, "malformed", "not a JSON object"))
            continue
        actual = entry_id(entry)
        if actual != s.name_id:
            breaks.append(
                Break(s.name_seq, s.name_id, "edited", f"its bytes hash to {actual[:16]}…")
            )
            continue
        if entry.get("seq") != s.name_seq:
            breaks.append(
                Break(
                    s.name_seq,
                    s.name_id,
                    "reordered",
                    f"stored as #{s.name_seq}, says #{entry.get('seq')}",
                )
            )
            continue
        by_id[s.name_id] = entry

    referenced: set[str] = set()
    for eid, entry in by_id.items():
        prev = entry.get("prev")
        seq = entry.get("seq")
        if not isinstance(prev, list) or not isinstance(seq, int):
            breaks.append(
                Break(seq if isinstance(seq, int) else -1, eid, "malformed", "no prev/seq")
            )
            continue
        referenced.update(prev)
        missing = [p for p in prev if p not in by_id]
        if missing:
            breaks.append(
                Break(seq, eid, "removed", f"its predecessor {missing[0][:16]}… is not in the log")
            )
            continue
        want = 1 + max((by_id[p]["seq"] for p in prev), default=0)
        if seq != want:
            kind = "inserted" if seq > want else "reordered"
            breaks.append(Break(seq, eid, kind, f"#{seq} follows #{want - 1}"))
    heads = sorted(i for i in by_id if i not in referenced)
    if len(heads) > 1:
        # a log has one newest entry: concurrent chains are joined by a merge entry
        # naming both heads when they meet, so a second head was put there by hand
        for eid in heads:
            breaks.append(
                Break(by_id[eid]["seq"], eid, "inserted", "an entry no later entry follows")
            )
    if known_head is not None and known_head not in by_id:
        breaks.append(
            Break(
                -1,
                known_head,
                "truncated",
                "the head verified here before is gone: the log was cut or rewritten",
            )
        )
    breaks.sort(key=lambda b: (b.seq, b.entry))
    return Verdict(len(by_id), heads, breaks)
