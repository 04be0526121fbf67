"""``mlrepro diff``."""

from __future__ import annotations

import os

import click

from mlrepro.cli.common import project_at
from mlrepro.ops.diff import full_diff
from mlrepro.render import diff as render
from mlrepro.render.metrics import DEFAULT_PRECISION
from mlrepro.snapshot.revisions import WORKSPACE, Revisions
from mlrepro.workspace.hashing import Hasher


@click.command()
@click.argument("a_rev", required=False)
@click.argument("b_rev", required=False)
@click.option("--targets", multiple=True, help="Only these paths (files or folders; repeatable).")
@click.option("--all", "all_keys", is_flag=True, help="Show unchanged params and metrics too.")
@click.option("--json", "as_json", is_flag=True, help="Versioned JSON.")
@click.option("--md", is_flag=True, help="Markdown (the pull-request comment).")
@click.option("--precision", type=int, default=None, help="Decimal places for metrics (5).")
def diff(
    a_rev: str | None,
    b_rev: str | None,
    targets: tuple[str, ...],
    all_keys: bool,
    as_json: bool,
    md: bool,
    precision: int | None,
) -> None:
    """Compare params, metrics, data and stages between A_REV (default HEAD) and B_REV
    (default the workspace)."""
    with project_at(require_init=False) as project, Revisions.of(project) as revs:
        old = revs.revision(a_rev or "HEAD")
        new = revs.revision(b_rev or WORKSPACE)
        hasher = (
            Hasher(project.root, project.stats)
            if (old.is_workspace or new.is_workspace) and os.path.isdir(project.state_dir)
            else None
        )
        result = full_diff(revs, old, new, hasher=hasher, targets=targets, all_keys=all_keys)
    digits = precision or DEFAULT_PRECISION
    if as_json:
        click.echo(render.to_json(result))
    elif md:
        click.echo(render.to_markdown(result, digits), nl=False)
    else:
        click.echo(render.to_text(result, digits), nl=False)
