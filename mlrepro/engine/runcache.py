"""The run-cache: outputs remembered by what they were made from, across commits and branches.

The key is the SHA-256 of the canonical JSON of a stage's command, working
folder, dependency digests, tracked param values and output paths. An entry,
``.mlrepro/cache/runs/<2 hex>/<62 hex>``, lists the outputs' artifacts and names
the audit entry that recorded the run (``stage.run``, ``stage.restore``, or
``runcache.remember`` for a lock block the workspace bore out); it is written
atomically after that audit entry, once the stage succeeded and its outputs were
cached.

Anyone who can write the cache folder can write an entry, so an entry is used only
when it is bound to the log (issue 15): the audit entry it names is in this clone's
log, hashes to its id, records a run under the same key, and lists the same outputs
(path, xxh3-128 and sha256). An entry rewritten to name other objects, or copied under
another key, is refused and the stage runs; the run then writes a bound entry in its
place. Binding cannot tell a forger who also appended a matching, well-chained
audit entry, but that forgery stays in the tamper-evident log. See docs/format.md,
"Run-cache".
"""

from __future__ import annotations

import contextlib
import json
import os
from typing import TYPE_CHECKING, Any, NamedTuple

from mlrepro.canonical import canonical_bytes
from mlrepro.dag.runkey import block_key, cacheable
from mlrepro.engine.artifacts import all_present
from mlrepro.fsutil import atomic_write
from mlrepro.spec.model import Stage
from mlrepro.store.objects import ObjectStore
from mlrepro.workspace.lockfile import Artifact, StageRecord
from mlrepro.workspace.project import Project

if TYPE_CHECKING:
    from mlrepro.audit.lookup import EntryFinder

RUN_VERSION = 2
# the audit actions that record a run whose outputs an entry may restore
BINDING_ACTIONS = frozenset({"stage.run", "stage.restore", "runcache.remember"})
_HEX = frozenset("0123456789abcdef")


# -- entries as stored -----------------------------------------------------------


Place = tuple[int, str]  # an audit entry's seq and id (mlrepro.audit.store.Placed)

# named tuples, not dataclasses: status and repro import this module, and a dataclass
# costs about 0.7 ms to define (as in mlrepro.audit.chain)


class Entry(NamedTuple):
    """A run-cache entry as read: the outputs it restores and the audit entry it says
    recorded their run (None in a version-1 entry, which named none)."""

    key: str
    version: int
    outs: tuple[Artifact, ...]
    audit: Place | None


class BadEntry(ValueError):
    """A file that cannot be read as an entry (its ``str`` says why). ``forged``: it is
    not what mlrepro writes, as opposed to an entry of a version it does not know."""

    def __init__(self, why: str, *, forged: bool = True) -> None:
        super().__init__(why)
        self.forged = forged


def _path(cache_dir: str, key: str) -> str:
    return os.path.join(cache_dir, "runs", key[:2], key[2:])


def read_entry(cache_dir: str, key: str) -> Entry | None:
    """The entry under ``key`` (None: there is none); :class:`BadEntry` when the file
    is not one, or is of a version this mlrepro does not know."""
    try:
        with open(_path(cache_dir, key), "rb") as f:
            data = f.read()
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None
    return parse_entry(key, data)


def parse_entry(key: str, data: bytes) -> Entry:
    try:
        raw = json.loads(data)
        version = raw["version"]
        if version not in (1, RUN_VERSION):
            raise BadEntry(f"version {version!r}, which this mlrepro does not know", forged=False)
        outs = tuple(Artifact.from_json(a) for a in raw["outs"])
        audit = None
        if version == RUN_VERSION:
            seq, eid = raw["audit"]["seq"], raw["audit"]["id"]
            if not isinstance(seq, int) or not isinstance(eid, str) or len(eid) != 64:
                raise BadEntry("its audit entry is not named by a seq and a 64-hex id")
            audit = (seq, eid)
    except BadEntry:
        raise
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise BadEntry("not a run-cache entry (unreadable JSON or fields)") from exc
    return Entry(key, version, outs, audit)


def write_entry(cache_dir: str, key: str, outs: list[Artifact], audit: Place) -> None:
    """Write the entry under ``key``, naming ``audit``, the log entry that recorded the
    run (appended, and durable, before this is called)."""
    path = _path(cache_dir, key)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    data = {
        "version": RUN_VERSION,
        "outs": [a.to_json() for a in sorted(outs, key=lambda a: a.path)],
        "audit": {"seq": audit[0], "id": audit[1]},
    }
    atomic_write(path, canonical_bytes(data) + b"\n", mode=0o444)


def entry_bytes(cache_dir: str, key: str) -> bytes:
    """The entry under ``key`` as stored (to send it elsewhere)."""
    with open(_path(cache_dir, key), "rb") as f:
        return f.read()


