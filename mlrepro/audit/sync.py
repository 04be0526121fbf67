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
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from mlrepro.audit.chain import StoredEntry
from mlrepro.audit.entry import context, entry_bytes, entry_id, make_entry
from mlrepro.audit.store import REF, AuditStore, entry_path
from mlrepro.errors import MlreproError
from mlrepro.git.refstore import BLOB, TREE

REMOTES = "refs/mlrepro/audit-remotes"


@dataclass(frozen=True, slots=True)
class PullResult:
    how: str  # "nothing" (the remote has no log), "up-to-date", "fast-forward", "merged"
    added: int  # entries that came from the remote


def remote_ref(remote: str) -> str:
    return f"{REMOTES}/{remote}"


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
    return len(store.git.files(tip, "entries"))


def pull(store: AuditStore, remote: str) -> PullResult:
    store.publish()
    theirs_ref = remote_ref(remote)
    if not store.git.fetch(remote, REF, theirs_ref):
        return PullResult("nothing", 0)
    theirs = store.git.tip(theirs_ref)
    ours = store.tip()
    assert theirs is not None
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


def _merge(store: AuditStore, ours: str, theirs: str) -> PullResult:
    mine = store.git.files(ours, "entries")
    other = store.git.files(theirs, "entries")
    clash = sorted(p for p in mine.keys() & other.keys() if mine[p] != other[p])
    if clash:
        raise MlreproError(
            f"entry {clash[0].rsplit('/', 1)[-1]} differs between this clone and the remote:"
            " one of the two logs was edited",
            hint="run `mlrepro audit verify` to see which; the remote log is kept under "
            f"{REMOTES}/",
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
    best: tuple[int, str] | None = None
    for path in files:
        leaf = path.rsplit("/", 1)[-1]
        seq, _, rest = leaf.partition("-")
        candidate = (int(seq), rest.removesuffix(".json"))
        if best is None or candidate > best:
            best = candidate
    if best is None:
        raise MlreproError("an audit log with no entries cannot be merged")
    return StoredEntry(best[0], best[1], b"")
