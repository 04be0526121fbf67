"""``audit verify``: where the chain breaks, what follows from it, and the head this
clone verified remembered.

:func:`mlrepro.audit.chain.verify` lists every check that fails. An auditor needs
the cause: one edited entry fails its own check, and also the link of the entry
after it, and leaves the entry before it without a follower and the log with two
newest entries (four problems where there is one). Here each
failed check is traced back to the entry that caused it, so one edit is one
problem (issue 14). An entry stored under its own id (a line of the pending file,
or a blob renamed after its edit) is found through the entry after it, whose
``prev`` names an id no entry has while this one, at the place before, is
followed by nothing.

What follows from a break: the chain vouches for an entry through the entries
after it, from the head down. The entries after the break still chain up to the
head; those before it hash to their ids and link to each other, but nothing
ties them to the head any more, so the log cannot show that they were not
replaced along with the broken one.

The remembered head (``.mlrepro/audit/verified``, the newest entry id verified
here, and its seq) lets a later verification notice a log that was cut short or
replaced, and an edit of the newest entry where nothing after it can show one (a
line of the pending file): a set of entries cannot show either by itself. It is
only moved forward when a verification passes.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

from mlrepro.audit.anchor import NAME as CHECKPOINTS
from mlrepro.audit.anchor import BadLine, Checkpoint
from mlrepro.audit.anchor import read as read_checkpoints
from mlrepro.audit.chain import StoredEntry, parse
from mlrepro.audit.entry import entry_id
from mlrepro.audit.store import INCOMING, REMOTES, AuditStore, Placed, entry_place
from mlrepro.errors import os_error
from mlrepro.fsutil import atomic_write

_BYTES_CHANGED = ("edited", "malformed")


@dataclass(frozen=True, slots=True)
class Problem:
    seq: int  # the place the entry is stored at (-1 for a head that is gone)
    entry: str  # the id it is stored under (for "truncated": the head verified before)
    kind: str  # "edited", "removed", "reordered", "inserted", "truncated", "malformed",
    # or "missing" (a committed checkpoint names an entry the log does not hold)
    why: str  # which check failed, and how
    about: dict[str, Any] | None = None  # the entry as it reads now, when it parses
    checkpoint: bool = False  # about the checkpoint file, not an entry of the log


@dataclass(frozen=True, slots=True)
class Checked:
    id: str  # the SHA-256 of its bytes as they are now
    entry: dict[str, Any]
    problem: Problem | None  # None: it passed every check on its own


@dataclass(frozen=True, slots=True)
class Report:
    found: int  # every entry in the log, readable or not
    heads: tuple[str, ...]  # the newest entries (one, in a log that verifies)
    problems: tuple[Problem, ...]  # one per broken entry, in order; the first is the break
    chained: tuple[int, ...]  # seqs of the entries that still chain up to the head
    cut_off: tuple[int, ...]  # seqs of entries with their bytes intact the head cannot reach
    entries: tuple[Checked, ...]  # every readable entry, oldest first
    # why a log that verified could not be remembered as verified here (a full or
    # read-only disk); empty when it was, or when nothing was to be remembered
    unremembered: str = ""

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(eq=False)  # compared and hashed by identity: two entries may hold the same bytes
class _Node:
    stored: StoredEntry
    entry: dict[str, Any] | None
    id: str  # as its bytes hash now
    prev: list[str]
    problem: Problem | None = None
    links: list[_Node] = field(default_factory=list)  # the entries it follows, found
    holes: list[str] = field(default_factory=list)  # the ids it follows, not found

    @property
    def seq(self) -> int:
        return self.stored.name_seq

    def fail(self, kind: str, why: str) -> None:
        if self.problem is None:  # one problem an entry: the first check it fails
            self.problem = Problem(self.seq, self.stored.name_id, kind, why, self.entry)


class Known(NamedTuple):
    """The newest entry this clone verified before (``seq`` unknown in files written
    before it was kept)."""

    head: str
    seq: int | None = None


def check(
    stored: list[StoredEntry],
    known: Known | None = None,
    checkpoints: tuple[list[Checkpoint], list[BadLine]] | None = None,
) -> Report:
    """The log's entries checked: the same checks as :func:`chain.verify`, each
    failure traced to the entry that caused it; and, given the committed
    ``checkpoints``, that the log holds every entry they name (a log cut short or
    replaced: see :mod:`mlrepro.audit.anchor`)."""
    nodes = [_own_checks(s) for s in stored]
    by_name: dict[str, _Node] = {}
    for n in nodes:
        by_name.setdefault(n.stored.name_id, n)
    for n in nodes:
        for p in n.prev:
            found = by_name.get(p)
            if found is None:
                n.holes.append(p)
            else:
                n.links.append(found)
    explained = _find_edits_by_their_follower(nodes)
    for n in nodes:
        if n.holes:
            n.fail("removed", f"the entry before it ({n.holes[0][:16]}…) is not in the log")
        elif n.problem is None and n.entry is not None:
            want = 1 + max((p.seq for p in n.links), default=0)
            if n.seq != want:
                kind = "inserted" if n.seq > want else "reordered"
                n.fail(kind, f"#{n.seq} follows #{want - 1}")
    referenced = {p for n in nodes for p in n.links}
    heads = [n for n in nodes if n not in referenced]
    main = _main_head(heads, by_name.get(known.head) if known else None)
    for n in _slipped_in(heads, main, [n for n in nodes if n.holes]):
        n.fail("inserted", "no later entry follows it, and it is not the newest entry")
    lost: list[Problem] = []
    if known is not None and known.head not in by_name and known.head not in explained:
        # its place taken by another entry: edited where nothing after it could show it
        # (the newest line of the pending file), or the log rewritten from there
        there = [n for n in nodes if n.seq == known.seq and n.problem is None]
        if len(there) == 1:
            explained.add(known.head)  # a checkpoint naming it is answered by this
            there[0].fail(
                "edited",
                f"this clone verified #{known.seq} as {known.head[:16]}…, the entry there now "
                f"hashes to {there[0].id[:16]}…: it was edited, or the log rewritten",
            )
        else:
            why = "the head verified here before is gone: the log was cut short or rewritten"
            lost.append(Problem(-1, known.head, "truncated", why))
    if checkpoints is not None:
        lost.extend(_unanchored(checkpoints, by_name, explained))
    problems = [n.problem for n in nodes if n.problem is not None] + lost
    problems.sort(key=lambda p: (p.seq, p.entry))
    chained = _chained_up_to(main)
    return Report(
        found=len(stored),
        heads=tuple(sorted(n.stored.name_id for n in heads)),
        problems=tuple(problems),
        chained=tuple(sorted(n.seq for n in chained)),
        cut_off=tuple(sorted(n.seq for n in nodes if _intact(n) and n not in chained)),
        entries=tuple(
            Checked(n.id, n.entry, n.problem)
            for n in sorted(nodes, key=lambda n: (n.seq, n.id))
            if n.entry is not None
        ),
    )


def _unanchored(
    checkpoints: tuple[list[Checkpoint], list[BadLine]],
    by_name: dict[str, _Node],
    explained: set[str],
) -> list[Problem]:
    """A problem for each checkpoint naming an entry the log does not hold (an entry
    edited in place is reported as such, not again here), and for each line of the
    checkpoint file that is not a checkpoint."""
    points, bad = checkpoints
    found = []
    for c in points:
        if c.id in by_name or c.id in explained:
            continue
        committed = "committed at HEAD" if c.where == "HEAD" else "in the work tree"
        found.append(
            Problem(
                c.seq,
                c.id,
                "missing",
                f".mlrepro/{CHECKPOINTS} ({committed}) names entry #{c.seq} as "
                f"{c.id[:16]}…, and the log does not hold it: the log was cut short or "
                "replaced, or that entry never reached this clone",
                checkpoint=True,
            )
        )
    for b in bad:
        found.append(
            Problem(
                -1,
                f".mlrepro/{CHECKPOINTS}, line {b.line}",
                "malformed",
                f"this line ({b.where}) is not '<seq> <id>': {b.text[:40]!r}",
                checkpoint=True,
            )
        )
    return found


def _own_checks(s: StoredEntry) -> _Node:
    """An entry on its own: readable, its bytes hashing to the id it is stored under,
    at the place its ``seq`` says (in :func:`chain.verify`'s order)."""
    entry = parse(s)
    if entry is None:
        node = _Node(s, None, s.name_id, [])
        node.fail("malformed", "not a JSON object")
        return node
    prev, seq = entry.get("prev"), entry.get("seq")
    links = [p for p in prev if isinstance(p, str)] if isinstance(prev, list) else []
    try:
        eid = entry_id(entry)
    except ValueError:  # NaN, or worse: mlrepro never writes them (chain.verify stops)
        node = _Node(s, entry, hashlib.sha256(s.data).hexdigest(), links)
        node.fail("malformed", "it holds values canonical JSON cannot (NaN, a lone surrogate)")
        return node
    node = _Node(s, entry, eid, links)
    if node.id != s.name_id:
        node.fail("edited", f"its bytes hash to {node.id[:16]}…, not to the id it is stored under")
    elif seq != s.name_seq:
        node.fail("reordered", f"stored as #{s.name_seq}, says #{seq}")
    elif not isinstance(prev, list) or not isinstance(seq, int) or len(links) != len(prev):
        node.fail("malformed", "no prev/seq")
    return node


def _find_edits_by_their_follower(nodes: list[_Node]) -> set[str]:
    """Edits that only the next entry shows. An entry stored under the hash of its own
    bytes (a pending line, or a blob renamed after its edit) passes its own check; but
    the entry after it names, as ``prev``, the id it had, which is nowhere, while it is
    followed by nothing. The ids explained so."""
    followed = {p for n in nodes for p in n.links}
    loose = [n for n in nodes if n not in followed and n.problem is None]
    explained: set[str] = set()
    for n in sorted(nodes, key=lambda n: n.seq):
        for hole in list(n.holes):
            # with one predecessor its place is just before; a merge's other one is older
            fits = [e for e in loose if e is not n and e.seq < n.seq]
            if len(n.prev) == 1:
                fits = [e for e in fits if e.seq == n.seq - 1]
            if len(fits) != 1:
                continue
            edited = fits[0]
            loose.remove(edited)
            n.holes.remove(hole)
            n.links.append(edited)
            explained.add(hole)
            edited.fail(
                "edited",
                f"entry #{n.seq} names {hole[:16]}… as the entry before it, "
                f"but this one hashes to {edited.id[:16]}…",
            )
    return explained


def _main_head(heads: list[_Node], known: _Node | None) -> _Node | None:
    """The log's newest entry: the one the head verified here before leads to, or else
    the latest (none when two share the latest place: neither can be told genuine)."""
    if known is not None:
        leading = [h for h in heads if known in _reachable(h)]
        if leading:
            return max(leading, key=lambda h: h.seq)
    if not heads:
        return None
    latest = max(h.seq for h in heads)
    newest = [h for h in heads if h.seq == latest]
    return newest[0] if len(newest) == 1 else None


def _slipped_in(heads: list[_Node], main: _Node | None, gaps: list[_Node]) -> list[_Node]:
    """The heads besides the newest entry that no removal explains: a log has one
    newest entry (concurrent chains are joined by a merge entry naming both), so
    another one was slipped in. The entry just before a removed stretch is left
    without a follower too; that is reported once, on the entry after the gap."""
    others = sorted((h for h in heads if h is not main), key=lambda h: -h.seq)
    for gap in sorted(gaps, key=lambda n: -n.seq):
        before = next((h for h in others if h.seq < gap.seq - 1), None)
        if before is not None:
            others.remove(before)
    return others


def _reachable(start: _Node, through: Callable[[_Node], bool] = lambda n: True) -> set[_Node]:
    """``start`` and the entries it follows, directly or not, passing only ``through``
    entries."""
    seen: set[_Node] = set()
    todo = [start]
    while todo:
        n = todo.pop()
        if n not in seen and through(n):
            seen.add(n)
            todo.extend(n.links)
    return seen


def _chained_up_to(head: _Node | None) -> set[_Node]:
    """The entries the head vouches for: reached from it through entries whose bytes
    are still the ones their ids were computed from."""
    return _reachable(head, _intact) if head is not None else set()


def _intact(n: _Node) -> bool:
    """Its bytes are the ones its id was computed from (whatever else is wrong with it)."""
    return n.problem is None or n.problem.kind not in _BYTES_CHANGED


# -- this clone's log ----------------------------------------------------------


def _known_path(store: AuditStore) -> str:
    return os.path.join(store.dir, "verified")


def known_head(store: AuditStore) -> Known | None:
    try:
        with open(_known_path(store), encoding="utf-8") as f:
            doc = json.load(f)
        head, seq = doc.get("head"), doc.get("seq")
    except (FileNotFoundError, ValueError, AttributeError):
        return None
    if not isinstance(head, str):
        return None
    return Known(head, seq if isinstance(seq, int) else None)


def check_log(store: AuditStore) -> Report:
    """This clone's log checked, against the head it verified before and the committed
    checkpoints; nothing written."""
    return check(store.all(), known_head(store), read_checkpoints(store.root, store.state_dir))


def verify_log(store: AuditStore) -> Report:
    """:func:`check_log`, and a log that verifies remembered as verified here."""
    report = check_log(store)
    if report.ok and len(report.heads) == 1:
        head = report.heads[0]
        # its seq too: an entry edited where nothing after it shows it is then named
        seq = next(c.entry["seq"] for c in report.entries if c.id == head)
        if known_head(store) == Known(head, seq):
            return report  # remembered already: nothing to write (a full disk stays usable)
        try:
            os.makedirs(store.dir, exist_ok=True)
            atomic_write(
                _known_path(store), json.dumps({"head": head, "seq": seq}).encode() + b"\n"
            )
        except OSError as exc:
            # The log verified; only remembering it failed, which weakens the next
            # verification (it compares with the head remembered before), not this
            # one: say so and go on (issue 15). atomic_write left nothing behind.
            why = os_error(exc, path=_known_path(store)).message
            return replace(report, unremembered=why)
    return report


def check_remotes(store: AuditStore) -> dict[str, Report]:
    """Each log fetched by ``audit pull``, by which it is (``fetched from 'origin'``:
    the one accepted last; ``refused from 'origin'``: one a pull refused, with the
    entries it dropped or changed since the accepted one first)."""
    found = {
        f"fetched from '{ref.removeprefix(REMOTES + '/')}'": check(
            store.published(store.git.tip(ref))
        )
        for ref in store.git.refs_under(REMOTES)
    }
    for ref in store.git.refs_under(INCOMING):
        name = ref.removeprefix(INCOMING + "/")
        tip = store.git.tip(ref)
        report = check(store.published(tip))
        seen = store.git.tip(f"{REMOTES}/{name}")
        lost = dropped(store, seen, tip) if seen and tip else []
        found[f"refused from '{name}'"] = replace(report, problems=(*lost, *report.problems))
    return found


def dropped(store: AuditStore, seen: str, now: str) -> list[Problem]:
    """The entries of the remote log at commit ``seen`` (as this clone last saw it) that
    its log at commit ``now`` no longer holds byte for byte. A remote's log only grows,
    so each one is a rewrite there (or a cut)."""
    before = store.git.files(seen, "entries")
    after = store.git.files(now, "entries")
    found = []
    for path in sorted(p for p, blob in before.items() if after.get(p) != blob):
        place = entry_place(path) or Placed(-1, path)
        if path in after:
            kind, how = "edited", "holds other bytes under its name"
        else:
            kind, how = "removed", "no longer holds it"
        why = f"the remote held it when this clone last saw its log; the log there {how}"
        found.append(Problem(place.seq, place.id, kind, why))
    return found
