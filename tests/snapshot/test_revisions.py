"""Reading other commits without checking them out: lock, files, pipeline, data and stage diffs.

Multi-commit repositories built by the tests with the real CLI; the revision
readers are then asked about commits while the workspace stays where it is.
"""

from __future__ import annotations

import json
import shutil

import pytest

from mlrepro.errors import PipelineError
from mlrepro.git.repo import RevisionError
from mlrepro.snapshot.datadiff import data_diff
from mlrepro.snapshot.revisions import Revisions
from mlrepro.snapshot.stagediff import stage_diff
from mlrepro.workspace.hashing import Hasher
from mlrepro.workspace.project import Project
from tests.ops.conftest import Proj


def two_commits(proj: Proj) -> None:
    """A folder output of 3,000 files of which one depends on a param, and a metrics file."""
    proj.params({"size": 1, "lr": 0.1})
    proj.pipeline(
        {
            "make": {
                "cmd": proj.cmd(
                    ["mkfiles", "feats", "3000", "x"],
                    ["param", "feats/d3/size.json", "params.yaml", "size"],
                    ["param", "metrics.json", "params.yaml", "size"],
                ),
                "params": ["size"],
                "outs": ["feats"],
                "metrics": ["metrics.json"],
            }
        }
    )
    proj.ok("repro")
    proj.commit("first")
    proj.params({"size": 2, "lr": 0.1})
    proj.ok("repro")
    proj.commit("second")


@pytest.fixture
def revs(proj: Proj) -> Revisions:
    project = Project(str(proj.root))
    r = Revisions(str(proj.root), project.store)
    yield r  # type: ignore[misc]
    r.close()
    project.close()


@pytest.mark.slow
def test_gitignored_outputs_are_read_from_the_cache_by_the_revisions_lock(
    proj: Proj, revs: Revisions
) -> None:
    two_commits(proj)
    old, new = revs.revision("HEAD~1"), revs.revision("HEAD")
    assert revs.tracked(old, "metrics.json") is None  # not in git: a cached output
    assert json.loads(revs.read(old, "metrics.json") or b"") == 1
    assert json.loads(revs.read(new, "metrics.json") or b"") == 2
    assert revs.read(revs.revision("workspace"), "metrics.json") == b"2"
    assert revs.read(old, "nothing/here.json") is None
    assert revs.lock(old).stages["make"].params == {"params.yaml": {"size": 1}}


def test_data_diff_between_commits_names_the_file_inside_the_folder(
    proj: Proj, revs: Revisions
) -> None:
    two_commits(proj)
    diff = data_diff(revs, revs.revision("HEAD~1"), revs.revision("HEAD"))
    paths = {(c.path, c.kind) for c in diff.changes}
    assert paths == {
        ("feats", "modified"),
        ("feats/d3/size.json", "modified"),
        ("metrics.json", "modified"),
    }
    inner = next(c for c in diff.changes if c.path == "feats/d3/size.json")
    assert inner.folder == "feats" and inner.old and inner.new
    assert inner.old.size == 1 and inner.new.size == 1
    assert inner.old.sha256 and inner.old.sha256.startswith("sha256:")
    assert diff.unreadable == ()


@pytest.mark.slow
def test_data_diff_against_the_workspace_sees_edits_additions_and_deletions(
    proj: Proj, revs: Revisions
) -> None:
    two_commits(proj)
    (proj.root / "feats/d0/f0.txt").write_text("edited\n")
    (proj.root / "feats/d9/new.txt").write_text("new\n")
    (proj.root / "feats/d5/f5.txt").unlink()
    project = Project(str(proj.root))
    hasher = Hasher(str(proj.root), project.stats)
    diff = data_diff(revs, revs.revision("HEAD"), revs.revision(None), hasher)
    project.close()
    assert {(c.path, c.kind) for c in diff.changes} == {
        ("feats", "modified"),
        ("feats/d0/f0.txt", "modified"),
        ("feats/d9/new.txt", "added"),
        ("feats/d5/f5.txt", "deleted"),
    }


