"""``mlrepro lineage``."""

from __future__ import annotations

import os
from dataclasses import asdict

import click

from mlrepro.audit.store import AuditStore
from mlrepro.cli.common import project_at
from mlrepro.errors import UsageError
from mlrepro.lineage.graph import lineage as build
from mlrepro.lineage.graph import with_runs
from mlrepro.lineage.index import DigestIndex, Hit
from mlrepro.render import lineage as render
from mlrepro.snapshot.revisions import Revisions
from mlrepro.spec.discover import relpath_in_root
from mlrepro.workspace.project import Project


@click.command()
@click.argument("path", required=False)
@click.option("--rev", default="HEAD", show_default=True, help="The revision (or `workspace`).")
@click.option(
    "--upstream", "direction", flag_value="upstream", default=True, help="Where it came from."
)
@click.option("--downstream", "direction", flag_value="downstream", help="What used it.")
@click.option("--both", "direction", flag_value="both", help="Both directions.")
@click.option("--json", "fmt", flag_value="json", help="Versioned JSON (nodes and edges).")
@click.option("--dot", "fmt", flag_value="dot", help="Graphviz DOT.")
@click.option("--mermaid", "fmt", flag_value="mermaid", help="Mermaid flowchart.")
@click.option(
    "--digest", help="Find an artifact by digest (sha256:… or xxh3-128:…) instead of PATH."
)
@click.option(
    "--all-commits", is_flag=True, help="With --digest: search every commit, not HEAD's history."
)
def lineage(
    path: str | None,
    rev: str,
    direction: str,
    fmt: str | None,
    digest: str | None,
    all_commits: bool,
) -> None:
    """Where PATH came from (stages, params, inputs down to raw data and code), and what used it."""
    if (path is None) == (digest is None):
        raise UsageError("give a PATH or --digest (one of them)")
    with project_at(require_init=False) as project, Revisions.of(project) as revs:
        if digest is not None:
            with DigestIndex.of(project, revs) as index:
                hits = index.find(digest, all_commits=all_commits)
            _print_hits(digest, hits, fmt)
            return
        assert path is not None
        target = relpath_in_root(project.root, os.path.join(os.getcwd(), path))
        graph = build(revs, revs.revision(rev), target, direction=direction)
        graph = with_runs(graph, _audit_entries(project))
    if fmt == "json":
        click.echo(render.to_json(graph))
    elif fmt == "dot":
        click.echo(render.to_dot(graph), nl=False)
    elif fmt == "mermaid":
        click.echo(render.to_mermaid(graph), nl=False)
    else:
        click.echo(render.to_text(graph, direction), nl=False)


def _print_hits(digest: str, hits: list[Hit], fmt: str | None) -> None:
    if fmt == "json":
        click.echo(render.digest_json([asdict(h) for h in hits], digest))
        return
    click.echo(render.digest_text(hits, digest), nl=False)


def _audit_entries(project: Project) -> list[tuple[str, dict]]:  # type: ignore[type-arg]
    """The audit log's entries (none when this is not an mlrepro project or has no log)."""
    if not os.path.isdir(project.state_dir):
        return []
    store = AuditStore(project.root, project.state_dir)
    try:
        return store.entries()
    finally:
        store.close()
