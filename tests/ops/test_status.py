"""``status --why`` and ``status --json``: every reason a stage must run, named precisely."""

from __future__ import annotations

import json
import os
from typing import Any

from tests.ops.conftest import Proj


def pipeline(proj: Proj, *, train_cmd_extra: str = "") -> None:
    """prepare (git-tracked input) -> train (params, data input) -> evaluate; plus odd stages."""
    log = str(proj.ext("runs.log"))
    proj.write("src.txt", "source v1\n")  # committed below: a code dependency
    proj.write("raw/data.csv", "a,b\n1,2\n")  # never committed: a data input
    proj.params({"model": {"lr": 0.1, "layers": [8, 4]}, "seed": 7})
    proj.pipeline(
        {
            "prepare": {
                "cmd": proj.cmd(["log", log, "prepare"], ["cat", "prepared.txt", "src.txt"]),
                "deps": ["src.txt"],
                "outs": ["prepared.txt"],
            },
            "train": {
                "cmd": proj.cmd(
                    ["log", log, "train"],
                    ["cat", "model.bin", "prepared.txt", "raw/data.csv"],
                )
                + train_cmd_extra,
                "deps": ["prepared.txt", "raw/data.csv"],
                "params": ["model.lr", "seed"],
                "outs": ["model.bin"],
            },
            "evaluate": {
                "cmd": proj.cmd(["log", log, "evaluate"], ["cat", "score.txt", "model.bin"]),
                "deps": ["model.bin"],
                "outs": ["score.txt"],
            },
            "clock": {
                "cmd": proj.cmd(["log", log, "clock"], ["write", "clock.txt", "tick"]),
                "outs": ["clock.txt"],
                "always_changed": True,
            },
            "frozen_one": {
                "cmd": proj.cmd(["log", log, "frozen_one"], ["cat", "frozen.txt", "src.txt"]),
                "deps": ["src.txt"],
                "outs": ["frozen.txt"],
                "frozen": True,
            },
        }
    )
    proj.git("add", "src.txt", "params.yaml", "dvc.yaml")
    proj.git("commit", "-q", "-m", "pipeline")


def status_json(proj: Proj, *targets: str) -> dict[str, Any]:
    proc = proj.mlrepro("status", "--json", *targets)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["version"] == 1
    return doc


