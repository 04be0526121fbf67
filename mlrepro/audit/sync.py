"""Sharing the audit log through git remotes: ``audit push`` and ``audit pull``.

Push sends ``refs/mlrepro/audit`` as it is (a remote that has entries this clone
lacks refuses it: pull first). Pull fetches the remote's log into
``refs/mlrepro/audit-remotes/<remote>`` and joins it with this clone's:

- when one log contains the other (one tip is an ancestor of the other), the
  longer one is kept;
- otherwise both chains grew since they parted (a laptop and CI, two people): the
  result holds every entry of both, plus a merge entry whose ``prev`` names both
  heads, in a commit whose parents are both tips. Nothing is lost and both chains
  still verify inside the merged log.

An entry stored under the same name with different bytes on the two sides means
one of them was edited: pull refuses to merge and says which entry. The fetched
log stays under its ref, where ``audit verify`` checks it too.

A remote's log only ever grows: what it held once, it holds for good. So this
clone keeps, under ``refs/mlrepro/audit-remotes/<remote>``, the remote's log as it
last saw it (after a pull, and after a push the remote accepted), and the next pull
first fetches into ``refs/mlrepro/audit-incoming/<remote>`` and refuses a log that
no longer holds every one of those entries byte for byte: a log rewritten there
(entries edited with their ids recomputed, a consistent new chain) or cut short,
which the union of two chains would otherwise take in as a second history. A
fetched log whose own chain does not verify is refused too. Either way this clone's
log and its record of the remote stay as they were, and the refused log stays
under the incoming ref for inspection.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

from mlrepro.audit.anchor import read as read_checkpoints
from mlrepro.audit.chain import StoredEntry
from mlrepro.audit.entry import context, entry_bytes, entry_id, make_entry
from mlrepro.audit.store import INCOMING, REF, REMOTES, AuditStore, entry_path, entry_place
from mlrepro.audit.verify import check, dropped
from mlrepro.errors import MlreproError
from mlrepro.git.refstore import BLOB, TREE


@dataclass(frozen=True, slots=True)
class PullResult:
    how: str  # "nothing" (the remote has no log), "up-to-date", "fast-forward", "merged"
    added: int  # entries that came from the remote
    # committed checkpoints naming entries the log still does not hold after the pull
    unanchored: int = 0


def remote_ref(remote: str) -> str:
    return f"{REMOTES}/{remote}"


def incoming_ref(remote: str) -> str:
    return f"{INCOMING}/{remote}"


def push(store: AuditStore, remote: str) -> int:
    store.publish()
    tip = store.tip()
    if tip is None:
        return 0
    try:
        refused = store.git.push(remote, REF)
    except MlreproError as exc:
        raise MlreproError(
            f"the audit log was not pushed to '{remote}': {exc.message}",
            hint="check the remote's name and that it can be reached (`git remote -v`)",
        ) from None
    if refused is not None:
        # one line, not git's page of advice: the remote holds entries this clone lacks
        raise MlreproError(
            f"the audit log was not pushed to '{remote}': the remote refused it ({refused}); "
            "its log has entries this clone does not have",
            hint=f"run `mlrepro audit pull {remote}` first, then push again",
        )
    # the remote holds this log now: a later pull refuses a log there without it
    _track(store, remote, tip)
    return len(store.git.files(tip, "entries"))


def _track(store: AuditStore, remote: str, tip: str) -> None:
    ref = remote_ref(remote)
    store.git.move(ref, tip, store.git.tip(ref))


def pull(store: AuditStore, remote: str) -> PullResult:
    store.publish()
    incoming = incoming_ref(remote)
    if not store.git.fetch(remote, REF, incoming):
        seen = store.git.tip(remote_ref(remote))
        if seen is not None:  # a remote's log only grows: it cannot go away
            count = len(store.git.files(seen, "entries"))
            raise MlreproError(
                f"the audit log on '{remote}' is gone; it held {count} entries when this "
                "clone last saw it",
                hint=f"this clone's log is unchanged; if it holds them all, restore the "
                f"remote's log with `mlrepro audit push {remote}`",
            )
        return PullResult("nothing", 0)
    theirs = store.git.tip(incoming)
    assert theirs is not None
    _check_remote_log(store, remote, theirs)
    result = _join(store, theirs)
    # accepted: it is what this clone last saw of the remote's log from now on
    _track(store, remote, theirs)
    store.git.delete(incoming)
    held = set(_ids(store.git.files(store.tip() or theirs, "entries")))
    held.update(s.name_id for s in store.pending())
    points, _ = read_checkpoints(store.root, store.state_dir)
    return replace(result, unanchored=sum(1 for c in points if c.id not in held))


def _join(store: AuditStore, theirs: str) -> PullResult:
    ours = store.tip()
    if ours is None or store.git.is_ancestor(ours, theirs):
        before = len(store.git.files(ours, "entries")) if ours else 0
        store.git.move(REF, theirs, ours)
        return PullResult(
            "fast-forward" if ours != theirs else "up-to-date",
            len(store.git.files(theirs, "entries")) - before,
        )
    if store.git.is_ancestor(theirs, ours):
        return PullResult("up-to-date", 0)
    return _merge(store, ours, theirs)


def _check_remote_log(store: AuditStore, remote: str, theirs: str) -> None:
    """Refuse the log fetched from ``remote`` (at commit ``theirs``) when it dropped or
    changed an entry it held when this clone last saw it, or when its chain does not
    verify on its own."""
    keep = (
        f"this clone's log is unchanged; the fetched log is kept under "
        f"{incoming_ref(remote)} for inspection (`git update-ref -d "
        f"{incoming_ref(remote)}` drops it)"
    )
    seen = store.git.tip(remote_ref(remote))
    gone = dropped(store, seen, theirs) if seen is not None and seen != theirs else []
    if gone:
        raise MlreproError(
            f"the audit log on '{remote}' no longer holds {len(gone)} of the entries it "
            f"held when this clone last saw it (the first: #{gone[0].seq}, id "
            f"{gone[0].entry[:16]}…, {gone[0].kind}): it was rewritten or cut short there",
            hint=f"{keep}; restore the remote's log from a clone that holds those entries",
        )
    report = check(store.published(theirs))
    if not report.ok:
        p = report.problems[0]
        raise MlreproError(
            f"the audit log on '{remote}' does not verify: entry #{p.seq} "
            f"(id {p.entry[:16]}…) is {p.kind}: {p.why}",
            hint=keep,
        )


def _ids(files: dict[str, str]) -> list[str]:
    return [place.id for place in map(entry_place, files) if place is not None]


def _merge(store: AuditStore, ours: str, theirs: str) -> PullResult:
    mine = store.git.files(ours, "entries")
    other = store.git.files(theirs, "entries")
    clash = sorted(p for p in mine.keys() & other.keys() if mine[p] != other[p])
    if clash:
        raise MlreproError(
            f"entry {clash[0].rsplit('/', 1)[-1]} differs between this clone and the remote:"
            " one of the two logs was edited",
            hint="run `mlrepro audit verify` to see which; the remote log is kept under "
            f"{INCOMING}/",
        )
    union = {**mine, **other}
    # the two heads to join: the newest entry of each side
    heads = [_newest(mine), _newest(other)]
    seq = 1 + max(h.name_seq for h in heads)
    entry = make_entry(
        seq=seq,
        prev=[h.name_id for h in heads],
        action="audit.merge",
        details={"merged": sorted(h.name_id for h in heads), "commits": [ours, theirs]},
        shared=context(store.root),
    )
    data = entry_bytes(entry)
    eid = entry_id(entry)
    buckets: dict[str, list[tuple[bytes, int, str]]] = {}
    for path, sha in union.items():
        _, bucket, name = path.split("/", 2)
        buckets.setdefault(bucket, []).append((bytes.fromhex(sha), BLOB, name))
    name = entry_path(seq, eid)
    _, bucket, leaf = name.split("/", 2)
    buckets.setdefault(bucket, []).append((store.git.write_blob(data), BLOB, leaf))
    subtrees = [(store.git.write_tree(items), TREE, b) for b, items in buckets.items()]
    root = store.git.write_tree([(store.git.write_tree(subtrees), TREE, "entries")])
    message = f"audit: merge\n\nhead {seq} {eid}\n"
    commit = store.git.write_commit(root, [ours, theirs], message, int(time.time()))
    store.git.move(REF, commit, ours)
    return PullResult("merged", len(other.keys() - mine.keys()))


def _newest(files: dict[str, str]) -> StoredEntry:
    places = [place for place in map(entry_place, files) if place is not None]
    if not places:
        raise MlreproError("an audit log with no entries cannot be merged")
    best = max(places)
    return StoredEntry(best.seq, best.id, b"")
