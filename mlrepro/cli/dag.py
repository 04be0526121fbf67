"""``mlrepro dag``."""

from __future__ import annotations

import click

from mlrepro.dag.pipeline import load_pipeline
from mlrepro.dag.select import upstream
from mlrepro.render import dag as render
from mlrepro.spec.discover import find_root


@click.command()
@click.argument("targets", nargs=-1)
@click.option("--json", "fmt", flag_value="json", help="Stages in run order and edges, as JSON.")
@click.option("--dot", "fmt", flag_value="dot", help="Graphviz DOT.")
@click.option("--mermaid", "fmt", flag_value="mermaid", help="Mermaid flowchart.")
def dag(targets: tuple[str, ...], fmt: str | None) -> None:
    """Show the stage graph (only TARGETS and what they depend on, if given)."""
    # only dvc.yaml is read, so no project is opened: cli.common.project_at would import
    # the cache and stat cache modules (about 25 ms) for nothing
    graph = upstream(load_pipeline(find_root()), list(targets))
    writer = {"json": render.to_json, "dot": render.to_dot, "mermaid": render.to_mermaid}.get(
        fmt or "", render.to_text
    )
    text = writer(graph)
    if text:
        click.echo(text)