def reasons(doc: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    return {s["id"]: s["reasons"] for s in doc["stages"]}


def codes(doc: dict[str, Any]) -> dict[str, list[str]]:
    return {sid: [r["code"] for r in rs] for sid, rs in reasons(doc).items()}


def up_to_date_except_clock(proj: Proj) -> None:
    doc = status_json(proj)
    assert codes(doc) == {
        "clock": ["always-changed"],
        "evaluate": [],
        "frozen_one": [],
        "prepare": [],
        "train": [],
    }, doc


def test_never_run_and_always_changed(proj: Proj) -> None:
    pipeline(proj)
    doc = status_json(proj)
    assert doc["changed"] is True
    c = codes(doc)
    assert c["prepare"] == ["never-run"]
    assert c["clock"] == ["always-changed", "never-run"]
    assert c["evaluate"] == ["never-run", "upstream"]
    assert c["frozen_one"] == []
    frozen = next(s for s in doc["stages"] if s["id"] == "frozen_one")
    assert frozen["frozen"] is True and frozen["changed"] is False
    assert {d["path"]: d["state"] for d in doc["data"]} == {"raw/data.csv": "new"}

    proj.ok("repro")
    assert proj.runs("frozen_one") == 0  # frozen: never runs
    assert "frozen_one" not in proj.locked_stages()
    up_to_date_except_clock(proj)
    # always_changed keeps the project out of date, and runs every time
    proj.fails("status", "--check", code=3)
    proj.ok("repro")
    proj.ok("repro")
    assert proj.runs("clock") == 3 and proj.runs("prepare") == 1
    text = proj.ok("status", "--why").stdout
    assert "clock:\n    always_changed is set" in text


def test_dependency_change_and_upstream(proj: Proj) -> None:
    pipeline(proj)
    proj.ok("repro")
    old = proj.locked_stages()["prepare"]["deps"][0]["digest"]
    proj.write("src.txt", "source v2\n")
    doc = status_json(proj)
    r = reasons(doc)
    assert [x["code"] for x in r["prepare"]] == ["dep-changed"]
    dep = r["prepare"][0]
    assert dep["path"] == "src.txt" and dep["old"] == old and dep["new"] != old
    assert dep["new"].startswith("xxh3-128:")
    assert r["train"] == [
        {"code": "upstream", "message": "upstream stage 'prepare' will run", "path": "prepare"}
    ]
    assert [x["code"] for x in r["evaluate"]] == ["upstream"]
    assert r["evaluate"][0]["path"] == "train"
    # a frozen stage is never reported, even though its dependency changed
    assert r["frozen_one"] == []
    text = proj.fails("status", "--why", "--check", code=3).stdout
    assert "prepare:\n    dependency 'src.txt' changed (xxh3-128:" in text
    assert "train:\n    upstream stage 'prepare' will run" in text
    proj.ok("repro")
    assert proj.runs("frozen_one") == 0
    up_to_date_except_clock(proj)


def test_nested_param_changed_old_to_new(proj: Proj) -> None:
    pipeline(proj)
    proj.ok("repro")
    proj.params({"model": {"lr": 0.25, "layers": [8, 4]}, "seed": 7})
    r = reasons(status_json(proj))
    assert r["train"] == [
        {
            "code": "param-changed",
            "message": "param 'model.lr' changed: 0.1 -> 0.25",
            "path": "model.lr",
            "old": 0.1,
            "new": 0.25,
        }
    ]
    assert r["prepare"] == []
    assert [x["code"] for x in r["evaluate"]] == ["upstream"]
    text = proj.ok("status", "--why").stdout
    assert "param 'model.lr' changed: 0.1 -> 0.25" in text
    # an untracked key changing is not a reason
    proj.params({"model": {"lr": 0.1, "layers": [16]}, "seed": 7})
    assert reasons(status_json(proj))["train"] == []


def test_param_type_change_is_a_change(proj: Proj) -> None:
    pipeline(proj)
    proj.ok("repro")
    proj.write("params.yaml", "model:\n  lr: 0.1\n  layers: [8, 4]\nseed: 7.0\n")
    r = reasons(status_json(proj))
    assert [(x["code"], x["path"], x["old"], x["new"]) for x in r["train"]] == [
        ("param-changed", "seed", 7, 7.0)
    ]


def test_command_changed(proj: Proj) -> None:
    pipeline(proj)
    proj.ok("repro")
    pipeline(proj, train_cmd_extra=" # v2")
    r = reasons(status_json(proj))
    assert [x["code"] for x in r["train"]] == ["cmd-changed"]
    assert r["train"][0]["new"].endswith("# v2")
    assert not r["train"][0]["old"].endswith("# v2")
    assert "command changed" in proj.ok("status", "--why").stdout


def test_output_missing_and_modified(proj: Proj) -> None:
    pipeline(proj)
    proj.ok("repro")
    os.unlink(proj.root / "model.bin")
    r = reasons(status_json(proj))
    assert r["train"] == [
        {"code": "out-missing", "message": "output 'model.bin' is missing", "path": "model.bin"}
    ]
    assert [x["code"] for x in r["evaluate"]] == ["dep-missing", "upstream"]
    proj.ok("checkout")
    up_to_date_except_clock(proj)

    recorded = proj.out_record("prepare", "prepared.txt")["digest"]
    proj.write("prepared.txt", "tampered\n")
    r = reasons(status_json(proj))
    assert [x["code"] for x in r["prepare"]] == ["out-modified"]
    assert r["prepare"][0]["old"] == recorded
    assert r["prepare"][0]["new"] != recorded
    # the consumer sees its dependency changed, and its producer will run
    assert [x["code"] for x in r["train"]] == ["dep-changed", "upstream"]
    assert "output 'prepared.txt' was modified" in proj.ok("status", "--why").stdout


def test_data_input_changed(proj: Proj) -> None:
    pipeline(proj)
    proj.ok("repro")
    recorded = proj.data_records()["raw/data.csv"]["digest"]
    proj.write("raw/data.csv", "a,b\n1,3\n")
    doc = status_json(proj)
    (data,) = doc["data"]
    assert data["path"] == "raw/data.csv" and data["state"] == "modified"
    assert data["old"] == recorded and data["new"] != recorded
    assert [x["code"] for x in reasons(doc)["train"]] == ["dep-changed"]
    assert reasons(doc)["train"][0]["path"] == "raw/data.csv"
    text = proj.fails("status", "--check", code=3).stdout
    assert "data:\n    modified: raw/data.csv" in text
    os.unlink(proj.root / "raw/data.csv")
    doc = status_json(proj)
    assert doc["data"][0]["state"] == "missing"
    assert [x["code"] for x in reasons(doc)["train"]] == ["dep-missing"]


def test_status_targets(proj: Proj) -> None:
    pipeline(proj)
    doc = status_json(proj, "train")
    assert [s["id"] for s in doc["stages"]] == ["prepare", "train"]
