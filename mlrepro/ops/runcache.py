"""The run-cache: outputs remembered by what they were made from, across commits and branches.

The key is the SHA-256 of the canonical JSON of a stage's command, working
folder, dependency digests, tracked param values and output paths. An entry,
``.mlrepro/cache/runs/<2 hex>/<62 hex>``, lists the outputs' artifacts; it is
written atomically after the stage succeeded and its outputs were cached.
"""

from __future__ import annotations

import json
import os
from typing import Any

from mlrepro.canonical import canonical_bytes, finite
from mlrepro.fsutil import atomic_write
from mlrepro.ops.artifacts import all_present
from mlrepro.secrets import mask_for_lock
from mlrepro.spec.model import Stage
from mlrepro.store.digest import sha_bytes
from mlrepro.store.objects import ObjectStore
from mlrepro.workspace.lockfile import Artifact, StageRecord

RUN_VERSION = 1


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


def _path(cache_dir: str, key: str) -> str:
    return os.path.join(cache_dir, "runs", key[:2], key[2:])


def lookup(cache_dir: str, key: str) -> list[Artifact] | None:
    try:
        with open(_path(cache_dir, key), encoding="utf-8") as f:
            raw = json.load(f)
        if raw.get("version") != RUN_VERSION:
            return None
        return [Artifact.from_json(a) for a in raw["outs"]]
    except (FileNotFoundError, ValueError, KeyError, TypeError):
        return None


def usable(cache_dir: str, store: ObjectStore, stage: Stage, key: str) -> list[Artifact] | None:
    """The entry under ``key`` when it restores every output of ``stage`` from objects
    the cache holds; None otherwise."""
    outs = lookup(cache_dir, key)
    if outs is None or {a.path for a in outs} != {o.path for o in stage.all_outs}:
        return None
    return outs if all(all_present(store, a) for a in outs) else None


def _block_matches(stage: Stage, rec: StageRecord | None, key: str | None = None) -> bool:
    """``rec`` names every output of ``stage`` and (with ``key``) is the run ``key`` names."""
    return (
        rec is not None
        and bool(rec.outs)
        and all(a.digest is not None for a in rec.deps)
        and {a.path for a in rec.outs} == {o.path for o in stage.all_outs}
        and (key is None or block_key(stage, rec) == key)
    )


def block_key(stage: Stage, rec: StageRecord) -> str:
    """The key of the run a lock block records (its command, digests and values; the
    working folder and output paths are the stage's, which the block matches)."""
    return run_key(stage, rec.deps, rec.params, cmd=rec.cmd)


def source(
    cache_dir: str, store: ObjectStore, stage: Stage, key: str, block: StageRecord | None
) -> list[Artifact] | None:
    """What restores ``stage`` for the inputs keyed ``key``, or None (it must run).

    The stage's own lock block comes first when it records this very run and the cache
    holds its objects: the lock says what this commit's outputs are (as ``checkout``
    would bring them back), even where a later run of a command that is not
    deterministic left another entry under the same key. Otherwise the entry."""
    if not cacheable(stage):
        return None
    if _block_matches(stage, block, key):
        assert block is not None
        if all(all_present(store, a) for a in block.outs):
            return list(block.outs)
    return usable(cache_dir, store, stage, key)


def remember(cache_dir: str, store: ObjectStore, stage: Stage, rec: StageRecord) -> bool:
    """Make a lock block restorable: an entry for the run it records, when its outputs
    are all in the cache and there is no usable entry under its key yet. Called only for
    blocks the workspace bears out (see repro), so a state a repro accepted comes back
    at once when the inputs return to it (issue 14). Returns whether it wrote one."""
    if not cacheable(stage) or not _block_matches(stage, rec):
        return False
    key = block_key(stage, rec)
    if usable(cache_dir, store, stage, key) is not None:
        return False
    if not all(all_present(store, a) for a in rec.outs):
        return False
    record(cache_dir, key, list(rec.outs))  # replaces an entry whose objects are gone
    return True


def record(cache_dir: str, key: str, outs: list[Artifact]) -> None:
    path = _path(cache_dir, key)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    data = {
        "version": RUN_VERSION,
        "outs": [a.to_json() for a in sorted(outs, key=lambda a: a.path)],
    }
    atomic_write(path, canonical_bytes(data) + b"\n", mode=0o444)
