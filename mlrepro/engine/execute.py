"""One stage's run, in a worker thread of ``repro``: its outputs cleared, its command
run in its working folder with DVC's environment, what it made checked (every output
there, none a link out of the repository) and cached.

Only the run: deciding whether a stage runs, and recording its result in the lock, the
run-cache and the audit log, stay with :mod:`mlrepro.ops.repro`, in the main thread.
"""

from __future__ import annotations

import os
import threading

from mlrepro.dag.workstate import WorkState
from mlrepro.engine.artifacts import save
from mlrepro.engine.outcome import Event, EventSink, RunFailed, RunInterrupted
from mlrepro.engine.outputs import drop_outside_link, outside, prepare_outputs
from mlrepro.errors import os_error
from mlrepro.exec.local import run_command, stage_env
from mlrepro.secrets import redact
from mlrepro.spec.model import Stage
from mlrepro.workspace.lockfile import Artifact


def execute(
    ctx: WorkState, stage: Stage, emit: EventSink, cancel: threading.Event
) -> tuple[list[Artifact], float]:
    """Clear the stage's outputs, run its command, check what it made and cache it: the
    outputs' artifacts and how long the command took. Raises :class:`RunFailed` (with the
    duration) or :class:`RunInterrupted`; nothing is recorded here."""
    root = ctx.project.root
    prepare_outputs(root, stage)
    result = run_command(
        stage.cmd,
        cwd=os.path.join(root, stage.wdir),
        on_line=lambda line: emit(Event.LINE, stage.id, line),
        # shown as it starts, in logs that CI keeps: credentials masked
        on_command=lambda command: emit(Event.COMMAND, stage.id, redact(command)),
        cancel=cancel,
        env=stage_env(root, stage.id),
    )
    if result.interrupted:
        raise RunInterrupted()
    if result.returncode != 0:
        raise RunFailed(
            f"command exited with status {result.returncode}",
            result.duration,
            result.returncode,
        )
    missing = [o.path for o in stage.all_outs if not os.path.lexists(os.path.join(root, o.path))]
    if missing:
        raise RunFailed(f"the command did not create output '{missing[0]}'", result.duration)
    for o in stage.all_outs:
        # the command may have made the output a link out of the repository: its
        # target's bytes must not enter the cache, the lock or the audit log
        where = outside(root, o.path)
        if where is not None:
            dropped = drop_outside_link(root, o.path)
            raise RunFailed(
                f"output '{o.path}' is a symbolic link leading outside the repository "
                f"(to '{where}')" + ("; the link was removed" if dropped else ""),
                result.duration,
                hint="a stage must write its outputs inside the repository, "
                "not link to files elsewhere",
            )
    try:
        artifacts = [save(ctx.project.store, ctx.hasher, o.path) for o in stage.all_outs]
    except OSError as exc:  # a full or read-only disk: the user's to fix (issue 15)
        raise os_error(exc, doing="caching its outputs") from exc
    return artifacts, result.duration
