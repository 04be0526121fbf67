"""The audit log as a Parquet table (mlrepro.audit.parquet), written from entries made
here and read back with pyarrow: the columns the module promises, how each entry is
flattened, and that the canonical entry survives whole. (The CLI export of a real log
is tests/audit/test_export.py.)"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import given, settings
from hypothesis import strategies as st

from mlrepro.audit.parquet import write

COLUMNS = [
    *("id", "seq", "prev", "time", "action", "stage", "status", "exit_status"),
    *("duration_s", "run_key", "git_name", "git_email", "os_user", "host", "git_commit"),
    *("git_branch", "git_dirty", "python", "platform", "packages_sha256", "packages"),
    *("inputs", "outputs", "params_json", "entry_json"),
]


def run_entry(seq: int = 2) -> dict[str, Any]:
    return {
        "seq": seq,
        "prev": ["p" * 64],
        "time": "2024-05-06T07:08:09.123456Z",
        "action": "stage.run",
        "host": "build-1",
        "actor": {"git_name": "Ada", "git_email": "ada@example.org", "os_user": "ada"},
        "git": {"commit": "c" * 40, "branch": "main", "dirty": True},
        "env": {
            "python": "3.11.9",
            "platform": "linux",
            "packages_sha256": "s" * 64,
            "packages": ["numpy==2.0.0", "pyyaml==6.0"],
        },
        "details": {
            "stage": "train",
            "status": "failed",
            "exit_status": 3,
            "duration": 1.25,
            "run_key": "k" * 64,
            "deps": [
                {"path": "data.csv", "digest": "xxh3-128:" + "1" * 32, "sha256": None, "size": 9}
            ],
            "outs": [
                {
                    "path": "model.bin",
                    "digest": "xxh3-128:" + "2" * 32,
                    "sha256": "sha256:" + "3" * 64,
                    "size": 2**40,
                    "nfiles": 1,  # not a column of the artifact struct
                }
            ],
            "params": {"params.yaml": {"lr": 0.5, "name": "é"}},
        },
    }


def read(path: Path) -> pa.Table:
    return pq.read_table(path)


def test_the_columns_and_their_types(tmp_path: Path) -> None:
    out = tmp_path / "a.parquet"
    assert write([("i" * 64, run_entry())], str(out)) == 1
    table = read(out)
    assert table.schema.names == COLUMNS
    types = {f.name: str(f.type) for f in table.schema}
    assert types["time"] == "timestamp[us, tz=UTC]"
    assert types["seq"] == types["exit_status"] == "int64"
    assert types["git_dirty"] == "bool" and types["duration_s"] == "double"
    assert types["prev"] == types["packages"] == "list<element: string>"
    assert types["outputs"] == (
        "list<element: struct<path: string, digest: string, sha256: string, size: int64>>"
    )


def test_a_run_entry_is_flattened_into_its_row(tmp_path: Path) -> None:
    entry = run_entry()
    out = tmp_path / "a.parquet"
    write([("i" * 64, entry)], str(out))
    [row] = read(out).to_pylist()
    assert row["id"] == "i" * 64 and row["seq"] == 2 and row["prev"] == ["p" * 64]
    assert row["time"] == dt.datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=dt.UTC)
    assert (row["action"], row["stage"], row["status"]) == ("stage.run", "train", "failed")
    assert (row["exit_status"], row["duration_s"], row["run_key"]) == (3, 1.25, "k" * 64)
    assert (row["git_name"], row["git_email"], row["os_user"], row["host"]) == (
        "Ada",
        "ada@example.org",
        "ada",
        "build-1",
    )
    assert (row["git_commit"], row["git_branch"], row["git_dirty"]) == ("c" * 40, "main", True)
    assert row["packages"] == ["numpy==2.0.0", "pyyaml==6.0"]
    assert row["inputs"] == [
        {"path": "data.csv", "digest": "xxh3-128:" + "1" * 32, "sha256": None, "size": 9}
    ]
    assert row["outputs"] == [
        {
            "path": "model.bin",
            "digest": "xxh3-128:" + "2" * 32,
            "sha256": "sha256:" + "3" * 64,
            "size": 2**40,
        }
    ]
    assert json.loads(row["params_json"]) == {"params.yaml": {"lr": 0.5, "name": "é"}}
    # nothing is lost: the whole entry, canonical (sorted keys, compact)
    assert json.loads(row["entry_json"]) == entry
    assert row["entry_json"] == json.dumps(
        entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )


def test_an_add_entry_lists_its_artifact_as_the_output(tmp_path: Path) -> None:
    artifact = {"path": "raw", "digest": "xxh3-128:" + "4" * 32, "sha256": "sha256:x", "size": 1}
    entry = {
        "seq": 1,
        "prev": [],
        "time": "2024-01-01T00:00:00.000000Z",
        "action": "data.add",
        "details": {"artifact": artifact},
    }
    out = tmp_path / "a.parquet"
    write([("e" * 64, entry)], str(out))
    [row] = read(out).to_pylist()
    assert row["outputs"] == [artifact] and row["inputs"] == []
    # what the entry does not hold is null, not a made-up value
    for column in ("stage", "status", "exit_status", "run_key", "git_name", "git_dirty", "host"):
        assert row[column] is None, column
    assert row["params_json"] is None and row["packages"] == [] and row["prev"] == []


def test_params_present_but_empty_are_not_null(tmp_path: Path) -> None:
    entry = run_entry()
    entry["details"]["params"] = {}
    out = tmp_path / "a.parquet"
    write([("i" * 64, entry)], str(out))
    assert read(out).to_pylist()[0]["params_json"] == "{}"


def test_rows_keep_the_order_given_and_an_empty_log_is_an_empty_table(tmp_path: Path) -> None:
    out = tmp_path / "a.parquet"
    entries = [(f"{i:064x}", run_entry(seq=i)) for i in (3, 1, 2)]
    assert write(entries, str(out)) == 3
    assert read(out).column("seq").to_pylist() == [3, 1, 2]
    assert write([], str(out)) == 0  # replaces the file whole
    table = read(out)
    assert table.num_rows == 0 and table.schema.names == COLUMNS


TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=10)


@settings(max_examples=25)
@given(
    stage=TEXT,
    params=st.dictionaries(TEXT, st.integers() | TEXT | st.none(), max_size=3),
    micros=st.integers(0, 999_999),
)
def test_any_text_survives_the_round_trip(
    tmp_path_factory: Any, stage: str, params: dict[str, Any], micros: int
) -> None:
    entry = run_entry()
    entry["details"]["stage"] = stage
    entry["details"]["params"] = {"p.yaml": params}
    entry["time"] = f"2030-12-31T23:59:59.{micros:06d}Z"
    out = tmp_path_factory.mktemp("pq") / "a.parquet"
    write([("i" * 64, entry)], str(out))
    [row] = read(out).to_pylist()
    assert row["stage"] == stage
    assert json.loads(row["params_json"]) == {"p.yaml": params}
    assert json.loads(row["entry_json"]) == entry
    assert row["time"].microsecond == micros
