"""Random projects: mlrepro's loader agrees with DVC on each of them.

Both sides run in-process (``mlrepro.dag.pipeline.stage_list_json`` and the DVC
oracle) for speed. On a disagreement hypothesis shrinks the project and the
failure message shows its files and both answers; paste them into
``differential_cases.py`` to keep the case.

In CI (``CI`` set) the examples are derandomized so that a run is
reproducible; locally every run explores new projects.

These tests are about the whole loader (``mlrepro.spec`` as a package, with the
graph checks of ``mlrepro.dag``), not one module, so they mirror no single source
module; each module of ``mlrepro/spec/`` has its own ``test_<module>.py`` beside them.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, note, settings
from hypothesis import strategies as st

from tests.oracle.dvc_oracle import Accepted, Unsupported, run_oracle
from tests.spec import strategies as gen
from tests.spec.helpers import assert_same, make_project, mlrepro_in_process

# hundreds of generated projects, each loaded by DVC and by mlrepro
pytestmark = pytest.mark.slow

_IN_CI = bool(os.environ.get("CI"))


def _settings(max_examples: int) -> settings:
    return settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=_IN_CI,
        print_blob=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


def _check(files: dict[str, Any]) -> None:
    note("project files:\n" + json.dumps(files, indent=1, ensure_ascii=False, default=repr))
    with tempfile.TemporaryDirectory(prefix="mlrepro-diff-") as tmp:
        root = make_project(Path(tmp) / "project", files)
        dvc = run_oracle(root)
        # A date or an infinity kept in `cmd`, or two stages under one name:
        # the contract has no answer for these, so they prove nothing.
        assume(not isinstance(dvc, Unsupported))
        note(f"DVC: {'accepts' if isinstance(dvc, Accepted) else dvc}")
        ours = mlrepro_in_process(root)
        assert_same(ours, dvc)


@_settings(250)
@given(files=gen.stage_graphs())
def test_random_stage_graphs(files: dict[str, Any]) -> None:
    """Deps/outs overlaps (files and directories), wdirs, several dvc.yaml, params entries."""
    _check(files)


@_settings(250)
@given(files=gen.templated_projects())
def test_random_templating(files: dict[str, Any]) -> None:
    """params.yaml, vars files (whole and `file:keys`), inline and stage vars, `${...}`."""
    _check(files)


@_settings(250)
@given(files=gen.generated_stages())
def test_random_foreach_and_matrix(files: dict[str, Any]) -> None:
    """foreach over scalars/dicts/lists/mappings/references, matrix with mixed dimensions."""
    _check(files)


@_settings(150)
@given(files=gen.mixed_projects())
def test_random_mixed_projects(files: dict[str, Any]) -> None:
    """All of the above in one project, in subfolders, with the odd .dvcignore."""
    _check(files)


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(
    files=st.one_of(gen.stage_graphs(), gen.templated_projects(), gen.generated_stages(), gen.mixed_projects())
)
def _sample_verdicts(files: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory(prefix="mlrepro-gen-") as tmp:
        root = make_project(Path(tmp) / "project", files)
        result = run_oracle(root)
        _VERDICTS.add(type(result).__name__)


_VERDICTS: set[str] = set()


def test_generators_cover_accepted_and_rejected_projects() -> None:
    """Not a test of mlrepro: the generators must yield projects DVC accepts and refuses."""
    _VERDICTS.clear()
    _sample_verdicts()
    assert {"Accepted", "Rejected"} <= _VERDICTS, _VERDICTS
