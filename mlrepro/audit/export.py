"""Exporting the audit log for other tools: JSON Lines, OpenLineage, W3C PROV, in-toto.

- **jsonl**: one entry per line, oldest first, each with its ``id``: the log itself.
- **openlineage**: one OpenLineage ``RunEvent`` per stage run or restore (COMPLETE,
  or FAIL for a failed run): the job is the stage, inputs and outputs are datasets
  named by path with their digests in a ``dataset facet``, and the run id is a UUID
  taken from the entry id.
- **prov**: one W3C PROV-JSON document: each stage run an activity, each artifact
  version an entity (path and sha256), each actor an agent, linked by ``used``,
  ``wasGeneratedBy`` and ``wasAssociatedWith``.
- **in-toto**: one in-toto Statement v1 per stage run that wrote outputs, with an
  SLSA provenance v1 predicate: the outputs are the subjects (by sha256), the stage,
  command and params the external parameters, the inputs the resolved dependencies.

Parquet (a table for analytics tools) is in :mod:`mlrepro.audit.parquet`.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from mlrepro import __version__

PRODUCER = f"https://github.com/mlrepro/mlrepro/tree/v{__version__}"
OPENLINEAGE_SCHEMA = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
STATEMENT = "https://in-toto.io/Statement/v1"
SLSA = "https://slsa.dev/provenance/v1"
BUILD_TYPE = "https://mlrepro.dev/audit/stage-run/v1"
STAGE_ACTIONS = ("stage.run", "stage.restore")


def _hex(digest: str | None) -> str | None:
    return digest.split(":", 1)[1] if digest and ":" in digest else None


def _digests(a: dict[str, Any]) -> dict[str, str]:
    out = {}
    if _hex(a.get("sha256")):
        out["sha256"] = _hex(a.get("sha256"))
    if _hex(a.get("digest")):
        out["xxh3-128"] = _hex(a.get("digest"))
    return out  # type: ignore[return-value]


def started(e: dict[str, Any]) -> str | None:
    """When the action began: its time (when it ended) less its duration, if known."""
    end, duration = e.get("time"), (e.get("details") or {}).get("duration")
    if not isinstance(end, str) or not isinstance(duration, int | float):
        return end if isinstance(end, str) else None
    t = dt.datetime.strptime(end, "%Y-%m-%dT%H:%M:%S.%fZ") - dt.timedelta(seconds=duration)
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def run_uuid(entry_id: str) -> str:
    """A stable UUID (version 4 layout) from an entry id, for tools that require UUIDs."""
    raw = bytearray(bytes.fromhex(entry_id[:32]))
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    return str(uuid.UUID(bytes=bytes(raw)))


def jsonl(entries: list[tuple[str, dict[str, Any]]]) -> str:
    return "".join(
        json.dumps({"id": eid, **e}, sort_keys=True, separators=(",", ":")) + "\n"
        for eid, e in entries
    )


def openlineage(entries: list[tuple[str, dict[str, Any]]], namespace: str) -> str:
    events = []
    for eid, e in entries:
        if e.get("action") not in STAGE_ACTIONS:
            continue
        d = e.get("details") or {}

        def dataset(a: dict[str, Any]) -> dict[str, Any]:
            return {
                "namespace": namespace,
                "name": a["path"],
                "facets": {
                    "mlrepro_digests": {
                        "_producer": PRODUCER,
                        "_schemaURL": f"{PRODUCER}/docs/format.md#audit-log",
                        **_digests(a),
                        "size": a.get("size"),
                    }
                },
            }

        events.append(
            {
                "eventType": "FAIL" if d.get("status") == "failed" else "COMPLETE",
                "eventTime": e.get("time"),
                "producer": PRODUCER,
                "schemaURL": OPENLINEAGE_SCHEMA,
                "run": {
                    "runId": run_uuid(eid),
                    "facets": {
                        "mlrepro_run": {
                            "_producer": PRODUCER,
                            "_schemaURL": f"{PRODUCER}/docs/format.md#audit-log",
                            "auditEntry": eid,
                            "runKey": d.get("run_key"),
                            "action": e.get("action"),
                            "status": d.get("status"),
                            "params": d.get("params"),
                            "gitCommit": (e.get("git") or {}).get("commit"),
                            "actor": e.get("actor"),
                            "host": e.get("host"),
                        }
                    },
                },
                "job": {"namespace": namespace, "name": d.get("stage")},
                "inputs": [dataset(a) for a in d.get("deps") or []],
                "outputs": [dataset(a) for a in d.get("outs") or []],
            }
        )
    return "".join(json.dumps(ev, sort_keys=True) + "\n" for ev in events)


def prov(entries: list[tuple[str, dict[str, Any]]]) -> str:
    doc: dict[str, Any] = {
        "prefix": {
            "mlrepro": "https://mlrepro.dev/ns#",
            "run": "https://mlrepro.dev/run/",
            "artifact": "https://mlrepro.dev/artifact/",
            "agent": "https://mlrepro.dev/agent/",
        },
        "entity": {},
        "activity": {},
        "agent": {},
        "used": {},
        "wasGeneratedBy": {},
        "wasAssociatedWith": {},
    }
    n = 0
    for eid, e in entries:
        d = e.get("details") or {}
        activity = f"run:{eid}"
        actor = e.get("actor") or {}
        agent = f"agent:{actor.get('git_email') or actor.get('os_user') or 'unknown'}"
        doc["agent"][agent] = {
            "prov:type": "prov:Person",
            "mlrepro:gitName": actor.get("git_name"),
            "mlrepro:osUser": actor.get("os_user"),
        }
        doc["activity"][activity] = {
            "prov:startTime": started(e),
            "prov:endTime": e.get("time"),
            "prov:type": f"mlrepro:{e.get('action')}",
            "mlrepro:stage": d.get("stage"),
            "mlrepro:status": d.get("status"),
            "mlrepro:runKey": d.get("run_key"),
            "mlrepro:host": e.get("host"),
            "mlrepro:gitCommit": (e.get("git") or {}).get("commit"),
        }
        n += 1
        doc["wasAssociatedWith"][f"_:assoc{n}"] = {"prov:activity": activity, "prov:agent": agent}
        artifacts = [("used", a) for a in d.get("deps") or []]
        artifacts += [("wasGeneratedBy", a) for a in d.get("outs") or []]
        if d.get("artifact"):
            artifacts.append(("wasGeneratedBy", d["artifact"]))
        for relation, a in artifacts:
            version = _hex(a.get("sha256")) or _hex(a.get("digest")) or "absent"
            entity = f"artifact:{a['path']}@{version[:16]}"
            doc["entity"][entity] = {
                "prov:label": a["path"],
                **{f"mlrepro:{k}": v for k, v in _digests(a).items()},
                "mlrepro:size": a.get("size"),
            }
            n += 1
            key = "prov:entity"
            doc[relation][f"_:{relation}{n}"] = {"prov:activity": activity, key: entity}
    return json.dumps(doc, sort_keys=True, indent=2) + "\n"


def in_toto(entries: list[tuple[str, dict[str, Any]]]) -> str:
    statements = []
    for eid, e in entries:
        d = e.get("details") or {}
        if e.get("action") not in STAGE_ACTIONS or d.get("status") not in (None, "succeeded"):
            continue
        subjects = [
            {"name": a["path"], "digest": _digests(a)}
            for a in d.get("outs") or []
            if _hex(a.get("sha256"))
        ]
        if not subjects:
            continue
        statements.append(
            {
                "_type": STATEMENT,
                "subject": subjects,
                "predicateType": SLSA,
                "predicate": {
                    "buildDefinition": {
                        "buildType": BUILD_TYPE,
                        "externalParameters": {
                            "stage": d.get("stage"),
                            "cmd": d.get("cmd"),
                            "params": d.get("params"),
                        },
                        "internalParameters": {
                            "runKey": d.get("run_key"),
                            "action": e.get("action"),
                            "gitCommit": (e.get("git") or {}).get("commit"),
                            "gitBranch": (e.get("git") or {}).get("branch"),
                            "environment": {
                                k: v for k, v in (e.get("env") or {}).items() if k != "packages"
                            },
                        },
                        "resolvedDependencies": [
                            {"uri": a["path"], "digest": _digests(a)} for a in d.get("deps") or []
                        ],
                    },
                    "runDetails": {
                        "builder": {"id": f"https://mlrepro.dev/builder/mlrepro@{__version__}"},
                        "metadata": {
                            "invocationId": eid,
                            "startedOn": started(e),
                            "finishedOn": e.get("time"),
                        },
                    },
                },
            }
        )
    return "".join(json.dumps(s, sort_keys=True) + "\n" for s in statements)