def store_entry(cache_dir: str, key: str, data: bytes) -> Entry:
    """Keep an entry received from elsewhere (a remote): parsed first (:class:`BadEntry`
    when it is not one), then written atomically as it came. It is used only once it
    is bound to this clone's log (see the module's notes)."""
    entry = parse_entry(key, data)
    path = _path(cache_dir, key)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    atomic_write(path, data, mode=0o444)
    return entry


def entry_keys(cache_dir: str) -> list[str]:
    """The keys of every entry stored (temporary files of interrupted writes left out)."""
    base = os.path.join(cache_dir, "runs")
    try:
        prefixes = sorted(os.listdir(base))
    except (FileNotFoundError, NotADirectoryError):
        return []
    keys = []
    for prefix in prefixes:
        try:
            names = sorted(os.listdir(os.path.join(base, prefix)))
        except NotADirectoryError:
            continue
        keys += [prefix + n for n in names if _is_key(prefix + n)]
    return keys


def _is_key(name: str) -> bool:
    return len(name) == 64 and set(name) <= _HEX


# -- binding -----------------------------------------------------------------------


def unbound(entry: Entry, recorded: dict[str, Any] | None) -> str | None:
    """Why ``entry`` is not bound to the audit entry it names (``recorded``, as this
    clone's log holds it: None when it does not), or None when it is: that entry records
    a run (succeeded) under the same key, with the same outputs, each with its sha256."""
    if entry.audit is None:
        return f"version {entry.version}, which names no audit entry"
    place = f"audit entry #{entry.audit[0]} ({entry.audit[1][:16]}…)"
    if recorded is None:
        return f"{place} is not in this clone's log"
    action = recorded.get("action")
    details = recorded.get("details")
    if action not in BINDING_ACTIONS or not isinstance(details, dict):
        return f"{place} records {action!r}, not a run"
    if details.get("status") != "succeeded":
        return f"{place} records a run that did not succeed"
    if details.get("run_key") != entry.key:
        return f"{place} records another run (key {str(details.get('run_key'))[:16]}…)"
    theirs = _outs_recorded(details.get("outs"))
    if theirs is None:
        return f"{place} records an output without its path, digest or sha256"
    if _outs(entry.outs) != theirs:
        return f"its outputs are not the ones {place} records"
    return None


# path, xxh3-128, sha256, size, and a folder's file count (None for a file): all that a
# restore writes into the lock, so none of it can come from an entry alone
_Out = tuple[str, str, str, Any, Any]


def _outs(artifacts: tuple[Artifact, ...]) -> list[_Out]:
    return sorted(
        (a.path, a.digest or "", a.sha256 or "", a.size, a.nfiles if a.isdir else None)
        for a in artifacts
    )


def _outs_recorded(outs: Any) -> list[_Out] | None:
    """The outputs an audit entry records, as :func:`_outs` gives an entry's (only a
    folder's record carries a file count); None when one lacks its
    path, digest or sha256 (nothing but the fast hash would then vouch for its bytes)."""
    if not isinstance(outs, list):
        return None
    found = []
    for o in outs:
        if not isinstance(o, dict):
            return None
        path, digest, sha = o.get("path"), o.get("digest"), o.get("sha256")
        if not (isinstance(path, str) and isinstance(digest, str) and isinstance(sha, str)):
            return None
        found.append((path, digest, sha, o.get("size"), o.get("nfiles")))
    return sorted(found)


class Source(NamedTuple):
    """What restores a stage: ``outs`` (None: it must run); ``refused``, why an entry
    under its key was not used when one exists but is not bound to the log; ``entry``,
    whether ``outs`` come from a bound entry (else from the stage's own lock block)."""

    outs: list[Artifact] | None
    refused: str | None = None
    entry: bool = False


class Unbound(NamedTuple):
    """An entry that is not bound to this clone's log, and why. ``forged``: it claims a
    run the log does not bear out (a version-1 entry is only out of date)."""

    key: str
    why: str
    forged: bool


