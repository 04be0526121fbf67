"""What the use cases return is frozen (issue 16): every dataclass of ops, snapshot,
lineage, engine and dag, and the results of diff, metrics history and lineage read from
a real repository, whose renderings are those the CLI prints."""

from __future__ import annotations

import dataclasses
import importlib
import json
import pkgutil
from collections.abc import Iterator
from typing import Any

import pytest

from mlrepro.lineage.graph import ArtifactKind, NodeType, Relation, lineage, with_runs
from mlrepro.ops.diff import full_diff
from mlrepro.ops.history import metrics_history
from mlrepro.render import diff as render_diff
from mlrepro.render import history as render_history
from mlrepro.render import lineage as render_lineage
from mlrepro.snapshot.revisions import Revisions
from mlrepro.workspace.project import Project
from tests.ops.conftest import Proj

PACKAGES = ("ops", "snapshot", "lineage", "engine", "dag")
# working state, not results: the link types that failed here; the pipeline and work
# tree as a command goes (its lock replaced as stages finish)
MUTABLE = {"mlrepro.engine.artifacts.Linker", "mlrepro.dag.workstate.WorkState"}


def _dataclasses() -> Iterator[tuple[str, type]]:
    for package in PACKAGES:
        base = importlib.import_module(f"mlrepro.{package}")
        for info in pkgutil.iter_modules(base.__path__, f"{base.__name__}."):
            module = importlib.import_module(info.name)
            for name, value in vars(module).items():
                if (
                    isinstance(value, type)
                    and dataclasses.is_dataclass(value)
                    and value.__module__ == module.__name__
                    and not name.startswith("_")
                ):
                    yield f"{module.__name__}.{name}", value


def test_every_result_dataclass_is_frozen() -> None:
    found = dict(_dataclasses())
    assert "mlrepro.ops.diff.FullDiff" in found and "mlrepro.lineage.graph.Lineage" in found
    thawed = [
        name
        for name, cls in found.items()
        if name not in MUTABLE and not cls.__dataclass_params__.frozen  # type: ignore[attr-defined]
    ]
    assert thawed == []


@pytest.fixture
def revs(proj: Proj) -> Iterator[Revisions]:
    project = Project(str(proj.root))
    r = Revisions(str(proj.root), project.store)
    yield r
    r.close()
    project.close()


def _two_commits(proj: Proj) -> None:
    proj.params({"train": {"lr": 0.1}})
    proj.pipeline(
        {
            "train": {
                "cmd": proj.cmd(
                    ["param", "model/lr.json", "params.yaml", "train.lr"],
                    ["param", "m.json", "params.yaml", "train"],
                ),
                "params": ["train.lr"],
                "outs": ["model"],
                "metrics": [{"m.json": {"cache": False}}],
            }
        }
    )
    proj.ok("repro")
    proj.commit("one")
    proj.params({"train": {"lr": 0.2}})
    proj.ok("repro")
    proj.commit("two")


def _frozen(value: Any, field: str) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(value, field, ())


def test_a_full_diff_is_frozen_and_renders_as_the_cli_prints(proj: Proj, revs: Revisions) -> None:
    _two_commits(proj)
    d = full_diff(revs, revs.revision("HEAD~1"), revs.revision("HEAD"))
    _frozen(d, "params")
    assert all(isinstance(getattr(d, f), tuple) for f in ("params", "metrics", "data", "notes"))
    assert [(p.key, p.old, p.new) for p in d.params] == [("train.lr", 0.1, 0.2)]
    assert [(m.key, m.old, m.new) for m in d.metrics] == [("lr", 0.1, 0.2)]
    assert [(c.path, c.kind) for c in d.data] == [
        ("m.json", "modified"),
        ("model", "modified"),
        ("model/lr.json", "modified"),
    ]
    assert render_diff.to_json(d) + "\n" == proj.ok("diff", "HEAD~1", "HEAD", "--json").stdout


def test_metrics_history_is_frozen_and_renders_as_the_cli_prints(
    proj: Proj, revs: Revisions
) -> None:
    _two_commits(proj)
    h = metrics_history(revs)
    _frozen(h, "rows")
    assert h.columns == ("lr",) and h.notes == ()
    assert [r.values for r in h.rows] == [{"lr": 0.1}, {"lr": 0.2}]
    text = proj.ok("metrics", "history", "--json").stdout
    assert render_history.to_json(h) + "\n" == text


def test_a_lineage_is_frozen_and_typed(proj: Proj, revs: Revisions) -> None:
    _two_commits(proj)
    g = lineage(revs, revs.revision("HEAD"), "model/lr.json")
    _frozen(g, "edges")
    _frozen(next(iter(g.nodes.values())), "digest")
    assert {n.type for n in g.nodes.values()} == {NodeType.ARTIFACT, NodeType.STAGE}
    assert g.nodes["artifact:model/lr.json"].kind is ArtifactKind.PART
    assert ("stage:train", "artifact:model", Relation.PRODUCED) in g.edges
    joined = with_runs(g, [])
    assert joined.nodes["stage:train"].runs == () and g.nodes["stage:train"].runs is None
    doc = json.loads(render_lineage.to_json(joined))
    assert {e["relation"] for e in doc["edges"]} == {"produced", "part_of"}
    printed = json.loads(proj.ok("lineage", "model/lr.json", "--json").stdout)
    assert printed["edges"] == doc["edges"] and printed["notes"] == doc["notes"]
    # the CLI joins the audit log's runs in (this run key's: the second run)
    [stage] = [n for n in printed["nodes"] if n["type"] == "stage"]
    assert [r["action"] for r in stage["runs"]] == ["stage.run"]
