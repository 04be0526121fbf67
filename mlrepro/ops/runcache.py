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
from mlrepro.spec.model import Stage
from mlrepro.store.digest import sha_bytes
from mlrepro.workspace.lockfile import Artifact

RUN_VERSION = 1


def run_key(stage: Stage, deps: list[Artifact], params: dict[str, dict[str, Any]]) -> str:
    material = {
        "cmd": stage.cmd,
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


def record(cache_dir: str, key: str, outs: list[Artifact]) -> None:
    path = _path(cache_dir, key)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    data = {
        "version": RUN_VERSION,
        "outs": [a.to_json() for a in sorted(outs, key=lambda a: a.path)],
    }
    atomic_write(path, canonical_bytes(data) + b"\n", mode=0o444)