@pytest.mark.slow
def test_unchanged_revisions_have_no_data_diff(proj: Proj, revs: Revisions) -> None:
    two_commits(proj)
    head = revs.revision("HEAD")
    assert data_diff(revs, head, head).changes == ()


@pytest.mark.slow
def test_a_folder_whose_tree_is_not_in_the_cache_is_reported_not_fatal(
    proj: Proj, revs: Revisions
) -> None:
    two_commits(proj)
    shutil.rmtree(proj.root / ".mlrepro" / "cache")
    diff = data_diff(revs, revs.revision("HEAD~1"), revs.revision("HEAD"))
    assert ("feats", "modified") in {(c.path, c.kind) for c in diff.changes}
    assert [p for p, _ in diff.unreadable] == ["feats"]


def test_pipelines_of_other_commits_and_their_stage_diff(proj: Proj, revs: Revisions) -> None:
    proj.params({"models": ["a", "b"], "lr": 0.1})
    proj.write("conf/extra.yaml", "depth: 3\n")
    proj.pipeline(
        {
            "train": {
                "foreach": "${models}",
                "do": {"cmd": "echo ${item} ${lr}", "outs": ["m-${item}"]},
            },
            "old": {"cmd": "echo old", "outs": ["o"]},
            "keep": {"cmd": "echo keep", "params": [{"conf/extra.yaml": ["depth"]}]},
        },
        vars=["conf/extra.yaml"],
    )
    proj.commit("one")
    proj.params({"models": ["b", "c"], "lr": 0.2})
    proj.pipeline(
        {
            "train": {
                "foreach": "${models}",
                "do": {"cmd": "echo ${item} ${lr}", "outs": ["m-${item}"]},
            },
            "renamed": {"cmd": "echo old", "outs": ["o"]},
            "keep": {"cmd": "echo keep", "params": [{"conf/extra.yaml": ["depth"]}]},
        },
        vars=["conf/extra.yaml"],
    )
    proj.commit("two")
    old = revs.pipeline(revs.revision("HEAD~1"))
    assert sorted(s.id for s in old.stages) == ["keep", "old", "train@a", "train@b"]
    new = revs.pipeline(revs.revision("HEAD"))
    changes = {(c.stage, c.kind, c.fields, c.renamed_from) for c in stage_diff(old, new)}
    assert changes == {
        ("train@a", "removed", (), None),
        ("train@c", "added", (), None),
        ("train@b", "modified", ("cmd",), None),  # ${lr} changed
        ("renamed", "renamed", (), "old"),
    }


def test_a_revision_that_does_not_exist(revs: Revisions) -> None:
    with pytest.raises(RevisionError, match="unknown revision 'no-such-branch'"):
        revs.revision("no-such-branch")


def test_a_broken_pipeline_at_a_revision_names_it(proj: Proj, revs: Revisions) -> None:
    proj.write("dvc.yaml", "stages:\n  a:\n    cmd: echo ${nope}\n")
    proj.commit("broken")
    proj.write("dvc.yaml", "stages:\n  a:\n    cmd: echo fine\n")
    proj.commit("fixed")
    with pytest.raises(PipelineError, match=r"at HEAD~1: dvc.yaml"):
        revs.pipeline(revs.revision("HEAD~1"))
    assert [s.id for s in revs.pipeline(revs.revision("HEAD")).stages] == ["a"]


@pytest.mark.slow
def test_tags_and_branches_are_revisions(proj: Proj, revs: Revisions) -> None:
    two_commits(proj)
    proj.git("tag", "-a", "v1", "-m", "release", "HEAD~1")
    proj.git("branch", "old-line", "HEAD~1")
    for name in ("v1", "old-line"):
        assert json.loads(revs.read(revs.revision(name), "metrics.json") or b"") == 1
