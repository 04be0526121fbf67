"""Finding single audit entries by their place (seq and id), without reading the log.

A run-cache entry names the audit entry that recorded the run it restores
(docs/format.md, "Run-cache"), and is used only when that entry is in this clone's
log. The question comes on every run-cache hit, so its cost must not grow with the
log: an entry's place names its path in the tree of ``refs/mlrepro/audit``
(:func:`mlrepro.audit.store.entry_path`), and the pending file holds only what has
not been published yet (a command's worth, normally).

So the pending file is read once, at the first question, and published entries are
read through one ``git cat-file --batch``, started at the first question that needs
it and kept for the command's others. The folder an entry is filed in
(``entries/<seq // 1000>``, at most 1,000 names) is read once per command, and
entries are then asked for by blob id: asking for ``refs/mlrepro/audit:<path>``
has git find and inflate that folder's tree again for every entry, about 0.4 ms
each in the audit benchmark's log of 12,200 entries (a repro restoring 100 stages
took 0.42 s instead of 0.33 s). Entries known to be wanted soon are asked for
together (:meth:`EntryFinder.prefetch`): while a repro writes, each wait for git's
answer costs 0.1-0.2 ms, so 100 restores wait once instead of 100 times.

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
_GROUP = 256  # requests sent at once (a request is 41 or 65 bytes; a pipe holds 64 KiB)


class EntryFinder:
    """Audit entries by place, in the log of the clone at ``root``. Used from one
    thread; :meth:`close` stops its git process (which also ends by itself when this
    process does, at the end of its input)."""

    def __init__(self, root: str, state_dir: str) -> None:
        self.root = root
        self._store = AuditStore(root, state_dir)  # for its pending() only
        self._pending: dict[Placed, bytes] | None = None
        self._pending_stamp: tuple[int, int, int] | None = None
        self._folders: dict[str, bytes] = {}  # folder path -> its tree object, as read
        self._blobs: dict[Placed, bytes] = {}  # published entries read ahead (prefetch)
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
        """Every one of ``places`` (seq, id) this clone's log holds (as :meth:`find`
        judges it)."""
        wanted = sorted({Placed(*p) for p in places})
        self.prefetch(wanted)
        found = {p: self.find(p.seq, p.id) for p in wanted}
        return {p: entry for p, entry in found.items() if entry is not None}

    def prefetch(self, places: Iterable[tuple[int, str]]) -> None:
        """Read the published ones of ``places`` in one exchange with git, for the
        :meth:`find` calls that follow: every request is sent before the first answer is
        read, so this process waits for git once, not once per entry."""
        asked = [Placed(*p) for p in places]
        if not asked:
            return
        pending = self._pending_entries()
        wanted = [p for p in asked if p not in pending and p not in self._blobs]
        located: list[tuple[Placed, str]] = []
        for place in wanted:
            folder, _, name = entry_path(place.seq, place.id).rpartition("/")
            blob = self._blob_id(folder, name, folder not in self._folders)
            if blob is not None:
                located.append((place, blob))
        # in groups small enough that the requests never fill the pipe to git while it
        # waits for its answers to be read
        for start in range(0, len(located), _GROUP):
            group = located[start : start + _GROUP]
            answers = self._git.ask([blob for _, blob in group])
            for (place, _), answer in zip(group, answers, strict=True):
                if answer is not None and answer[0] == b"blob":
                    self._blobs[place] = answer[1]

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
        ahead = self._blobs.pop(place, None)
        if ahead is not None:
            return ahead
        folder, _, name = entry_path(place.seq, place.id).rpartition("/")
        fresh = folder not in self._folders
        blob = self._blob_id(folder, name, fresh)
        if blob is None and not fresh:
            blob = self._blob_id(folder, name, True)  # the ref may have moved since
        if blob is None:
            return None
        found = self._ask(blob)
        return found[1] if found is not None and found[0] == b"blob" else None

    def _blob_id(self, folder: str, name: str, fresh: bool) -> str | None:
        """The object id ``name`` has in ``folder`` of the ref's tree (read again when
        ``fresh``): found in the tree's bytes, ``<mode> <name>\\0<id>``, without
        parsing its other entries (what it names is checked against the id asked for)."""
        if fresh:
            found = self._ask(f"{REF}:{folder}")
            self._folders[folder] = found[1] if found is not None and found[0] == b"tree" else b""
        tree = self._folders[folder]
        key = b" " + name.encode() + b"\0"
        at = tree.find(key)
        if at < 0:
            return None
        start = at + len(key)
        size = self._git.id_size
        oid = tree[start : start + size]
        return oid.hex() if len(oid) == size else None

    def _ask(self, name: str) -> tuple[bytes, bytes] | None:
        """(kind, bytes) of the object ``name`` names, from the running ``cat-file``;
        None when there is none (or git is gone: then nothing published is found)."""
        return self._git.ask([name])[0]


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
