"""What data changed between two revisions: outputs and data inputs, down to the files
inside tracked folders.

A revision's data is what its lock recorded: every stage output and data input
with its digest. The workspace's is what is on disk now for the same paths (the
workspace lock's and the current pipeline's cached outputs), through the stat
cache. Equal digests end the comparison at once, so a folder of 50,000 files
that did not change costs nothing; a folder that did is compared entry by entry,
its two trees read from the cache (or, for the workspace, from the disk).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from mlrepro.errors import PipelineError
from mlrepro.snapshot.revisions import Revision, Revisions
from mlrepro.store.digest import bare, tag_sha, tag_xxh
from mlrepro.store.objects import CorruptObjectError, MissingObjectError
from mlrepro.store.tree import MalformedTreeError, Tree, TreeEntry
from mlrepro.workspace.hashing import Hasher
from mlrepro.workspace.lockfile import Artifact


@dataclass(frozen=True, slots=True)
class Side:
    digest: str  # "xxh3-128:<hex>"
    sha256: str | None
    size: int
    nfiles: int = 1
    isdir: bool = False


class ChangeKind(StrEnum):
    """How a path's data changed (``diff --json``'s ``change``)."""

    ADDED = "added"
    DELETED = "deleted"
    MODIFIED = "modified"


@dataclass(frozen=True, slots=True)
class DataChange:
    path: str
    kind: ChangeKind
    old: Side | None
    new: Side | None
    folder: str | None = None  # the tracked folder it lies in, for a file inside one


@dataclass(frozen=True, slots=True)
class DataDiff:
    changes: tuple[DataChange, ...] = ()
    # tracked folders whose contents could not be compared: (path, why)
    unreadable: tuple[tuple[str, str], ...] = ()

    def of_kind(self, kind: ChangeKind) -> tuple[DataChange, ...]:
        return tuple(c for c in self.changes if c.kind is kind)


def _kind(old: object, new: object) -> ChangeKind:
    if old is None:
        return ChangeKind.ADDED
    return ChangeKind.DELETED if new is None else ChangeKind.MODIFIED


def _side(a: Artifact) -> Side | None:
    if a.digest is None:
        return None
    return Side(a.digest, a.sha256, a.size, a.nfiles, a.isdir)


def recorded(revs: Revisions, rev: Revision) -> dict[str, Side]:
    """Every output and data input the revision's lock records, by path."""
    lock = revs.lock(rev)
    found: dict[str, Side] = {}
    for record in lock.stages.values():
        for out in record.outs:
            side = _side(out)
            if side is not None:
                found[out.path] = side
    for data in lock.data.values():
        side = _side(data)
        if side is not None:
            found[data.path] = side
    return found


def in_workspace(revs: Revisions, hasher: Hasher) -> dict[str, Side]:
    """What is on disk now at every path the workspace tracks as data."""
    ws = revs.revision(None)
    paths = set(recorded(revs, ws))
    try:
        pipeline = revs.pipeline(ws)
    except PipelineError:  # a broken pipeline still has a lock to compare
        pipeline = None
    if pipeline is not None:
        paths |= {o.path for s in pipeline.stages for o in s.outs + s.metrics + s.plots if o.cache}
    found: dict[str, Side] = {}
    for path in sorted(paths):
        if "://" in path or path.startswith("/"):
            continue
        st = hasher.state(path, sha=True)
        if st.exists:
            assert st.xxh is not None
            found[path] = Side(
                tag_xxh(st.xxh),
                tag_sha(st.sha) if st.sha else None,
                st.size,
                st.nfiles,
                st.kind == "dir",
            )
    return found


def data_diff(revs: Revisions, a: Revision, b: Revision, hasher: Hasher | None = None) -> DataDiff:
    """Changes from ``a`` to ``b`` (``hasher``: needed when either is the workspace)."""

    def sides(rev: Revision) -> dict[str, Side]:
        if rev.is_workspace:
            assert hasher is not None
            return in_workspace(revs, hasher)
        return recorded(revs, rev)

    old, new = sides(a), sides(b)
    changes: list[DataChange] = []
    unreadable: list[tuple[str, str]] = []
    for path in sorted(old.keys() | new.keys()):
        o, n = old.get(path), new.get(path)
        if o is not None and n is not None and o.digest == n.digest:
            continue  # unchanged: a folder's contents are not even looked at
        changes.append(DataChange(path, _kind(o, n), o, n))
        if (o is not None and o.isdir) or (n is not None and n.isdir):
            try:
                changes += _inside(revs, hasher, path, (a, o), (b, n))
            except (MissingObjectError, CorruptObjectError, MalformedTreeError) as exc:
                unreadable.append((path, exc.message))
    return DataDiff(tuple(changes), tuple(unreadable))


def _entries(
    revs: Revisions, hasher: Hasher | None, rev: Revision, path: str, side: Side | None
) -> dict[str, TreeEntry]:
    if side is None or not side.isdir:
        return {}
    if rev.is_workspace:
        assert hasher is not None
        return {e.path: e for e in hasher.tree(path).entries}
    if revs.store is None:
        raise MissingObjectError(bare(side.digest), path, no_cache=True)
    tree = Tree.from_bytes(revs.store.read_bytes(bare(side.digest)))
    return {e.path: e for e in tree.entries}


def _changed_entries(
    revs: Revisions, old: tuple[Revision, Side | None], new: tuple[Revision, Side | None]
) -> tuple[dict[str, TreeEntry], dict[str, TreeEntry]] | None:
    """For two folder trees from the cache: only the entries that differ, found by
    comparing their canonical bytes (None: not two cached trees; compare fully)."""
    (ra, sa), (rb, sb) = old, new
    if ra.is_workspace or rb.is_workspace or sa is None or sb is None:
        return None
    if not (sa.isdir and sb.isdir) or revs.store is None:
        return None
    raw_a = Tree.raw_entries(revs.store.read_bytes(bare(sa.digest)))
    raw_b = Tree.raw_entries(revs.store.read_bytes(bare(sb.digest)))
    if raw_a is None or raw_b is None:
        return None
    set_a, set_b = set(raw_a), set(raw_b)
    before = {e.path: e for e in map(Tree.parse_entry, set_a - set_b)}
    after = {e.path: e for e in map(Tree.parse_entry, set_b - set_a)}
    return before, after


def _inside(
    revs: Revisions,
    hasher: Hasher | None,
    path: str,
    old: tuple[Revision, Side | None],
    new: tuple[Revision, Side | None],
) -> list[DataChange]:
    """The files that changed inside the tracked folder ``path``; raises when a tree
    cannot be read."""
    pair = _changed_entries(revs, old, new)
    if pair is None:
        before = _entries(revs, hasher, old[0], path, old[1])
        after = _entries(revs, hasher, new[0], path, new[1])
    else:
        before, after = pair
    changes = []
    for name in sorted(before.keys() | after.keys()):
        e0, e1 = before.get(name), after.get(name)
        if e0 is not None and e1 is not None and e0.xxh == e1.xxh:
            continue
        changes.append(
            DataChange(
                f"{path}/{name}",
                _kind(e0, e1),
                Side(tag_xxh(e0.xxh), tag_sha(e0.sha), e0.size) if e0 else None,
                Side(tag_xxh(e1.xxh), tag_sha(e1.sha), e1.size) if e1 else None,
                folder=path,
            )
        )
    return changes
