"""The reasons and states of stages and data inputs: typed codes that equal the strings
``status --json`` writes, a message for every code, and frozen values."""

from __future__ import annotations

import dataclasses
import json

import pytest

from mlrepro.dag.reasons import DataState, DataStatus, Reason, ReasonCode, StageStatus
from tests.ops.conftest import Proj

CODES = [
    "never-run",
    "cmd-changed",
    "always-changed",
    "no-deps",
    "forced",
    "upstream",
    "upstream-bytes",
    "dep-changed",
    "dep-missing",
    "dep-added",
    "dep-removed",
    "param-changed",
    "param-added",
    "param-removed",
    "out-missing",
    "out-modified",
    "out-added",
]


def test_reason_codes_are_the_strings_status_json_writes() -> None:
    assert [c.value for c in ReasonCode] == CODES
    assert all(ReasonCode(c) == c for c in CODES)


@pytest.mark.parametrize("code", list(ReasonCode))
def test_every_code_has_a_message(code: ReasonCode) -> None:
    text = Reason(code, "p", "xxh3-128:" + "a" * 32, "xxh3-128:" + "b" * 32).describe()
    assert text and "{" not in text


def test_reasons_describe_and_serialise_as_before() -> None:
    r = Reason(ReasonCode.DEP_CHANGED, "data.csv", "xxh3-128:" + "1" * 32, "xxh3-128:" + "2" * 32)
    assert r.describe() == "dependency 'data.csv' changed (xxh3-128:11111111 -> xxh3-128:22222222)"
    doc = json.loads(json.dumps(r.to_json()))
    assert doc["code"] == "dep-changed" and type(r.to_json()["code"]) is str
    assert Reason(ReasonCode.PARAM_ADDED, "lr", None, 0.1).describe() == "param 'lr' added: 0.1"


def test_data_states_are_the_strings_status_json_writes() -> None:
    assert [s.value for s in DataState] == ["new", "modified", "missing", "unchanged"]


def test_plan_values_are_frozen() -> None:
    reason = Reason(ReasonCode.FORCED)
    status = StageStatus("train", False, (reason,))
    data = DataStatus("raw.csv", DataState.NEW, None, "xxh3-128:" + "0" * 32)
    for value, field in ((reason, "code"), (status, "reasons"), (data, "state")):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(value, field, None)


def test_status_json_holds_the_codes_and_states_as_plain_strings(proj: Proj) -> None:
    proj.write("raw.csv", "1\n")
    proj.ok("add", "raw.csv")
    proj.write("raw.csv", "2\n")
    proj.pipeline({"train": {"cmd": proj.cmd(["write", "m.txt", "m"]), "outs": ["m.txt"]}})
    doc = json.loads(proj.ok("status", "--json").stdout)
    [stage] = doc["stages"]
    assert [r["code"] for r in stage["reasons"]] == ["never-run"]
    assert [(d["path"], d["state"]) for d in doc["data"]] == [("raw.csv", "modified")]
