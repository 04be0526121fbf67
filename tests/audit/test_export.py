"""``mlrepro audit export``: the same log as JSON Lines, Parquet, OpenLineage, PROV and in-toto."""

from __future__ import annotations

import hashlib
import json
import uuid

import pyarrow.parquet as pq

from mlrepro.audit.entry import entry_id
from tests.ops.conftest import Proj


def two_stages(proj: Proj) -> None:
    proj.write("raw.txt", "raw\n")
    proj.params({"lr": 0.1})
    proj.pipeline(
        {
            "prep": {
                "cmd": proj.cmd(["cat", "prep.txt", "raw.txt"]),
                "deps": ["raw.txt"],
                "outs": ["prep.txt"],
            },
            "train": {
                "cmd": proj.cmd(
                    ["param", "model.json", "params.yaml", "lr"], ["cat", "copy.txt", "prep.txt"]
                ),
                "deps": ["prep.txt"],
                "params": ["lr"],
                "outs": ["model.json", "copy.txt"],
            },
        }
    )
    proj.ok("repro")


def sha(proj: Proj, path: str) -> str:
    return hashlib.sha256((proj.root / path).read_bytes()).hexdigest()


def export(proj: Proj, fmt: str) -> list[dict]:  # type: ignore[type-arg]
    out = proj.ok("audit", "export", "--format", fmt).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_jsonl_is_the_log_itself(proj: Proj) -> None:
    two_stages(proj)
    rows = export(proj, "jsonl")
    assert [r["action"] for r in rows] == ["data.add", "stage.run", "stage.run"]
    for r in rows:
        eid = r.pop("id")
        assert entry_id(r) == eid


def test_parquet_table(proj: Proj) -> None:
    two_stages(proj)
    path = proj.outside / "audit.parquet"
    proj.ok("audit", "export", "--format", "parquet", "--output", str(path))
    table = pq.read_table(path)
    assert table.num_rows == 3
    assert str(table.schema.field("time").type) == "timestamp[us, tz=UTC]"
    rows = table.to_pylist()
    train = next(r for r in rows if r["stage"] == "train")
    assert train["status"] == "succeeded" and train["exit_status"] == 0
    outs = {o["path"]: o["sha256"] for o in train["outputs"]}
    assert outs["model.json"] == f"sha256:{sha(proj, 'model.json')}"
    assert json.loads(train["params_json"]) == {"params.yaml": {"lr": 0.1}}
    assert json.loads(train["entry_json"])["details"]["stage"] == "train"
    proj.fails("audit", "export", "--format", "parquet", code=2)  # a table needs a file


def test_openlineage_run_events(proj: Proj) -> None:
    two_stages(proj)
    events = export(proj, "openlineage")
    assert [e["job"]["name"] for e in events] == ["prep", "train"]
    for e in events:
        assert e["eventType"] == "COMPLETE" and e["schemaURL"].startswith(
            "https://openlineage.io/spec/"
        )
        assert uuid.UUID(e["run"]["runId"]).version == 4
        assert e["eventTime"].endswith("Z") and e["producer"].startswith("https://")
    train = events[1]
    assert [i["name"] for i in train["inputs"]] == ["prep.txt"]
    model = next(o for o in train["outputs"] if o["name"] == "model.json")
    assert model["facets"]["mlrepro_digests"]["sha256"] == sha(proj, "model.json")


def test_prov_document(proj: Proj) -> None:
    two_stages(proj)
    [doc] = [json.loads(proj.ok("audit", "export", "--format", "prov").stdout)]
    assert len(doc["activity"]) == 3 and len(doc["agent"]) == 1
    generated = {
        doc["entity"][g["prov:entity"]]["prov:label"] for g in doc["wasGeneratedBy"].values()
    }
    assert {"prep.txt", "model.json", "copy.txt", "raw.txt"} <= generated
    used = {doc["entity"][u["prov:entity"]]["prov:label"] for u in doc["used"].values()}
    assert used == {"raw.txt", "prep.txt"}


def test_in_toto_statements_name_each_output_by_sha256(proj: Proj) -> None:
    two_stages(proj)
    statements = export(proj, "in-toto")
    assert len(statements) == 2
    for s in statements:
        assert s["_type"] == "https://in-toto.io/Statement/v1"
        assert s["predicateType"] == "https://slsa.dev/provenance/v1"
        for subject in s["subject"]:
            assert subject["digest"]["sha256"] == sha(proj, subject["name"])  # as sha256sum checks
    train = next(
        s
        for s in statements
        if s["predicate"]["buildDefinition"]["externalParameters"]["stage"] == "train"
    )
    deps = train["predicate"]["buildDefinition"]["resolvedDependencies"]
    assert [d["uri"] for d in deps] == ["prep.txt"]
    assert train["predicate"]["runDetails"]["metadata"]["invocationId"] in {
        r["id"] for r in export(proj, "jsonl")
    }
