"""Finding single audit entries by their place (seq and id), without reading the log.

A run-cache entry names the audit entry that recorded the run it restores
(docs/format.md, "Run-cache"), and is used only when that entry is in this clone's
log. The question comes on every run-cache hit, so its cost must not grow with the
log: an entry's place names its path in the tree of ``refs/mlrepro/audit``
(:func:`mlrepro.audit.store.entry_path`), and the pending file holds only what has
not been published yet (a command's worth, normally).

So the pending file is read once, at the first question, and published entries are
read through one ``git cat-file --batch``, started at the first question that needs
it and kept for the command's others.

One fast path (issue 16), chosen in :meth:`EntryFinder._published` with its reference
beside it: the folder an entry is filed in (``entries/<seq // 1000>``, at most 1,000
names) is read once per command, and entries are asked for by the blob id found in
its bytes (:meth:`EntryFinder._blob_id`). The reference, :meth:`EntryFinder._path`,
asks for ``refs/mlrepro/audit:<path>``, which has git find and inflate that folder's
tree again for every entry. ``EntryFinder(..., by_tree=False)`` takes the reference:
tests/audit/test_lookup.py checks that the two agree, benchmarks/audit.py times them.
On a 2-core VM shared with other work (load average 5-7), a repro restoring 100 stages
took 52-68 ms longer with the reference (+6.5% and +6.0% of its 0.80 s and 1.14 s;
+12.6% and +3.1% in two earlier runs), 48-52 ms more CPU time each time (+17% of the
command's 280-300 ms). ``cache verify`` of 200 run-cache entries took 119 ms longer
than its 167 ms (102 ms more CPU).

Dropped (issue 16: under 5% of the command's time): reading ahead, in one exchange
with git, the entries a repro's ready stages would ask for, instead of one question
per entry. Measured in the same benchmark, it saved +2.3% and +2.5% of the command
(20-30 ms; +12.9% in one run of three at load 7), 14-17 ms of CPU (+5.7%), and
nothing in ``cache verify``. So :meth:`EntryFinder.find_all` asks one entry at a time.

The pending file is looked in before the ref: a publication by another process
moves entries into the ref before it clears them from the file, so an entry is in
one or the other whichever moment each is read. An entry not found in a folder read
earlier has the folder read again (the ref may have moved since). A question that
races another process's publication closely can still miss an entry; the run-cache
entry is then not used and the stage runs, which is safe. An entry is returned only
when its bytes hash to the id it is asked by and say the seq it is asked at; what it
records is for the caller to judge.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from typing import Any

from mlrepro.audit.store import REF, AuditStore, Placed, entry_path
from mlrepro.git.catfile import CatFile

Found = dict[str, Any]


class EntryFinder:
    """Audit entries by place, in the log of the clone at ``root``. Used from one
    thread; :meth:`close` stops its git process (which also ends by itself when this
    process does, at the end of its input).

    ``by_tree`` chooses the fast path of the module's docstring; False puts its
    reference in place (for tests and the benchmark; callers leave it as it is)."""

    def __init__(self, root: str, state_dir: str, *, by_tree: bool = True) -> None:
        self.root = root
        self.by_tree = by_tree
        self._store = AuditStore(root, state_dir)  # for its pending() only
        self._pending: dict[Placed, bytes] | None = None
        self._pending_stamp: tuple[int, int, int] | None = None
        self._folders: dict[str, bytes] = {}  # folder path -> its tree object, as read
        self._git = CatFile(root)

    def close(self) -> None:
        self._git.close()

    def __enter__(self) -> EntryFinder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def find(self, seq: int, eid: str) -> Found | None:
        """The entry stored at #``seq`` under ``eid``, pending or published, when its
        bytes hash to ``eid``; None when this clone's log does not hold it."""
        place = Placed(seq, eid)
        data = self._pending_entries().get(place)
        if data is None:
            data = self._published(place)
        if data is None and self._stamp() != self._pending_stamp:
            # appended since the file was read (by another process, which may not have
            # published it yet): read the file again, once per change
            self._pending = None
            data = self._pending_entries().get(place)
        return checked(data, place)

    def find_all(self, places: Iterable[tuple[int, str]]) -> dict[tuple[int, str], Found]:
        """Every one of ``places`` (seq, id) this clone's log holds: one :meth:`find`
        per place (reading them ahead, in one exchange with git, was dropped: see the
        module's docstring)."""
        found = {Placed(*p): self.find(*p) for p in places}
        return {p: entry for p, entry in found.items() if entry is not None}

    # -- the pending file ------------------------------------------------------

    def _pending_entries(self) -> dict[Placed, bytes]:
        if self._pending is None:
            self._pending_stamp = self._stamp()
            self._pending = {Placed(s.name_seq, s.name_id): s.data for s in self._store.pending()}
        return self._pending

    def _stamp(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self._store.pending_path)
        except OSError:
            return None
        return st.st_ino, st.st_size, st.st_mtime_ns

    # -- the ref -----------------------------------------------------------------

    def _published(self, place: Placed) -> bytes | None:
        name = self._blob_id(place) if self.by_tree else self._path(place)
        found = self._git.ask([name])[0] if name is not None else None
        return found[1] if found is not None and found[0] == b"blob" else None

    def _path(self, place: Placed) -> str:
        """Reference of :meth:`_blob_id`: the entry by its path in the ref's tree."""
        return f"{REF}:{entry_path(place.seq, place.id)}"

    def _blob_id(self, place: Placed) -> str | None:
        """The fast path: the object id the entry at ``place`` has in its folder of the
        ref's tree (None: not there), found in the folder's tree bytes, ``<mode>
        <name>\\0<id>``, without parsing its other entries (what it names is checked
        against the id asked for). A folder is read at the first place in it, and again
        when a name is not in it as read before (the ref may have moved since)."""
        folder, _, name = entry_path(place.seq, place.id).rpartition("/")
        fresh = folder not in self._folders
        if fresh:
            self._read_folder(folder)
        oid = self._in_tree(self._folders[folder], name)
        if oid is None and not fresh:
            self._read_folder(folder)
            oid = self._in_tree(self._folders[folder], name)
        return oid

    def _read_folder(self, folder: str) -> None:
        found = self._git.ask([f"{REF}:{folder}"])[0]
        self._folders[folder] = found[1] if found is not None and found[0] == b"tree" else b""

    def _in_tree(self, tree: bytes, name: str) -> str | None:
        key = b" " + name.encode() + b"\0"
        at = tree.find(key)
        if at < 0:
            return None
        start = at + len(key)
        size = self._git.id_size
        oid = tree[start : start + size]
        return oid.hex() if len(oid) == size else None


def checked(data: bytes | None, place: Placed) -> Found | None:
    """``data`` as the entry at ``place``: when it hashes to the id and says the seq."""
    if data is None or hashlib.sha256(data).hexdigest() != place.id:
        return None
    try:
        entry = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(entry, dict) or entry.get("seq") != place.seq:
        return None
    return entry
