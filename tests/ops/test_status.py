"""``status --why`` and ``status --json``: every reason a stage must run, named precisely."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

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


def by_id(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["id"]: s for s in doc["stages"]}


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


@pytest.mark.slow
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
    # downstream stages run only if their upstream writes different bytes (issue 14)
    assert r["train"] == [
        {
            "code": "upstream-bytes",
            "message": "will run if upstream stage 'prepare' produces different bytes",
            "path": "prepare",
        }
    ]
    assert [x["code"] for x in r["evaluate"]] == ["upstream-bytes"]
    assert r["evaluate"][0]["path"] == "train"
    assert by_id(doc)["evaluate"]["conditional_on"] == ["train"]
    assert by_id(doc)["prepare"]["conditional_on"] == []
    # a frozen stage is never reported, even though its dependency changed
    assert r["frozen_one"] == []
    text = proj.fails("status", "--why", "--check", code=3).stdout
    assert "prepare:\n    dependency 'src.txt' changed (xxh3-128:" in text
    assert "train:\n    will run if upstream stage 'prepare' produces different bytes" in text
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
    assert [x["code"] for x in r["evaluate"]] == ["upstream-bytes"]
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
    # train's output comes back from the cache as recorded: nothing for evaluate to do
    assert r["evaluate"] == []
    assert by_id(status_json(proj))["train"]["restore"] is True
    proj.ok("checkout")
    up_to_date_except_clock(proj)

    recorded = proj.out_record("prepare", "prepared.txt")["digest"]
    proj.write("prepared.txt", "tampered\n")
    r = reasons(status_json(proj))
    assert [x["code"] for x in r["prepare"]] == ["out-modified"]
    assert r["prepare"][0]["old"] == recorded
    assert r["prepare"][0]["new"] != recorded
    # the consumer sees its dependency changed, but its producer's recorded bytes come
    # back from the cache first: the consumer is then up to date, as repro finds
    assert r["train"] == []
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


def ran_in(proc_stdout: str) -> set[str]:
    return {
        line.split("'")[1] for line in proc_stdout.splitlines() if line.startswith("Running stage")
    }


def two(proj: Proj, a_cmd_extra: str = "", a_copies: int = 1) -> None:
    """a: src.txt -> mid.txt (``a_copies`` copies of it); b: mid.txt -> out.txt."""
    log = str(proj.ext("runs.log"))
    proj.write("src.txt", "source\n")
    proj.pipeline(
        {
            "a": {
                "cmd": proj.cmd(["log", log, "a"], ["cat", "mid.txt", *["src.txt"] * a_copies])
                + a_cmd_extra,
                "deps": ["src.txt"],
                "outs": ["mid.txt"],
            },
            "b": {
                "cmd": proj.cmd(["log", log, "b"], ["cat", "out.txt", "mid.txt"]),
                "deps": ["mid.txt"],
                "outs": ["out.txt"],
            },
        }
    )


@pytest.mark.slow
def test_status_and_repro_agree_when_upstream_rewrites_the_same_bytes(proj: Proj) -> None:
    """Issue 14: an input that an upstream stage will write again is no promise of a run;
    status says the stage runs only if the upstream writes different bytes, and repro
    (which judges after the upstream ran) agrees either way."""
    two(proj)
    proj.ok("repro")
    two(proj, a_cmd_extra=" # v2")  # a must run; it writes the same bytes
    doc = status_json(proj)
    assert codes(doc)["a"] == ["cmd-changed"] and by_id(doc)["a"]["restore"] is False
    assert codes(doc)["b"] == ["upstream-bytes"]
    assert by_id(doc)["b"]["conditional_on"] == ["a"]
    text = proj.ok("status").stdout
    assert "b: will run if upstream stage 'a' produces different bytes" in text
    dry = proj.ok("repro", "--dry").stdout
    assert "would run 'a': command changed" in dry
    assert "would run 'b' if 'a' produces different bytes\n" in dry
    assert ran_in(proj.ok("repro").stdout) == {"a"}  # the same bytes came back
    assert (proj.runs("a"), proj.runs("b")) == (2, 1)

    two(proj, a_cmd_extra=" # v3", a_copies=2)  # a writes other bytes this time
    assert by_id(status_json(proj))["b"]["conditional_on"] == ["a"]
    assert ran_in(proj.ok("repro").stdout) == {"a", "b"}
    assert (proj.runs("a"), proj.runs("b")) == (3, 2)


@pytest.mark.slow
def test_status_knows_the_bytes_a_restored_upstream_brings_back(proj: Proj) -> None:
    """A param changed and changed back: the upstream comes back from the run-cache, so
    its bytes are known, and the downstream stage is restored too (not 'will run')."""
    log = str(proj.ext("runs.log"))
    proj.params({"p": 1})
    proj.pipeline(
        {
            "a": {
                "cmd": proj.cmd(["log", log, "a"], ["param", "a.txt", "params.yaml", "p"]),
                "params": ["p"],
                "outs": ["a.txt"],
            },
            "b": {
                "cmd": proj.cmd(["log", log, "b"], ["cat", "b.txt", "a.txt"]),
                "deps": ["a.txt"],
                "outs": ["b.txt"],
            },
        }
    )
    proj.ok("repro")
    proj.params({"p": 2})
    proj.ok("repro")
    proj.params({"p": 1})
    doc = status_json(proj)
    assert by_id(doc)["a"]["restore"] is True
    assert by_id(doc)["b"]["restore"] is True and by_id(doc)["b"]["conditional_on"] == []
    assert "b: dependency 'a.txt' changed" in proj.ok("status").stdout
    assert "Done: 0 ran, 2 restored" in proj.ok("repro").stdout
    assert (proj.runs("a"), proj.runs("b")) == (2, 2)


def test_status_promises_a_run_when_the_record_disagrees(proj: Proj) -> None:
    """A consumer whose record names other bytes than its producer's record will run
    whatever the producer writes again: no condition is given."""
    pipeline(proj)
    proj.ok("repro")
    proj.write("src.txt", "source v2\n")
    proj.ok("repro", "prepare")  # prepare's record moves on; train's still names v1's bytes
    os.unlink(proj.root / "prepared.txt")
    doc = status_json(proj)
    assert by_id(doc)["prepare"]["restore"] is True  # its block, from the cache
    assert codes(doc)["train"] == ["dep-missing"]
    assert by_id(doc)["train"]["conditional_on"] == []
    assert by_id(doc)["train"]["restore"] is False
    out = proj.ok("repro").stdout
    assert "Stage 'prepare' restored from the run-cache" in out
    assert "train" in ran_in(out)


def test_a_folder_holding_an_upstream_output_is_no_condition(proj: Proj) -> None:
    """A dependency on a folder that holds an upstream output and other files changes with
    those files too: status promises the run (the reviewer's case)."""
    log = str(proj.ext("runs.log"))
    proj.write("src.txt", "s\n")
    proj.write("data/raw.txt", "raw\n")
    proj.pipeline(
        {
            "a": {
                "cmd": proj.cmd(["log", log, "a"], ["cat", "data/a.txt", "src.txt"]),
                "deps": ["src.txt"],
                "outs": ["data/a.txt"],
            },
            "b": {
                "cmd": proj.cmd(["log", log, "b"], ["write", "b.txt", "b"]),
                "deps": ["data"],
                "outs": ["b.txt"],
            },
        }
    )
    proj.ok("repro")
    proj.write("src.txt", "s\n ")
    proj.write("data/raw.txt", "raw v2\n")
    doc = status_json(proj)
    assert by_id(doc)["b"]["conditional_on"] == []
    assert "dep-changed" in codes(doc)["b"]
    assert "b" in ran_in(proj.ok("repro").stdout)


def test_a_changed_section_reads_in_the_files_key_order(proj: Proj) -> None:
    """Issue 14: the lock keeps keys sorted, but the message shows the old value in the
    params file's order, beside the new one."""
    proj.write("params.yaml", "train:\n  seed: 1\n  n_est: 50\n  min_split: 0.01\n")
    proj.pipeline(
        {
            "train": {
                "cmd": proj.cmd(["write", "m.txt", "m"]),
                "params": ["train"],
                "outs": ["m.txt"],
            }
        }
    )
    proj.ok("repro")
    proj.write("params.yaml", "train:\n  seed: 1\n  n_est: 60\n  min_split: 0.01\n")
    text = proj.ok("status", "--why").stdout
    assert (
        "param 'train' changed: {'seed': 1, 'n_est': 50, 'min_split': 0.01} -> "
        "{'seed': 1, 'n_est': 60, 'min_split': 0.01}"
    ) in text


# -- objects the cache lost (issue 15) -----------------------------------------------


def lose(proj: Proj, digest: str) -> None:
    path = proj.object_path(digest)
    os.chmod(path, 0o644)
    path.unlink()


@pytest.mark.slow
def test_an_up_to_date_output_whose_object_is_gone_is_not_silently_up_to_date(
    proj: Proj,
) -> None:
    proj.pipeline(
        {
            "train": {
                "cmd": proj.cmd(["write", "model.pkl", "weights"], ["mkfiles", "feats", "3", "t"]),
                "outs": ["model.pkl", "feats"],
            }
        }
    )
    proj.ok("repro")
    model = proj.out_record("train", "model.pkl")["digest"]
    tree = proj.out_record("train", "feats")["digest"]
    lose(proj, model)
    lose(proj, tree)
    text = proj.ok("status").stdout
    assert text.splitlines() == [
        "cache:",
        "    missing: feats (stage 'train'): `mlrepro repro` caches it again",
        "    missing: model.pkl (stage 'train'): `mlrepro repro` caches it again",
    ]
    # nothing is out of date: repro would run nothing, so --check passes (exit 0)
    proj.ok("status", "--check")
    doc = status_json(proj)
    assert doc["changed"] is False
    assert doc["cache"] == [
        {"path": "feats", "stage": "train", "object": tree, "state": "missing", "fix": "repro"},
        {
            "path": "model.pkl",
            "stage": "train",
            "object": model,
            "state": "missing",
            "fix": "repro",
        },
    ]
    # what status promised: repro runs nothing and caches both again
    assert "train" not in ran_in(proj.ok("repro").stdout)
    assert proj.object_path(model).exists() and proj.object_path(tree).exists()
    assert proj.ok("status").stdout.strip() == "Everything is up to date."
    assert status_json(proj)["cache"] == []


@pytest.mark.slow
def test_lost_data_and_frozen_outputs_name_what_brings_them_back(proj: Proj) -> None:
    proj.write("raw.csv", "1,2\n")
    proj.write("notes.txt", "by hand\n")
    proj.pipeline(
        {
            "prep": {
                "cmd": proj.cmd(["cat", "prep.txt", "raw.csv", "raw.csv"]),
                "deps": ["raw.csv"],
                "outs": ["prep.txt"],
            },
            "old": {"cmd": proj.cmd(["write", "old.txt", "kept"]), "outs": ["old.txt"]},
        }
    )
    proj.ok("repro")
    proj.ok("add", "notes.txt")
    proj.pipeline(
        {
            "prep": {
                "cmd": proj.cmd(["cat", "prep.txt", "raw.csv", "raw.csv"]),
                "deps": ["raw.csv"],
                "outs": ["prep.txt"],
            },
            "old": {
                "cmd": proj.cmd(["write", "old.txt", "kept"]),
                "outs": ["old.txt"],
                "frozen": True,
            },
        }
    )
    for digest in (
        proj.data_records()["raw.csv"]["digest"],
        proj.data_records()["notes.txt"]["digest"],
        proj.out_record("old", "old.txt")["digest"],
    ):
        lose(proj, digest)
    lines = proj.ok("status").stdout.splitlines()
    assert lines == [
        "cache:",
        "    missing: notes.txt (data): `mlrepro add notes.txt` caches it again",
        "    missing: old.txt (stage 'old'): `mlrepro cache verify --repair` caches it again",
        "    missing: raw.csv (data): `mlrepro repro` caches it again",
    ]
    # each way out does what it says
    proj.ok("repro")
    proj.ok("add", "notes.txt")
    assert [g["path"] for g in status_json(proj)["cache"]] == ["old.txt"]
    proj.ok("cache", "verify", "--repair")
    assert status_json(proj)["cache"] == []
    # a frozen output gone from the workspace too: only a remote has it
    lose(proj, proj.out_record("old", "old.txt")["digest"])
    os.unlink(proj.root / "old.txt")
    [gap] = status_json(proj)["cache"]
    assert gap["fix"] == "pull"


def test_status_only_looks_whether_objects_exist(proj: Proj) -> None:
    """A corrupt object is `cache verify`'s to find: status never re-hashes the cache,
    and a stage whose outputs are rewritten anyway is not reported."""
    proj.params({"n": 1})
    proj.pipeline(
        {
            "a": {"cmd": proj.cmd(["write", "a.txt", "aaa"]), "outs": ["a.txt"]},
            "b": {
                "cmd": proj.cmd(["param", "b.txt", "params.yaml", "n"]),
                "params": ["n"],
                "outs": ["b.txt"],
            },
        }
    )
    proj.ok("repro")
    obj = proj.object_path(proj.out_record("a", "a.txt")["digest"])
    os.chmod(obj, 0o644)
    obj.write_bytes(b"tampered")
    lose(proj, proj.out_record("b", "b.txt")["digest"])
    proj.params({"n": 2})  # b runs again: its lost object does not matter
    doc = status_json(proj)
    assert doc["cache"] == []
    assert codes(doc) == {"a": [], "b": ["param-changed"]}
    proj.fails("cache", "verify")
