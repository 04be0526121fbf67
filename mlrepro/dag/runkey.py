"""What identifies a run of a stage: its run key, and whether its runs are remembered
at all. The run-cache (mlrepro.engine.runcache) files entries under these keys, the
planner asks about them, and lineage names runs by them."""

from __future__ import annotations

from typing import Any

from mlrepro.canonical import canonical_bytes, finite
from mlrepro.secrets import mask_for_lock
from mlrepro.spec.model import Stage
from mlrepro.store.digest import sha_bytes
from mlrepro.workspace.lockfile import Artifact, StageRecord


def cacheable(stage: Stage) -> bool:
    """Whether a stage's runs are remembered: the same conditions as DVC's run-cache,
    something to key on and to restore, and no output that the command extends
    (persist) rather than rewrites."""
    return (
        not stage.always_changed
        and bool(stage.deps or stage.params)
        and bool(stage.all_outs)
        and not any(o.persist for o in stage.all_outs)
    )


def run_key(
    stage: Stage,
    deps: list[Artifact] | tuple[Artifact, ...],
    params: dict[str, dict[str, Any]],
    *,
    cmd: str | list[str] | None = None,
) -> str:
    """The key of running ``stage`` (with ``cmd`` instead of its own, for a recorded run).

    Over the command and params as the lock holds them, credentials masked by their
    hash (mlrepro.secrets): a key computed from the workspace and one computed from a
    lock block agree, and a changed secret still changes the key."""
    material = {
        "cmd": mask_for_lock(stage.cmd if cmd is None else cmd),
        "wdir": stage.wdir,
        "deps": {a.path: a.digest for a in deps},
        "params": mask_for_lock(params),
        "outs": sorted(o.path for o in stage.all_outs),
    }
    return sha_bytes(canonical_bytes(finite(material)))


def block_key(stage: Stage, rec: StageRecord) -> str:
    """The key of the run a lock block records (its command, digests and values; the
    working folder and output paths are the stage's, which the block matches)."""
    return run_key(stage, rec.deps, rec.params, cmd=rec.cmd)