class RunCache:
    """One command's view of the run-cache: its entries, and this clone's audit log to
    check them against (read only on a hit: see :mod:`mlrepro.audit.lookup`)."""

    def __init__(self, project: Project) -> None:
        self.dir = project.cache_dir
        self.store: ObjectStore = project.store
        self._where = (project.root, project.state_dir)
        self._log: EntryFinder | None = None

    @property
    def log(self) -> EntryFinder:
        """This clone's audit log, opened at the first question. Its module is imported
        then too: with the audit store it costs about 4 ms to import, which a status or a
        repro that finds nothing in the run-cache should not pay (as mlrepro.audit.recorder
        imports the store only when a command records)."""
        if self._log is None:
            from mlrepro.audit.lookup import EntryFinder

            self._log = EntryFinder(*self._where)
        return self._log

    def close(self) -> None:
        if self._log is not None:
            self._log.close()

    def __enter__(self) -> RunCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def lookup(self, stage: Stage, key: str) -> Source:
        """The entry under ``key`` when it restores every output of ``stage`` from
        objects the cache holds and is bound to the log; otherwise why not, when an
        entry exists but is not to be trusted (objects gone, by ``gc``, are no cause
        for remark: the stage runs)."""
        try:
            entry = read_entry(self.dir, key)
        except BadEntry as exc:
            return Source(None, str(exc))
        if entry is None:
            return Source(None)
        if {a.path for a in entry.outs} != {o.path for o in stage.all_outs}:
            return Source(None, "its outputs are not the stage's")
        if not all(all_present(self.store, a) for a in entry.outs):
            return Source(None)
        recorded = self.log.find(*entry.audit) if entry.audit is not None else None
        why = unbound(entry, recorded)
        if why is not None:
            return Source(None, why)
        return Source(list(entry.outs), entry=True)

    def usable(self, stage: Stage, key: str) -> list[Artifact] | None:
        return self.lookup(stage, key).outs

    def source(self, stage: Stage, key: str, block: StageRecord | None) -> Source:
        """What restores ``stage`` for the inputs keyed ``key``.

        The stage's own lock block comes first when it records this very run and the
        cache holds its objects: the lock says what this commit's outputs are (as
        ``checkout`` would bring them back), even where a later run of a command that
        is not deterministic left another entry under the same key. Otherwise the
        entry, when it is bound to the log."""
        if not cacheable(stage):
            return Source(None)
        if _block_matches(stage, block, key):
            assert block is not None
            if all(all_present(self.store, a) for a in block.outs):
                return Source(list(block.outs))
        return self.lookup(stage, key)

    def restorable(
        self, stage: Stage, key: str, block: StageRecord | None
    ) -> list[Artifact] | None:
        """The outputs :meth:`source` finds (the planner's question)."""
        return self.source(stage, key, block).outs

    def wanted(self, stage: Stage, rec: StageRecord) -> str | None:
        """The key under which a lock block should be remembered, or None: it is when
        its outputs are all in the cache, each with its sha256 (what its audit entry
        vouches for), and no usable entry is under its key yet. Asked only for blocks
        the workspace bears out (see repro), so a state a repro accepted comes back at
        once when the inputs return to it (issue 14). The caller records the audit
        entry the new entry is bound to, then calls :meth:`write`."""
        if not cacheable(stage) or not _block_matches(stage, rec):
            return None
        if any(a.sha256 is None for a in rec.outs):
            return None  # nothing could vouch for these bytes (a block from dvc.lock)
        key = block_key(stage, rec)
        if not all(all_present(self.store, a) for a in rec.outs):
            return None
        if self._says(key, rec.outs):
            # Already an entry for this very run: its audit entry is not looked up here
            # (a repro that switches a param back and forth would ask the log twice per
            # stage), only when the entry is used, which refuses it if it is not bound.
            return None
        if self.usable(stage, key) is not None:
            return None  # another run of the same inputs (a command not deterministic)
        return key

    def _says(self, key: str, outs: tuple[Artifact, ...]) -> bool:
        """Whether the entry under ``key`` is of this version and names ``outs``."""
        try:
            entry = read_entry(self.dir, key)
        except BadEntry:
            return False
        return entry is not None and entry.audit is not None and _outs(entry.outs) == _outs(outs)

    def write(self, key: str, outs: list[Artifact], audit: Place) -> None:
        """Write (or replace) the entry under ``key``, bound to ``audit``."""
        write_entry(self.dir, key, outs, audit)

    def check_all(self) -> tuple[int, list[Unbound]]:
        """How many entries there are, and those not bound to this clone's log: for
        ``cache verify``. Whether the objects an entry names are still there is not its
        concern (``gc`` leaves entries whose objects it deleted, and repro then runs the
        stage)."""
        keys = entry_keys(self.dir)
        entries: list[Entry] = []
        found: list[Unbound] = []
        for key in keys:
            try:
                entry = read_entry(self.dir, key)
            except BadEntry as exc:
                found.append(Unbound(key, str(exc), forged=exc.forged))
                continue
            except OSError as exc:
                found.append(Unbound(key, f"cannot be read ({exc.strerror})", forged=False))
                continue
            if entry is not None:
                entries.append(entry)
        recorded = self.log.find_all(e.audit for e in entries if e.audit is not None)
        for entry in entries:
            why = unbound(entry, recorded.get(entry.audit) if entry.audit else None)
            if why is not None:
                found.append(Unbound(entry.key, why, forged=entry.audit is not None))
        found.sort(key=lambda u: u.key)
        return len(keys), found

    def remove(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(_path(self.dir, key))


def _block_matches(stage: Stage, rec: StageRecord | None, key: str | None = None) -> bool:
    """``rec`` names every output of ``stage`` and (with ``key``) is the run ``key`` names."""
    return (
        rec is not None
        and bool(rec.outs)
        and all(a.digest is not None for a in rec.deps)
        and {a.path for a in rec.outs} == {o.path for o in stage.all_outs}
        and (key is None or block_key(stage, rec) == key)
    )
