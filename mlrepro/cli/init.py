"""``mlrepro init``."""

from __future__ import annotations

import os

import click

from mlrepro.ops.init import init as do_init


@click.command()
@click.option("--force", is_flag=True, help="Rewrite the config even if .mlrepro/ exists.")
def init(force: bool) -> None:
    """Create .mlrepro/ (config and .gitignore) at the top of a git work tree."""
    result = do_init(os.getcwd(), force=force)
    if result.created:
        click.echo(f"Initialized mlrepro in {os.path.join(result.root, '.mlrepro')}")
    else:
        click.echo(
            f"mlrepro is already initialized in {result.root} (use --force to rewrite the config)"
        )
