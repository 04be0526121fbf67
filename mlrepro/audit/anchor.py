"""Checkpoints: the audit chain's head written into committed history.

A set of entries cannot show that newer ones were cut off, or that the whole log
was replaced by another well-formed chain: every id still matches its bytes and
every link still holds. Each clone remembers the head it verified (see
:mod:`mlrepro.audit.verify`), but a fresh clone remembers nothing. So the commands
whose results go into a committed file (``repro`` and ``add``, which write
``mlrepro.lock``, and the config and remote commands, which write
``.mlrepro/config.json``) also write the log's head as they end into
``.mlrepro/audit-checkpoints``, one line ``<seq> <id>``, committed with those
results. As a Certificate Transparency log's signed tree heads pin the log they
summarise, a checkpoint pins the entry it names and, through the ``prev`` links,
every entry before it: a clone holding the commit can tell whether its log still
holds that history, without having seen the log before.

Lines are only ever added, never changed, and ``.mlrepro/.gitattributes`` tells git
to merge the file as a union: two branches that each added checkpoints merge
without a conflict and keep both. The lines are read as a set.

What a checkpoint cannot pin is what came after it: entries newer than the last
committed checkpoint are protected only by the heads clones remember, and a
forger who also rewrites the git history that holds the file (a force-push of the
branch) rewrites the anchor with it. docs/audit.md says so.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
from typing import Any, NamedTuple

from mlrepro.fsutil import atomic_write
from mlrepro.git.files import file_at
from mlrepro.workspace.config import config_path
from mlrepro.workspace.lockfile import LOCK_FILE

NAME = "audit-checkpoints"
ATTRIBUTES = f"/{NAME} merge=union\n"
_LINE = re.compile(r"^(\d+) ([0-9a-f]{64})$")

# the actions whose results a committed file records: a command that appended one
# of these writes a checkpoint (checkout, gc, repairs and failed runs change no
# committed file, and a checkpoint then would leave the work tree dirty after them)
ANCHORED_PREFIXES = ("stage.run", "stage.restore", "add", "data.add", "config.", "remote.")


class Checkpoint(NamedTuple):
    seq: int
    id: str
    where: str  # "HEAD" (committed) or "work tree" (written since, not committed yet)


class BadLine(NamedTuple):
    where: str
    line: int  # 1-based
    text: str


def committed_files(root: str) -> bytes:
    """What the committed files that anchored actions change hold now (the lock and the
    project config, hashed): a command writes a checkpoint only when this changed, so
    one that wrote them back unchanged (a restore of the stage's own block, an ``add``
    of unchanged data) leaves the work tree clean."""
    digest = hashlib.sha256()
    for path in (os.path.join(root, LOCK_FILE), config_path(root)):
        try:
            with open(path, "rb") as f:
                digest.update(hashlib.sha256(f.read()).digest())
        except OSError:
            digest.update(b"-")
    return digest.digest()


def anchored(action: str, details: dict[str, Any]) -> bool:
    return (
        action.startswith(ANCHORED_PREFIXES) and details.get("status", "succeeded") == "succeeded"
    )


def path(state_dir: str) -> str:
    return os.path.join(state_dir, NAME)


def _parse(text: str, where: str) -> tuple[list[Checkpoint], list[BadLine]]:
    found, bad = [], []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        match = _LINE.match(line.strip())
        if match is None:
            bad.append(BadLine(where, number, line))
        else:
            found.append(Checkpoint(int(match[1]), match[2], where))
    return found, bad


def read(root: str, state_dir: str) -> tuple[list[Checkpoint], list[BadLine]]:
    """Every checkpoint committed at HEAD or written in the work tree since, once each
    (the committed line when both hold it), oldest first; and the lines that are not
    checkpoints (an edit by hand, a conflict a merge without the attributes left)."""
    rel = os.path.relpath(path(state_dir), root).replace(os.sep, "/")
    committed = file_at(root, "HEAD", rel)
    head_text = committed.decode("utf-8", "replace") if committed is not None else ""
    try:
        with open(path(state_dir), encoding="utf-8", errors="replace") as f:
            work_text = f.read()
    except FileNotFoundError:
        work_text = ""
    at_head, bad = _parse(head_text, "HEAD")
    in_work, bad_work = _parse(work_text, "work tree")
    unique: dict[tuple[int, str], Checkpoint] = {}
    for c in at_head + in_work:
        unique.setdefault((c.seq, c.id), c)  # the committed line first
    return sorted(unique.values(), key=lambda c: (c.seq, c.id)), bad + bad_work


def append(state_dir: str, seq: int, eid: str) -> bool:
    """Add a checkpoint for the entry ``seq``/``eid`` unless the file's last line names
    it already; whether a line was added. The file is replaced whole (atomically), and
    the attributes that make git merge it as a union are written with its first line."""
    file = path(state_dir)
    try:
        with open(file, "rb") as f:
            held = f.read()
    except FileNotFoundError:
        held = b""
    line = f"{seq} {eid}\n".encode()
    lines = held.splitlines(keepends=True)
    if lines and lines[-1].strip() == line.strip():
        return False
    if held and not held.endswith(b"\n"):
        held += b"\n"
    _ensure_attributes(state_dir)
    atomic_write(file, held + line)
    return True


def _ensure_attributes(state_dir: str) -> None:
    file = os.path.join(state_dir, ".gitattributes")
    held = ""
    with contextlib.suppress(FileNotFoundError), open(file, encoding="utf-8") as f:
        held = f.read()
    if ATTRIBUTES.strip() in (ln.strip() for ln in held.splitlines()):
        return
    if held and not held.endswith("\n"):
        held += "\n"
    atomic_write(file, (held + ATTRIBUTES).encode())
