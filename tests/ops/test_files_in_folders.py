"""Metrics and params files inside a tracked output folder, read at every revision (issue 14).

DVC's tutorial writes ``eval/metrics.json`` inside the cached output ``eval``: git holds
neither, so at a past commit the file is found through the folder's recorded tree object.
"""

from __future__ import annotations

import json
import os
from typing import Any

from tests.ops.conftest import Proj


def folder_pipeline(proj: Proj) -> list[str]:
    """Two commits whose stage wrote its metrics and params inside the folder ``eval``;
    returns the two commit ids, oldest first."""
    proj.params({"model": {"lr": 0.1, "depth": 3}})
    proj.pipeline(
        {
            "train": {
                "cmd": proj.cmd(
                    ["param", "eval/metrics.json", "params.yaml", "model"],
                    ["param", "eval/used/params.yaml", "params.yaml", "model"],
                    ["write", "eval/plots/curve.csv", "x,y\n0,1\n"],
                ),
                "params": ["model.lr"],
                "outs": ["eval"],
            }
        },
        metrics=["eval/metrics.json"],
        params=["eval/used/params.yaml"],
    )
    commits = []
    for lr in (0.1, 0.25):
        proj.params({"model": {"lr": lr, "depth": 3}})
        proj.ok("repro")
        proj.commit(f"lr {lr}")
        commits.append(proj.git("rev-parse", "HEAD").strip())
    return commits


def as_json(proj: Proj, *args: str) -> Any:
    return json.loads(proj.ok(*args, "--json").stdout)


def test_metrics_diff_and_show_read_inside_the_folder_at_commits(proj: Proj) -> None:
    old, new = folder_pipeline(proj)
    diff = as_json(proj, "metrics", "diff", old, new)
    assert diff["eval/metrics.json"]["lr"] == {"old": 0.1, "new": 0.25, "diff": 0.15}
    assert "depth" not in diff["eval/metrics.json"]  # unchanged: not a difference
    shown = as_json(proj, "metrics", "show", "-A")
    for commit, lr in ((old, 0.1), (new, 0.25)):
        data = shown[commit]["data"]["eval/metrics.json"]["data"]
        assert data == {"lr": lr, "depth": 3}, shown[commit]
    text = proj.ok("metrics", "diff", old, new).stdout
    assert "eval/metrics.json" in text and "0.25" in text and "0.1" in text


def test_params_diff_reads_a_params_file_inside_the_folder(proj: Proj) -> None:
    old, new = folder_pipeline(proj)
    diff = as_json(proj, "params", "diff", old, new)
    change = diff["eval/used/params.yaml"]["lr"]
    assert (change["old"], change["new"]) == (0.1, 0.25)


def test_diff_and_history_show_both_commits(proj: Proj) -> None:
    old, new = folder_pipeline(proj)
    doc = as_json(proj, "diff", old, new)
    (metric,) = [m for m in doc["metrics"] if m["key"] == "lr"]
    assert (metric["path"], metric["old"], metric["new"]) == ("eval/metrics.json", 0.1, 0.25)
    md = proj.ok("diff", old, new, "--md").stdout
    assert "eval/metrics.json" in md and "0.25" in md
    text = proj.ok("metrics", "history").stdout
    assert "0.25" in text and "0.1" in text
    assert "No metrics" not in text


def test_a_folder_missing_from_the_cache_is_named(proj: Proj) -> None:
    """Nothing made up when the tree object is gone: the file is reported unreadable at
    that commit, and the other commit still reads."""
    old, new = folder_pipeline(proj)
    tree = proj.locked_stages()["train"]["outs"][0]["digest"]
    path = proj.object_path(tree)
    os.chmod(path.parent, 0o755)
    path.unlink()  # the newest commit's tree object
    shown = json.loads(proj.mlrepro("metrics", "show", "-A", "--json").stdout)
    assert shown[old]["data"]["eval/metrics.json"]["data"]["lr"] == 0.1
    assert "error" in json.dumps(shown[new])
