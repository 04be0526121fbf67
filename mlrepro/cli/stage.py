"""``mlrepro stage list``."""

from __future__ import annotations

import json
import sys

import click

from mlrepro.cli.group import Group
from mlrepro.dag.pipeline import load_pipeline, pipeline_json
from mlrepro.spec.discover import find_root
from mlrepro.spec.model import Stage


def _summary(s: Stage) -> str:
    parts = []
    if s.outs:
        parts.append("Outputs " + ", ".join(o.path for o in s.outs))
    reports = s.metrics + s.plots
    if reports:
        parts.append("Reports " + ", ".join(o.path for o in reports))
    return "; ".join(parts)


@click.group(cls=Group)
def stage() -> None:
    """Inspect the pipeline's stages."""


@stage.command("list")
@click.option(
    "--json", "as_json", is_flag=True, help="Print the canonical resolved pipeline as JSON."
)
def list_(as_json: bool) -> None:
    """List every stage of every dvc.yaml, after templating."""
    # only dvc.yaml is read, so no project is opened: cli.common.project_at would import
    # the cache and stat cache modules (about 25 ms) for nothing
    pipeline = load_pipeline(find_root())
    if as_json:
        # Indented for people; compact (C encoder, several times faster) for pipes.
        indent = 2 if sys.stdout.isatty() else None
        click.echo(json.dumps(pipeline_json(pipeline), indent=indent, ensure_ascii=False))
        return
    rows = []
    for s in pipeline.stages:  # file order, as `dvc stage list` prints them
        rows.append((s.id, s.desc or _summary(s)))
    width = max((len(r[0]) for r in rows), default=0)
    for sid, info in rows:
        click.echo(f"{sid.ljust(width)}  {info}".rstrip())
