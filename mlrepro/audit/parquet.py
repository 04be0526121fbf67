"""The audit log as a Parquet table (pyarrow is imported here only, by ``audit export``).

One row per entry, oldest first. Columns: ``id``, ``seq``, ``prev`` (list), ``time``
(timestamp, UTC, microseconds), ``action``, ``stage``, ``status``, ``exit_status``,
``duration_s``, ``run_key``, ``git_name``, ``git_email``, ``os_user``, ``host``,
``git_commit``, ``git_branch``, ``git_dirty``, ``python``, ``platform``,
``packages_sha256``, ``packages`` (list), ``inputs`` and ``outputs`` (lists of
``{path, digest, sha256, size}``), ``params_json`` and ``entry_json`` (the entry's
canonical JSON, so nothing is lost in the flattening).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from mlrepro.canonical import canonical_bytes
from mlrepro.fsutil import atomic_write


def write(entries: list[tuple[str, dict[str, Any]]], path: str) -> int:
    # imported here, not at the top: pyarrow takes 150 ms or more to import, and every
    # `audit` command imports this module; only a Parquet export pays for it
    import pyarrow as pa  # type: ignore[import-untyped]
    import pyarrow.parquet as pq  # type: ignore[import-untyped]

    artifact = pa.struct(
        [
            ("path", pa.string()),
            ("digest", pa.string()),
            ("sha256", pa.string()),
            ("size", pa.int64()),
        ]
    )

    def artifacts(items: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
        return [{k: a.get(k) for k in ("path", "digest", "sha256", "size")} for a in items or []]

    rows = []
    for eid, e in entries:
        d = e.get("details") or {}
        actor, git, env = e.get("actor") or {}, e.get("git") or {}, e.get("env") or {}
        outs = d.get("outs") if "outs" in d else ([d["artifact"]] if d.get("artifact") else [])
        rows.append(
            {
                "id": eid,
                "seq": e.get("seq"),
                "prev": e.get("prev") or [],
                "time": dt.datetime.strptime(e["time"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(
                    tzinfo=dt.UTC
                ),
                "action": e.get("action"),
                "stage": d.get("stage"),
                "status": d.get("status"),
                "exit_status": d.get("exit_status"),
                "duration_s": d.get("duration"),
                "run_key": d.get("run_key"),
                "git_name": actor.get("git_name"),
                "git_email": actor.get("git_email"),
                "os_user": actor.get("os_user"),
                "host": e.get("host"),
                "git_commit": git.get("commit"),
                "git_branch": git.get("branch"),
                "git_dirty": git.get("dirty"),
                "python": env.get("python"),
                "platform": env.get("platform"),
                "packages_sha256": env.get("packages_sha256"),
                "packages": env.get("packages") or [],
                "inputs": artifacts(d.get("deps")),
                "outputs": artifacts(outs),
                "params_json": json.dumps(d.get("params"), sort_keys=True)
                if "params" in d
                else None,
                "entry_json": canonical_bytes(e).decode("utf-8"),
            }
        )
    schema = pa.schema(
        [
            ("id", pa.string()),
            ("seq", pa.int64()),
            ("prev", pa.list_(pa.string())),
            ("time", pa.timestamp("us", tz="UTC")),
            ("action", pa.string()),
            ("stage", pa.string()),
            ("status", pa.string()),
            ("exit_status", pa.int64()),
            ("duration_s", pa.float64()),
            ("run_key", pa.string()),
            ("git_name", pa.string()),
            ("git_email", pa.string()),
            ("os_user", pa.string()),
            ("host", pa.string()),
            ("git_commit", pa.string()),
            ("git_branch", pa.string()),
            ("git_dirty", pa.bool_()),
            ("python", pa.string()),
            ("platform", pa.string()),
            ("packages_sha256", pa.string()),
            ("packages", pa.list_(pa.string())),
            ("inputs", pa.list_(artifact)),
            ("outputs", pa.list_(artifact)),
            ("params_json", pa.string()),
            ("entry_json", pa.string()),
        ]
    )
    table = pa.Table.from_pylist(rows, schema=schema)
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    atomic_write(path, sink.getvalue().to_pybytes())
    return len(rows)
