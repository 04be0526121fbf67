"""``mlrepro audit log`` through the real CLI: each filter option reaches the use case
(:mod:`mlrepro.ops.auditlog`) and the entries it keeps are printed as the renderer writes
them, text or JSON, with the warning of a log that does not verify on stderr."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlrepro.ops.auditlog import LogListing, audit_log
from mlrepro.render import audit as render
from mlrepro.workspace.project import Project
from tests.audit.test_recorder import tamper
from tests.ops.conftest import TOOL, Proj, make_repo
from tests.ops.test_auditlog import History, build_history


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> History:
    """Four entries (see ``build_history``), read only by the tests that share it."""
    base = tmp_path_factory.mktemp("cli-audit")
    tool = base / "tool.py"
    tool.write_text(TOOL, encoding="utf-8")
    return build_history(base, tool)


def listed(proj: Proj, **filters: str) -> LogListing:
    project = Project.find(str(proj.root))
    try:
        return audit_log(project, **filters)
    finally:
        project.close()


# options -> the use case's keywords, and the places of the entries they keep
CASES = [
    ([], {}, [4, 3, 2, 1]),
    (["--action", "add"], {"action": "add"}, [3]),
    (["--stage", "train"], {"stage": "train"}, [4, 2]),
    (["--commit", "v1"], {"commit": "v1"}, [3, 2, 1]),
    (["--commit", "HEAD", "--stage", "prepare"], {"commit": "HEAD", "stage": "prepare"}, []),
    (["--since", "2000-01-01"], {"since": "2000-01-01"}, [4, 3, 2, 1]),
    (["--since", "2999-01-01"], {"since": "2999-01-01"}, []),
    (["--actor", "MLREPRO TESTS"], {"actor": "MLREPRO TESTS"}, [4, 3, 2, 1]),
    (["--actor", "somebody else"], {"actor": "somebody else"}, []),
    (
        ["--action", "stage.run", "--stage", "train", "--commit", "v1"],
        {"action": "stage.run", "stage": "train", "commit": "v1"},
        [2],
    ),
]


@pytest.mark.parametrize(("options", "filters", "seqs"), CASES, ids=lambda c: str(c))
def test_log_filters_reach_the_use_case(
    history: History, options: list[str], filters: dict[str, str], seqs: list[int]
) -> None:
    proj = history.proj
    expected = listed(proj, **filters)
    assert [c.entry["seq"] for c in expected.entries] == seqs
    doc = json.loads(proj.ok("audit", "log", "--json", *options).stdout)
    assert doc["version"] == render.AUDIT_LOG_JSON_VERSION
    assert [e["id"] for e in doc["entries"]] == [c.id for c in expected.entries]
    assert all(e["verified"] for e in doc["entries"])
    text = proj.ok("audit", "log", *options)
    assert text.stdout == "".join(render.log_line(c) + "\n" for c in expected.entries)
    assert text.stderr == ""


def test_log_from_a_subfolder_and_with_a_commit_id_prefix(history: History) -> None:
    proj = history.proj
    (proj.root / "raw").mkdir(exist_ok=True)
    proc = proj.ok("audit", "log", "--commit", history.first[:10], cwd=proj.root / "raw")
    assert [line.split()[0] for line in proc.stdout.splitlines()] == ["#3", "#2", "#1"]


def test_a_log_that_does_not_verify_is_listed_with_a_warning(tmp_path: Path) -> None:
    tool = tmp_path / "tool.py"
    tool.write_text(TOOL, encoding="utf-8")
    proj = make_repo(tmp_path / "repo", tool, tmp_path / "outside")
    proj.params({"lr": 0.1})
    proj.pipeline(
        {
            "train": {
                "cmd": proj.cmd(["param", "model.json", "params.yaml", "lr"]),
                "params": ["lr"],
                "outs": ["model.json"],
            }
        }
    )
    proj.commit("pipeline")
    proj.ok("repro")
    proj.params({"lr": 0.3})
    proj.ok("repro")
    tamper(proj, lambda b: b.replace(b'"lr":0.3', b'"lr":0.25'))
    listing = listed(proj)
    assert not listing.report.ok
    proc = proj.ok("audit", "log")  # listing a broken log is not an error
    assert proc.stdout == "".join(render.log_line(c) + "\n" for c in listing.entries)
    assert "[BROKEN: " in proc.stdout.splitlines()[0]
    assert proc.stderr == render.log_warning(listing.report) + "\n"
    # the warning is about the whole log, whatever the filters keep
    only_first = proj.ok("audit", "log", "--since", "2999-01-01")
    assert only_first.stdout == "" and only_first.stderr == proc.stderr
    doc = json.loads(proj.ok("audit", "log", "--json").stdout)
    assert [e["verified"] for e in doc["entries"]] == [False, True]
