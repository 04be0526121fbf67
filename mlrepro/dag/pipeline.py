"""Loading a whole project's pipeline, and its canonical JSON form.

``load_pipeline`` is what every command builds on; ``stage_list_json`` is
the versioned, canonical description printed by ``mlrepro stage list
--json`` (schema in docs/cli.md). It lives in ``dag``, not ``spec``, because it
builds the stage graph: ``spec`` reads and resolves pipeline files and depends on
nothing above it (issue 16).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from mlrepro.dag.graph import build_edges, build_trie
from mlrepro.errors import PipelineError
from mlrepro.spec import paths
from mlrepro.spec.discover import walk_pipeline_files
from mlrepro.spec.model import Out, Pipeline, Stage
from mlrepro.spec.resolve import DvcFile
from mlrepro.spec.validate import check_outputs
from mlrepro.spec.yamlio import line_of

STAGE_LIST_SCHEMA_VERSION = 1


def load_pipeline(root: str | Path) -> Pipeline:
    """Resolve every dvc.yaml under ``root`` and build the stage graph.

    Raises :class:`mlrepro.errors.PipelineError` for anything DVC refuses.
    """
    root = str(Path(root).resolve())
    stages: list[Stage] = []
    metrics: list[str] = []
    params: list[str] = []

    def load(relpath: str) -> list[str]:
        dvcfile = DvcFile(root, relpath)
        file_stages = dvcfile.load()
        stages.extend(file_stages)
        metrics.extend(dvcfile.top_metrics)
        params.extend(dvcfile.top_params)
        return [o.path for s in file_stages for o in s.all_outs if not paths.is_external(o.path)]

    loaded = walk_pipeline_files(root, load)
    check_outputs(root, stages)
    try:
        edges = build_edges(root, stages, build_trie(root, stages))
    except PipelineError as exc:
        raise _locate(root, exc) from None
    return Pipeline(
        root=root,
        stages=tuple(stages),
        edges=tuple(edges),
        dvcfiles=tuple(loaded),
        metrics=tuple(dict.fromkeys(metrics)),
        params=tuple(dict.fromkeys(params)),
    )


def _locate(root: str, exc: PipelineError) -> PipelineError:
    """Add the line of the stage's definition to a graph error."""
    if exc.line is not None or exc.path is None or exc.stage is None:
        return exc
    try:
        with open(os.path.join(root, exc.path), encoding="utf-8") as f:
            text = f.read()
    except OSError:
        return exc
    name = exc.stage
    line = line_of(text, ("stages", name))
    # a foreach/matrix member (name@key) has no key of its own in the file: line_of then
    # stops at `stages:`, and the member's line is its template's
    if "@" in name and line in (None, line_of(text, ("stages",))):
        line = line_of(text, ("stages", name.rsplit("@", 1)[0]))
    return exc.located(line=line)


def _out_json(out: Out) -> dict[str, Any]:
    return {
        "path": out.path,
        "cache": out.cache,
        "persist": out.persist,
        "push": out.push,
        "remote": out.remote,
    }


def _outs_json(outs: tuple[Out, ...]) -> list[dict[str, Any]]:
    return [_out_json(o) for o in sorted(outs, key=lambda o: o.path)]


def stage_json(stage: Stage) -> dict[str, Any]:
    return {
        "id": stage.id,
        "dvcfile": stage.dvcfile,
        "name": stage.name,
        "cmd": stage.cmd,
        "wdir": stage.wdir,
        "deps": sorted(stage.deps),
        "outs": _outs_json(stage.outs),
        "metrics": _outs_json(stage.metrics),
        "plots": _outs_json(stage.plots),
        "params": {
            k: (list(v) if v is not None else None) for k, v in sorted(stage.params.items())
        },
        "frozen": stage.frozen,
        "always_changed": stage.always_changed,
    }


def pipeline_json(pipeline: Pipeline) -> dict[str, Any]:
    return {
        "schema_version": STAGE_LIST_SCHEMA_VERSION,
        "stages": [stage_json(s) for s in sorted(pipeline.stages, key=lambda s: s.id)],
        "edges": [list(e) for e in pipeline.edges],
    }


def stage_list_json(root: str | Path) -> dict[str, Any]:
    """The canonical JSON of ``mlrepro stage list --json`` for the project at ``root``."""
    return pipeline_json(load_pipeline(root))
