"""Where the audit log lives: a git ref, so it travels with the repository.

``refs/mlrepro/audit`` points to a commit whose tree holds every entry as a blob:
``entries/<seq // 1000, 5 digits>/<seq, 8 digits>-<id>.json``, the entry's canonical
bytes under the SHA-256 they hash to. Each publication is a new commit whose parent
is the previous tip, so the ref's history is itself append-only and any git remote
can carry it.

Entries are first appended to ``.mlrepro/audit/pending.jsonl`` as the actions
happen (made durable by the same flush that makes the action's objects and lock
durable), then published to the ref at the end of the command, all in one commit:
a repro of 100 stages writes one commit, not 100. A command killed before
publishing leaves its entries pending; the next command publishes them first.
Publication is one ``git fast-import`` that adds the entries to the tip's tree and
moves the ref with compare-and-swap. A crash between the ref update and clearing
the pending file loses nothing and duplicates nothing: the tip's message names the
newest entry it holds, and an entry stored again lands on the same path with the
same bytes.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import time
from typing import Any, NamedTuple

from mlrepro.audit.chain import StoredEntry, parse
from mlrepro.audit.entry import EntryTemplate, entry_id
from mlrepro.canonical import canonical_bytes
from mlrepro.errors import MlreproError, add_path
from mlrepro.fsutil import atomic_write
from mlrepro.git.process import PACK_LIMIT, ask_git_to_tidy, pack_count
from mlrepro.git.refstore import AUDIT_REF, Import, RefConflict, RefStore

REF = AUDIT_REF
# the log of each git remote as this clone last saw it (see mlrepro.audit.sync)
REMOTES = "refs/mlrepro/audit-remotes"
INCOMING = "refs/mlrepro/audit-incoming"  # a fetched log before it is accepted
FANOUT = 1000
RESERVE = 64 * 1024  # the least the pending file grows by (see _write_line)
_NAME = re.compile(r"^(\d{8})-([0-9a-f]{64})\.json$")
_HEAD = re.compile(r"^head (\d+) ([0-9a-f]{64})$", re.MULTILINE)


class Head(NamedTuple):
    seq: int
    ids: tuple[str, ...]  # one id, or none for an empty log


class Placed(NamedTuple):
    """Where an appended entry is: its seq and id (which name its stored path)."""

    seq: int
    id: str


def entry_place(path: str) -> Placed | None:
    """The seq and id a stored entry's path names (None: not an entry's name)."""
    match = _NAME.match(path.rsplit("/", 1)[-1])
    return Placed(int(match[1]), match[2]) if match else None


def entry_path(seq: int, eid: str) -> str:
    return f"entries/{seq // FANOUT:05d}/{seq:08d}-{eid}.json"


class AuditStore:
    def __init__(
        self,
        root: str,
        state_dir: str,
        *,
        tip: tuple[str, str] | bool | None = False,
    ) -> None:
        """``tip`` (the ref's commit and message, None for no ref): the answer the
        caller already had from git, to save asking again."""
        self.root = root
        self.state_dir = state_dir
        self.git = RefStore(root)
        self._tip = tip  # False: not known yet
        self.dir = os.path.join(state_dir, "audit")
        self.pending_path = os.path.join(self.dir, "pending.jsonl")
        self._head: Head | None = None  # this process appends alone (it holds the repo lock)
        self._template: tuple[int, EntryTemplate] | None = None  # for one shared part
        # what the pending file holds, once this process has published it and appended
        # alone (None: unknown, read the file)
        self._mine: list[StoredEntry] | None = None
        self._fd: int | None = None  # the pending file, open for appending once written
        self._end = 0  # where the next line goes in the pending file (once open)
        self._size = 0  # how far the file reaches, reserve included
        # a fast-import that already holds this process's entries as blobs (their marks
        # in the order of _mine), ready to commit them at publication
        self._import: Import | None = None
        self._marks: list[int] = []

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        imp, _ = self._take_import()
        if imp is not None:
            imp.abandon()  # not published (the command failed early): nothing moves
        self.git.close()

    def _take_import(self) -> tuple[Import | None, list[int]]:
        """The streaming import and its marks when it holds every entry of ``_mine``
        (otherwise it is abandoned); either way this store lets go of it."""
        imp, marks = self._import, self._marks
        self._import, self._marks = None, []
        if imp is None:
            return None, []
        if imp.broken or len(marks) != len(self._mine or ()):
            imp.abandon()
            return None, []
        return imp, marks

    # -- reading ------------------------------------------------------------------

    def tip(self) -> str | None:
        return self.git.tip(REF)

    def published(self, tip: str | None = None) -> list[StoredEntry]:
        """Every entry in the ref's tree (or in commit ``tip``'s)."""
        tip = tip if tip is not None else self.tip()
        if tip is None:
            return []
        found = []
        for path, data in self.git.blobs(tip, "entries"):
            place = entry_place(path)
            if place is None:
                found.append(StoredEntry(-1, path, data))
                continue
            found.append(StoredEntry(place.seq, place.id, data))
        return found

    def pending(self) -> list[StoredEntry]:
        try:
            with open(self.pending_path, "rb") as f:
                lines = f.read().split(b"\0", 1)[0].splitlines()  # the reserve is not read
        except FileNotFoundError:
            return []
        found = []
        for line in lines:
            if not line.strip():
                continue
            try:
                seq = int(json.loads(line)["seq"])
            except (ValueError, KeyError, TypeError):
                continue  # a torn last line from a crash: that action was not recorded
            # each line is the entry's canonical bytes: its id is their hash (verify
            # recomputes it from the parsed entry, so a line edited by hand shows)
            found.append(StoredEntry(seq, hashlib.sha256(line).hexdigest(), line))
        return found

    def all(self) -> list[StoredEntry]:
        published = self.published()
        seen = {s.name_id for s in published}
        return published + [p for p in self.pending() if p.name_id not in seen]

    def entries(self) -> list[tuple[str, dict[str, Any]]]:
        """Every readable entry with its id (recomputed from its bytes), oldest first."""
        found = [(entry_id(e), e) for e in (parse(s) for s in self.all()) if e is not None]
        return sorted(found, key=lambda p: (p[1].get("seq", 0), p[0]))

    def head(self) -> Head:
        """The newest entry (pending first, then the ref's commit message)."""
        if self._head is None:
            self._head = self._read_head()
        return self._head

    def _read_head(self) -> Head:
        pending = self.pending()
        if pending:
            last = max(pending, key=lambda s: s.name_seq)
            return Head(last.name_seq, (last.name_id,))
        found = self.git.tip_and_message(REF) if self._tip is False else self._tip
        if not found:
            return Head(0, ())
        tip, message = found  # type: ignore[misc]
        match = _HEAD.search(message)
        if match is None:  # a tip not written by mlrepro: read the entries
            entries = self.published(tip)
            if not entries:
                return Head(0, ())
            last = max(entries, key=lambda s: s.name_seq)
            return Head(last.name_seq, (last.name_id,))
        return Head(int(match[1]), (match[2],))

    # -- writing ------------------------------------------------------------------

    def append(self, action: str, details: dict[str, Any], shared: dict[str, Any]) -> Placed:
        """Add an entry to the pending file; its seq and id. Durable once the caller flushes
        the file system (as it does before writing the record the action changed)."""
        head = self.head()
        if self._template is None or self._template[0] != id(shared):
            fragments = {k: canonical_bytes(v) for k, v in shared.items()}
            self._template = (id(shared), EntryTemplate(fragments))
        data = self._template[1].build(
            seq=head.seq + 1, prev=list(head.ids), action=action, details=details
        )
        self._write_line(data + b"\n")
        eid = hashlib.sha256(data).hexdigest()
        self._head = Head(head.seq + 1, (eid,))
        if self._mine is not None:
            self._mine.append(StoredEntry(head.seq + 1, eid, data))
            self._send(data)
        return Placed(head.seq + 1, eid)

    def _write_line(self, line: bytes) -> None:
        """Write ``line`` at the end of the pending file's lines, into its reserve.

        The file keeps zero-filled space after its last line (the reserve; lines never
        hold a zero byte, and readers stop at the first): a line written into blocks
        the file already has leaves the flush that makes it durable one data block to
        write, where growing the file a line at a time also makes each flush allocate
        a block (bitmap, group descriptor, inode), about 15 ms more per 100 entries
        on ext4 here. The reserve grows by doubling, at least 64 KiB at a time. Only
        this process writes the file meanwhile (it holds the repository lock), so the
        end of the lines is read once."""
        if self._fd is None:
            os.makedirs(self.dir, exist_ok=True)
            fd = self._fd = os.open(self.pending_path, os.O_RDWR | os.O_CREAT, 0o644)
            held = b"".join(iter(lambda: os.read(fd, 1 << 20), b""))
            self._size = len(held)
            end = held.find(b"\0")
            self._end = end if end >= 0 else len(held)
            if self._end and held[self._end - 1 : self._end] != b"\n":
                line = b"\n" + line  # after a torn line (a crash): start a line of its own
        try:
            if self._end + len(line) > self._size:
                grown = max(self._size * 2, self._end + len(line) + RESERVE, RESERVE)
                grown = -(-grown // 4096) * 4096
                os.pwrite(self._fd, bytes(grown - self._size), self._size)
                self._size = grown
            os.pwrite(self._fd, line, self._end)  # one write: whole or torn, never mixed
        except OSError as exc:
            # a full disk: at worst a torn line, which readers skip and the next
            # append starts a line after, as after a crash
            add_path(exc, self.pending_path)
            raise
        self._end += len(line)

    def _send(self, data: bytes) -> None:
        """Stream the entry just appended to a fast-import, which packs it while the
        command goes on; publication then only commits (see :class:`Import`). Started
        with the first entry after a publication, when the ref's tip is known; for
        anything else publication sends the entries itself."""
        assert self._mine is not None
        if self._import is None:
            if len(self._mine) != 1 or self._tip is False:
                return
            try:
                self._import = self.git.start_import()
            except OSError:
                return
        self._marks.append(self._import.blob(data))

    def sync(self) -> None:
        try:
            if self._fd is not None:
                os.fsync(self._fd)
                return
            try:
                fd = os.open(self.pending_path, os.O_RDONLY)
            except FileNotFoundError:
                return
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            add_path(exc, self.pending_path)  # fsync names no file
            raise

    def publish(self) -> int:
        """Commit pending entries to the ref; how many were published."""
        pending = self._mine if self._mine is not None else self.pending()
        if not pending:
            self._mine = []
            return 0
        newest = max(pending, key=lambda s: s.name_seq)
        paths = [entry_path(s.name_seq, s.name_id) for s in pending]
        streamed, marks = self._take_import() if pending is self._mine else (None, [])
        known = self._tip
        try:
            for _attempt in range(5):
                # the tip read with the head, if any; after a conflict, read it again
                found = self.git.tip_and_message(REF) if known is False else known
                known = False
                tip, message = found if isinstance(found, tuple) else (None, "")
                head = _HEAD.search(message)
                if head and (int(head[1]), head[2]) == (newest.name_seq, newest.name_id):
                    break  # published already: a crash after the ref moved, before the clearing
                text = f"audit: {len(pending)} entries\n\nhead {newest.name_seq} {newest.name_id}\n"
                stamp = int(time.time())
                try:
                    if streamed is not None:
                        imp, streamed = streamed, None
                        try:
                            imp.commit(REF, tip, list(zip(paths, marks, strict=True)), text, stamp)
                        except RefConflict:
                            raise
                        except MlreproError:
                            known = found  # fast-import broke: send everything to a new one
                            continue
                    else:
                        files = [(path, s.data) for path, s in zip(paths, pending, strict=True)]
                        self.git.add_files(REF, tip, files, text, stamp)
                    break
                except RefConflict:
                    # someone else published meanwhile, or a publisher killed while it
                    # moved the ref left git's lock file: read the tip again
                    if not self.git.clear_stale_lock(REF):
                        time.sleep(0.05)
            else:
                raise MlreproError("could not update refs/mlrepro/audit (it kept changing)")
        finally:
            if streamed is not None:  # not used (published already): nothing to commit
                streamed.abandon()
        # the entries are in the ref now; a crash before this line publishes them again,
        # which the check above (or, for older tips, the same paths and bytes) makes a no-op
        self._clear()
        self._mine = []
        self._tip = False  # moved: read it again if needed
        self._tidy()
        return len(pending)

    def _clear(self) -> None:
        """Empty the pending file but keep its blocks: zeros over its lines (readers stop
        at the first zero byte), so the next command's entries go into space the file
        already has. On a full disk, `gc` must record what it deletes before it can
        free anything (issue 15)."""
        if self._fd is None:
            with (
                contextlib.suppress(FileNotFoundError),
                open(self.pending_path, "r+b", buffering=0) as f,
            ):
                f.write(bytes(os.fstat(f.fileno()).st_size))
            return
        if self._end:
            os.pwrite(self._fd, bytes(self._end), 0)
        self._end = 0

    def _tidy(self) -> None:
        """Each publication adds a pack to the repository, and every git command (this
        publication's too) looks through every pack. Past git's own limit, ask git to
        tidy up, as its commands do after writing objects. A user who turned git's
        housekeeping off is asked again only every 25 more packs, not by every command."""
        packs = pack_count(self.root)
        if packs is None:
            return
        marker = os.path.join(self.dir, "tidy")  # the pack count when git was last asked
        try:
            with open(marker, encoding="ascii") as f:
                asked = int(f.read().strip() or 0)
        except (OSError, ValueError):
            asked = 0
        if asked and packs < asked:  # git has packed since it was asked
            os.unlink(marker)
            asked = 0
        if packs <= PACK_LIMIT or (asked and packs < asked + PACK_LIMIT // 2):
            return
        ask_git_to_tidy(self.root)
        atomic_write(marker, f"{packs}\n".encode())
