"""Checks on every loaded stage's paths (``mlrepro.spec.validate``), against DVC.

Each project below is loaded stage by stage (:class:`DvcFile`) and checked with
:func:`check_outputs`; DVC (the oracle, ``tests/oracle/dvc_oracle.py``) must refuse
exactly the projects mlrepro refuses: a pipeline file as a dependency or an output, an
output ignored by a ``.dvcignore`` (or in ``.git/``, ``.dvc/``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from mlrepro.errors import PipelineError
from mlrepro.spec.resolve import DvcFile
from mlrepro.spec.validate import check_outputs, is_pipeline_file
from tests.oracle.dvc_oracle import Accepted, run_oracle
from tests.spec.helpers import Files

# (id, the stage's keys, other files, the message when refused)
CASES: list[tuple[str, str, dict[str, str], str | None]] = [
    ("ignored-folder", "outs:\n- tmp/x", {".dvcignore": "tmp/\n"}, "output 'tmp/x' is ignored"),
    ("ignored-glob", "outs:\n- x.log", {".dvcignore": "*.log\n"}, "output 'x.log' is ignored"),
    ("ignored-metric", "metrics:\n- m.json", {".dvcignore": "m.json\n"}, "'m.json' is ignored"),
    ("ignored-deeper", "outs:\n- sub/x.tmp", {"sub/.dvcignore": "*.tmp\n"}, "is ignored"),
    ("ignored-dep-allowed", "deps:\n- x.log", {".dvcignore": "*.log\n"}, None),
    ("re-included", "outs:\n- x.log", {".dvcignore": "*.log\n!x.log\n"}, None),
    ("dir-pattern-file", "outs:\n- d", {".dvcignore": "d/\n"}, None),
    ("dir-pattern-folder", "outs:\n- d", {".dvcignore": "d/\n", "d/": ""}, "'d' is ignored"),
    ("in-git", "outs:\n- .git/x", {}, "output '.git/x' is ignored"),
    ("in-dvc", "outs:\n- .dvc/x", {}, "output '.dvc/x' is ignored"),
    ("outside-root", "outs:\n- ../o", {".dvcignore": "*\n"}, None),
    ("url", "outs:\n- https://example.com/x", {".dvcignore": "*\n"}, None),
    ("dvc-yaml-dep", "deps:\n- dvc.yaml", {}, "'dvc.yaml' is a pipeline file and cannot be a dep"),
    ("sub-dvc-yaml-dep", "deps:\n- sub/dvc.yaml", {}, "'sub/dvc.yaml' is a pipeline file"),
    ("dot-dvc-out", "outs:\n- a.dvc", {}, "'a.dvc' is a pipeline file and cannot be an output"),
    ("dvc-yaml-plot", "plots:\n- sub/dvc.yaml", {}, "cannot be an output"),
]


@pytest.mark.parametrize(
    ("keys", "files", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_outputs_are_checked_as_dvc_checks_them(
    project: Callable[[Files], Path], keys: str, files: dict[str, str], message: str | None
) -> None:
    body = "".join(f"    {line}\n" for line in f"cmd: x\n{keys}".splitlines())
    root = project({"dvc.yaml": f"stages:\n  a:\n{body}", **files})
    stages = DvcFile(str(root), "dvc.yaml").load()
    dvc_accepts = isinstance(run_oracle(root), Accepted)
    if message is None:
        check_outputs(str(root), stages)
        assert dvc_accepts
        return
    with pytest.raises(PipelineError) as info:
        check_outputs(str(root), stages)
    assert message in info.value.what
    assert (info.value.path, info.value.stage) == ("dvc.yaml", "a")
    assert not dvc_accepts


def test_a_stage_in_a_subfolder_is_named(project: Callable[[Files], Path]) -> None:
    root = project(
        {
            "sub/dvc.yaml": "stages:\n  s:\n    cmd: x\n    outs:\n    - y.tmp\n",
            ".dvcignore": "*.tmp",
        }
    )
    stages = DvcFile(str(root), "sub/dvc.yaml").load()
    with pytest.raises(PipelineError) as info:
        check_outputs(str(root), stages)
    assert str(info.value).startswith("sub/dvc.yaml: stage 's': output 'sub/y.tmp' is ignored")
    assert info.value.hint == "change the output path or the .dvcignore pattern"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("dvc.yaml", True),
        ("sub/dvc.yaml", True),
        ("data.dvc", True),
        ("sub/x.dvc", True),
        ("dvc.yml", False),
        ("dvc.yaml.bak", False),
        ("my-dvc.yaml", False),
        ("dvc.lock", False),
        ("x.dvcignore", False),
    ],
)
def test_is_pipeline_file(path: str, expected: bool) -> None:
    assert is_pipeline_file(path) is expected
