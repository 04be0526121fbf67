"""The ``audit log`` query as a use case: a real audit log (written by the real CLI in a
real git repository) read in-process through :func:`mlrepro.ops.auditlog.audit_log`."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mlrepro.ops.auditlog import LogFilter, LogListing, audit_log
from mlrepro.workspace.project import Project
from tests.audit.test_recorder import tamper
from tests.ops.conftest import Proj, make_repo


@dataclass(frozen=True)
class History:
    proj: Proj
    first: str  # the commit the first repro and `add` ran on (tagged v1)
    between: str  # a commit on which nothing was recorded


def head(proj: Proj) -> str:
    return proj.git("rev-parse", "HEAD").strip()


def build_history(base: Path, tool: Path) -> History:
    """Two stages run on v1, data added there, committed, then `train` run again two
    commits later (on HEAD): four entries."""
    proj = make_repo(base / "repo", tool, base / "outside")
    proj.params({"a": 1, "b": 1})
    proj.pipeline(
        {
            "prepare": {
                "cmd": proj.cmd(["param", "prep.txt", "params.yaml", "a"]),
                "params": ["a"],
                "outs": ["prep.txt"],
            },
            "train": {
                "cmd": proj.cmd(["cat", "model.txt", "prep.txt", "params.yaml"]),
                "deps": ["prep.txt"],
                "params": ["b"],
                "outs": ["model.txt"],
            },
        }
    )
    proj.commit("pipeline")
    first = head(proj)
    proj.ok("repro")
    proj.git("tag", "v1")
    proj.write("raw/a.csv", "1\n")
    proj.ok("add", "raw")
    proj.commit("data and lock")
    between = head(proj)
    proj.params({"a": 1, "b": 2})
    proj.commit("b 2")
    proj.ok("repro")
    return History(proj, first, between)


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory, tool: Path) -> History:
    """Read only by the tests that share it."""
    return build_history(tmp_path_factory.mktemp("auditlog"), tool)


@pytest.fixture
def project(history: History) -> Iterator[Project]:
    project = Project.find(str(history.proj.root))
    yield project
    project.close()


def shown(listing: LogListing) -> list[tuple[int, str, str | None]]:
    """(seq, action, stage) of each entry listed, in order."""
    return [
        (c.entry["seq"], c.entry["action"], c.entry["details"].get("stage"))
        for c in listing.entries
    ]


def test_without_filters_every_entry_is_listed_newest_first(project: Project) -> None:
    listing = audit_log(project)
    assert shown(listing) == [
        (4, "stage.run", "train"),
        (3, "add", None),
        (2, "stage.run", "train"),
        (1, "stage.run", "prepare"),
    ]
    assert listing.report.ok and listing.report.found == 4
    assert [c.id for c in listing.entries] == [c.id for c in reversed(listing.report.entries)]
    with pytest.raises(dataclasses.FrozenInstanceError):
        listing.entries = ()  # type: ignore[misc]


def test_action_and_stage_match_whole_names(project: Project) -> None:
    assert shown(audit_log(project, action="add")) == [(3, "add", None)]
    assert [s for s, _, _ in shown(audit_log(project, action="stage.run"))] == [4, 2, 1]
    assert shown(audit_log(project, stage="prepare")) == [(1, "stage.run", "prepare")]
    assert [s for s, _, _ in shown(audit_log(project, stage="train"))] == [4, 2]
    assert audit_log(project, action="stage").entries == ()
    assert audit_log(project, stage="trai").entries == ()


def seqs(listing: LogListing) -> list[int]:
    return [c.entry["seq"] for c in listing.entries]


def test_commit_is_a_revision_or_an_id_prefix(project: Project, history: History) -> None:
    # `add` ran on the commit of the first repro (with the work tree dirty)
    assert seqs(audit_log(project, commit="v1")) == [3, 2, 1]
    assert seqs(audit_log(project, commit=history.first)) == [3, 2, 1]
    assert seqs(audit_log(project, commit=history.first[:7])) == [3, 2, 1]
    assert seqs(audit_log(project, commit="HEAD")) == [4]
    assert seqs(audit_log(project, commit="main")) == [4]
    assert seqs(audit_log(project, commit="HEAD~1")) == []  # nothing was recorded there
    assert seqs(audit_log(project, commit=history.between)) == []
    assert seqs(audit_log(project, commit="no-such-revision")) == []
    # every entry is still checked, whatever the query keeps
    assert audit_log(project, commit="no-such-revision").report.found == 4


def test_since_is_inclusive_and_actor_any_part_in_any_case(project: Project) -> None:
    every = audit_log(project).entries
    times = sorted(c.entry["time"] for c in every)
    at_third = audit_log(project, since=times[2])
    assert seqs(at_third) == [c.entry["seq"] for c in every if c.entry["time"] >= times[2]]
    assert times[2] in [c.entry["time"] for c in at_third.entries]  # at or after
    assert len(audit_log(project, since="2000-01-01").entries) == 4
    assert audit_log(project, since="2999-01-01").entries == ()
    for who in ("mlrepro tests", "MLREPRO TESTS", "@mlrepro.invalid"):
        assert len(audit_log(project, actor=who).entries) == 4, who
    user = every[0].entry["actor"]["os_user"]
    assert user and len(audit_log(project, actor=user).entries) == 4
    assert audit_log(project, actor="somebody else").entries == ()


def test_filters_combine(project: Project) -> None:
    listing = audit_log(project, commit="v1", action="stage.run", stage="train", actor="tests")
    assert shown(listing) == [(2, "stage.run", "train")]
    assert audit_log(project, commit="HEAD", stage="prepare").entries == ()


def test_a_log_that_does_not_verify_is_listed_and_its_broken_entry_marked(proj: Proj) -> None:
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
    tamper(proj, lambda b: b.replace(b'"stage":"train"', b'"stage":"tra1n"'))
    project = Project.find(str(proj.root))
    try:
        listing = audit_log(project)
        edited = audit_log(project, stage="tra1n")
    finally:
        project.close()
    assert not listing.report.ok
    assert [c.entry["seq"] for c in listing.entries] == [2, 1]
    assert listing.entries[0].problem is not None and listing.entries[1].problem is None
    # the query reads entries as they are stored now, edits included
    assert [c.entry["seq"] for c in edited.entries] == [2]
    assert not edited.report.ok


ENTRY: dict[str, Any] = {
    "seq": 1,
    "time": "2024-05-01T10:00:00.000000Z",
    "action": "stage.run",
    "actor": {"git_name": "Ada", "git_email": "ada@example.org", "os_user": "ada"},
    "git": {"commit": "0123456789abcdef", "branch": "main", "dirty": False},
    "details": {"stage": "train"},
}


@pytest.mark.parametrize(
    ("query", "kept"),
    [
        (LogFilter(), True),
        (LogFilter(commit="0123"), True),
        (LogFilter(commit="1234"), False),
        (LogFilter(since="2024-05-01T10:00:00.000000Z"), True),
        (LogFilter(since="2024-05-01T10:00:00.000001Z"), False),
        (LogFilter(since="2024-05"), True),
        (LogFilter(actor="EXAMPLE.ORG"), True),
        (LogFilter(actor="bob"), False),
        (LogFilter(action="stage.run"), True),
        (LogFilter(action="checkout"), False),
        (LogFilter(stage="train"), True),
        (LogFilter(stage="prepare"), False),
        (LogFilter(commit="0123", action="stage.run", stage="prepare"), False),
    ],
)
def test_filter_on_one_entry(query: LogFilter, kept: bool) -> None:
    assert query.matches(ENTRY) is kept


@pytest.mark.parametrize("value", [None, "a string", ["a", "list"], 7])
def test_an_edited_entry_whose_mappings_are_not_mappings_matches_them_as_empty(
    value: Any,
) -> None:
    entry = {**ENTRY, "git": value, "actor": value, "details": value}
    assert LogFilter().matches(entry)
    assert LogFilter(commit="").matches(entry)  # an empty prefix: any commit, even none
    assert not LogFilter(commit="0").matches(entry)
    assert not LogFilter(actor="a").matches(entry)
    assert not LogFilter(stage="train").matches(entry)


def test_an_entry_without_a_time_is_before_every_time() -> None:
    timeless = {k: v for k, v in ENTRY.items() if k != "time"}
    assert LogFilter(since="").matches(timeless)
    assert not LogFilter(since="2000").matches(timeless)
