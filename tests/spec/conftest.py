"""Fixtures for the pipeline-spec tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.spec.helpers import Files, make_project


@pytest.fixture
def project(tmp_path: Path) -> Callable[[Files], Path]:
    """Build a project (git work tree, empty .dvc/config, the given files).

    ``project({"dvc.yaml": "...", "params.yaml": "..."})`` returns its root;
    call it again for a second, independent project.
    """
    counter = iter(range(1_000_000))

    def build(files: Files, *, commit: bool = False) -> Path:
        return make_project(tmp_path / f"project{next(counter)}", files, commit=commit)

    return build
