"""``mlrepro diff`` on real multi-commit repositories: params, metrics, data and stages."""

from __future__ import annotations

import json

import pytest

from tests.ops.conftest import Proj


def project(proj: Proj, *, lr: float = 0.1, extra_stage: bool = False) -> None:
    proj.params({"lr": lr, "depth": 3})
    stages = {
        "train": {
            "cmd": proj.cmd(
                ["mkfiles", "feats", "3000", "x"],
                ["param", "feats/d3/lr.json", "params.yaml", "lr"],
                ["param", "metrics.json", "params.yaml", "lr"],
            ),
            "params": ["lr"],
            "outs": ["feats"],
            "metrics": ["metrics.json"],
        }
    }
    if extra_stage:
        stages["report"] = {"cmd": proj.cmd(["write", "report.txt", "r"]), "outs": ["report.txt"]}
    proj.pipeline(stages)


def history(proj: Proj) -> None:
    project(proj, lr=0.1)
    proj.ok("repro")
    proj.commit("lr 0.1")
    project(proj, lr=0.25, extra_stage=True)
    proj.ok("repro")
    proj.commit("lr 0.25 and a report")


def diff_json(proj: Proj, *args: str) -> dict:  # type: ignore[type-arg]
    return json.loads(proj.ok("diff", *args, "--json").stdout)  # type: ignore[no-any-return]


def test_two_commits_params_metrics_data_and_stages(proj: Proj) -> None:
    history(proj)
    doc = diff_json(proj, "HEAD~1", "HEAD")
    assert doc["version"] == 1
    assert doc["old"]["rev"] == "HEAD~1" and len(doc["old"]["commit"]) == 40
    assert doc["params"] == [{"path": "params.yaml", "key": "lr", "old": 0.1, "new": 0.25}]
    [metric] = doc["metrics"]
    assert (metric["path"], metric["key"], metric["old"], metric["new"]) == (
        "metrics.json",
        "",
        0.1,
        0.25,
    )
    assert metric["change"] == 0.25 - 0.1
    assert abs(metric["relative"] - 1.5) < 1e-12
    data = {(c["path"], c["change"]) for c in doc["data"]}
    assert data == {
        ("feats", "modified"),
        ("feats/d3/lr.json", "modified"),
        ("metrics.json", "modified"),
        ("report.txt", "added"),
    }
    folder = next(c for c in doc["data"] if c["path"] == "feats")
    assert folder["new"]["nfiles"] == 3001 and folder["new"]["sha256"].startswith("sha256:")
    assert [(s["stage"], s["change"]) for s in doc["stages"]] == [("report", "added")]
    assert doc["notes"] == []


@pytest.mark.slow
def test_workspace_is_the_default_new_side(proj: Proj) -> None:
    history(proj)
    proj.params({"lr": 0.5, "depth": 4})
    doc = diff_json(proj)
    assert doc["new"] == {"rev": "workspace", "commit": None}
    assert {(p["key"], p["old"], p["new"]) for p in doc["params"]} == {
        ("lr", 0.25, 0.5),
        ("depth", 3, 4),
    }
    assert doc["data"] == [] and doc["metrics"] == [] and doc["stages"] == []
    (proj.root / "feats/d1/f1.txt").write_text("hand edit\n")
    doc = diff_json(proj, "--targets", "feats")
    assert doc["params"] == []
    assert {(c["path"], c["change"]) for c in doc["data"]} == {
        ("feats", "modified"),
        ("feats/d1/f1.txt", "modified"),
    }


@pytest.mark.slow
def test_text_and_markdown(proj: Proj) -> None:
    history(proj)
    text = proj.ok("diff", "HEAD~1", "HEAD").stdout
    header = "Path          Metric    HEAD~1    HEAD    Change    Relative"
    assert text.startswith(f"Metrics:\n{header}\n")
    assert "Stages:\n" in text and "report" in text
    md = proj.ok("diff", "HEAD~1", "HEAD", "--md").stdout
    assert md.startswith("### mlrepro diff: `HEAD~1` → `HEAD`\n")
    assert "#### Metrics\n\n| Path         | Metric   | HEAD~1   | HEAD   |" in md
    assert "| feats/           | modified | 16.5 KiB (3001 files) |" in md, md
    assert "\n\n\n" not in md
    same = proj.ok("diff", "HEAD", "HEAD").stdout
    assert same == "No differences between HEAD and HEAD.\n"


def test_missing_or_malformed_metrics_at_a_revision_is_a_note(proj: Proj) -> None:
    proj.params({"lr": 0.1})
    proj.pipeline(
        {"m": {"cmd": "true", "params": ["lr"], "metrics": [{"m.json": {"cache": False}}]}}
    )
    proj.write("m.json", '{"acc": 0.5')  # malformed at the first commit
    proj.commit("broken metrics")
    proj.write("m.json", '{"acc": 0.7}')
    proj.commit("fixed metrics")
    doc = diff_json(proj, "HEAD~1", "HEAD")
    assert [(m["key"], m["old"], m["new"]) for m in doc["metrics"]] == [("acc", None, 0.7)]
    assert len(doc["notes"]) == 1
    assert doc["notes"][0].startswith("m.json at HEAD~1: line 1: invalid JSON")
    text = proj.ok("diff", "HEAD~1", "HEAD").stdout
    assert "note: m.json at HEAD~1: line 1: invalid JSON" in text


@pytest.mark.slow
def test_a_merge_commit_against_its_parents(proj: Proj) -> None:
    project(proj, lr=0.1)
    proj.ok("repro")
    proj.commit("base")
    proj.git("checkout", "-q", "-b", "side")
    project(proj, lr=0.3)
    proj.ok("repro")
    proj.commit("side: lr 0.3")
    proj.git("checkout", "-q", "main")
    proj.write("notes.txt", "unrelated\n")
    proj.commit("main: notes")
    proj.git("merge", "-q", "--no-ff", "side", "-m", "merge side")
    proj.ok("checkout")
    first = diff_json(proj, "HEAD^1", "HEAD")
    assert [(p["old"], p["new"]) for p in first["params"]] == [(0.1, 0.3)]
    second = diff_json(proj, "HEAD^2", "HEAD")
    assert second["params"] == [] and second["data"] == []


def test_unknown_revision(proj: Proj) -> None:
    proc = proj.fails("diff", "nope", "HEAD")
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: unknown revision 'nope'")
    assert proc.stdout == ""


def test_metrics_paths_outside_the_repository_are_never_read(proj: Proj) -> None:
    secret = proj.root.parent / "secret.json"
    secret.write_text('{"password_length": 42}')
    proj.pipeline(
        {"m": {"cmd": "true", "metrics": [{"../secret.json": {"cache": False}}]}},
    )
    proc = proj.ok("metrics", "show", "--json")
    assert "42" not in proc.stdout
    assert "outside the repository" in proc.stderr
    assert "42" not in proj.ok("metrics", "show", "../secret.json").stdout
