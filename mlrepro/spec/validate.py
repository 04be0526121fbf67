"""Checks DVC makes on every loaded stage's paths, beyond the schema."""

from __future__ import annotations

import os
import posixpath

from mlrepro.errors import PipelineError
from mlrepro.spec import paths
from mlrepro.spec.discover import PIPELINE_FILE
from mlrepro.spec.ignore import dvcignore
from mlrepro.spec.model import Stage


def is_pipeline_file(path: str) -> bool:
    """DVC's own files (``dvc.yaml``, ``*.dvc``) can be neither a dependency nor an output."""
    return path.endswith(".dvc") or posixpath.basename(path) == PIPELINE_FILE


def check_outputs(root: str, stages: list[Stage]) -> None:
    """Refuse what DVC refuses when it builds a stage's dependencies and outputs."""
    ignore = dvcignore(root)
    for stage in stages:
        for dep in stage.deps:
            if is_pipeline_file(dep):
                raise PipelineError(
                    f"'{dep}' is a pipeline file and cannot be a dependency",
                    path=stage.dvcfile,
                    stage=stage.name,
                    hint="depend on the outputs of its stages instead",
                )
        for out in stage.all_outs:
            if is_pipeline_file(out.path):
                raise PipelineError(
                    f"'{out.path}' is a pipeline file and cannot be an output",
                    path=stage.dvcfile,
                    stage=stage.name,
                )
            if paths.is_external(out.path) or out.path.startswith("../") or out.path == "..":
                continue
            full = os.path.join(root, out.path)
            if ignore.path_ignored(out.path, is_dir=os.path.isdir(full)):
                raise PipelineError(
                    f"output '{out.path}' is ignored by .dvcignore (or lies in .git/ or .dvc/)",
                    path=stage.dvcfile,
                    stage=stage.name,
                    hint="change the output path or the .dvcignore pattern",
                )
