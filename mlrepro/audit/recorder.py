"""Recording the actions of one command into the audit log.

A command makes one :class:`Recorder` when it starts; the git questions behind the
who/where part of its entries (identity, commit, branch, uncommitted changes, the
log's tip) are asked then, in processes that run while the command does its work,
and their answers are read on the first entry (a command that changes nothing
records nothing and only stops those processes). Entries are appended as actions complete, from
any thread, and published to the git ref once, when the command ends.
"""

from __future__ import annotations

import contextlib
import threading
from typing import TYPE_CHECKING, Any

from mlrepro.audit.anchor import anchored, committed_files
from mlrepro.audit.anchor import append as append_checkpoint
from mlrepro.audit.entry import CONTEXT_COMMANDS, context
from mlrepro.errors import MlreproError
from mlrepro.git.process import Started, git_collect, git_start, git_stop
from mlrepro.git.refstore import AUDIT_REF, parse_tip, tip_command
from mlrepro.workspace.lockfile import Artifact, StageRecord

if TYPE_CHECKING:
    from mlrepro.audit.store import AuditStore, Placed


def artifact_json(a: Artifact) -> dict[str, Any]:
    out: dict[str, Any] = {"path": a.path, "digest": a.digest}
    if a.sha256:
        out["sha256"] = a.sha256
    out["size"] = a.size
    if a.isdir:
        out["nfiles"] = a.nfiles
    return out


def stage_details(
    stage_id: str,
    cmd: Any,
    run_key: str,
    record: StageRecord,
    outs: list[Artifact],
    *,
    status: str = "succeeded",
    **extra: Any,
) -> dict[str, Any]:
    """The details of a stage run or restore: what ran, on which inputs, with which
    params, what it wrote, and how it ended (``extra``: exit status, duration...)."""
    return {
        "stage": stage_id,
        "cmd": cmd,
        "run_key": run_key,
        "status": status,
        "deps": [artifact_json(a) for a in record.deps],
        "params": record.params,
        "outs": [artifact_json(a) for a in outs],
        **{k: v for k, v in extra.items() if v is not None},
    }


class Recorder:
    def __init__(self, root: str, state_dir: str) -> None:
        self.root = root
        self.state_dir = state_dir
        self._store: AuditStore | None = None
        self._shared: dict[str, Any] | None = None
        self._mutex = threading.Lock()
        # what the committed files held before the first action they record (None: no
        # such action yet): a checkpoint is written when they changed (see close)
        self._committed: bytes | None = None
        # started from a thread: most of a process start is spent waiting for the
        # child's exec, which the caller spends loading its pipeline instead
        self._asked: Started = []
        commands = (tip_command(AUDIT_REF), *CONTEXT_COMMANDS)
        self._starter: threading.Thread | None = threading.Thread(
            target=lambda: self._asked.extend(git_start(root, *commands)), daemon=True
        )
        self._starter.start()

    def _started(self) -> Started:
        """The git questions' processes, once the thread that starts them is done."""
        if self._starter is not None:
            self._starter.join()
            self._starter = None
        return self._asked

    def _open(self) -> AuditStore:
        if self._store is None:
            # imported here, not at the top: the store (with its chain and ref writer)
            # costs about 1 ms to import, which a command that records nothing (a
            # repro with nothing to do) does not pay
            from mlrepro.audit.store import AuditStore

            tip_out, *answers = git_collect(self._started())
            self._asked = []
            self._shared = context(self.root, answers)
            self._store = AuditStore(self.root, self.state_dir, tip=parse_tip(tip_out))
            self._store.publish()  # entries a killed command left pending go first
        return self._store

    def record(self, action: str, details: dict[str, Any], *, flush: bool = False) -> Placed:
        """Append an entry; its seq and id (``flush``: fsync it now, for callers that do
        not flush the file system before their own record)."""
        with self._mutex:
            store = self._open()
            assert self._shared is not None
            if self._committed is None and anchored(action, details):
                # every command records an action before writing what it changed
                self._committed = committed_files(self.root)
            placed = store.append(action, details, self._shared)
            if flush:
                store.sync()
            return placed

    def publish(self) -> None:
        with self._mutex:
            if self._store is not None:
                self._store.publish()

    def close(self) -> None:
        """Publish what this command recorded, and write the log's head as a checkpoint
        when the command recorded results that a committed file holds (see
        :mod:`mlrepro.audit.anchor`). A publication that fails (git busy or broken)
        leaves the entries pending for the next command, and a checkpoint that cannot
        be written (a full disk) leaves the last one standing: neither hides the
        command's own outcome, and nothing is lost."""
        with self._mutex:
            if self._started():
                git_stop(self._asked)  # nothing was recorded
                self._asked = []
            if self._store is not None:
                try:
                    with contextlib.suppress(MlreproError, OSError):
                        self._store.publish()
                    head = self._store.head()
                    changed = (
                        self._committed is not None
                        and committed_files(self.root) != self._committed
                    )
                    if changed and head.ids:
                        with contextlib.suppress(OSError):
                            append_checkpoint(self.state_dir, head.seq, head.ids[0])
                finally:
                    self._store.close()
                    self._store = None
