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
    """The key of running ``stage`` (with ``cmd`` instead of its own, for a recorded run)."""
    material = {
        "cmd": stage.cmd if cmd is None else cmd,
        "wdir": stage.wdir,
        "deps": {a.path: a.digest for a in deps},
        "params": params,
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


def restorable(
    cache_dir: str, store: ObjectStore, stage: Stage, key: str, rec: StageRecord | None
) -> bool:
    """Whether repro would restore ``stage`` (inputs keyed ``key``) instead of running
    it: from an entry, or from its lock block ``rec`` when that is the same run."""
    if not cacheable(stage):
        return False
    if usable(cache_dir, store, stage, key) is not None:
        return True
    return (
        rec is not None
        and bool(rec.outs)
        and {a.path for a in rec.outs} == {o.path for o in stage.all_outs}
        and run_key(stage, rec.deps, rec.params, cmd=rec.cmd) == key
        and all(all_present(store, a) for a in rec.outs)
    )


def remember(cache_dir: str, store: ObjectStore, stage: Stage, rec: StageRecord) -> bool:
    """Make a lock record restorable: an entry for the run it describes, when its outputs
    are all in the cache and no entry exists yet. So a state the committed lock (or an
    earlier repro) accepted comes back at once when the inputs return to it (issue 14).
    Returns whether an entry was written."""
    if not cacheable(stage) or not rec.outs or any(a.digest is None for a in rec.deps):
        return False
    if {a.path for a in rec.outs} != {o.path for o in stage.all_outs}:
        return False
    key = run_key(stage, rec.deps, rec.params, cmd=rec.cmd)
    if lookup(cache_dir, key) is not None:
        return False
    if not all(all_present(store, a) for a in rec.outs):
        return False
    record(cache_dir, key, list(rec.outs))
    return True


def record(cache_dir: str, key: str, outs: list[Artifact]) -> None:
    path = _path(cache_dir, key)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    data = {
        "version": RUN_VERSION,
        "outs": [a.to_json() for a in sorted(outs, key=lambda a: a.path)],
    }
    atomic_write(path, canonical_bytes(data) + b"\n", mode=0o444)
