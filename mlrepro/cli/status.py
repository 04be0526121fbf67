"""``mlrepro status``."""

from __future__ import annotations

import sys

import click

from mlrepro.cli.common import project_at
from mlrepro.errors import EXIT_CHANGED
from mlrepro.ops.status import status as do_status
from mlrepro.render import status as render


@click.command()
@click.argument("targets", nargs=-1)
@click.option("--why", is_flag=True, help="Give every reason for each stage.")
@click.option("--json", "as_json", is_flag=True, help="Versioned JSON.")
@click.option(
    "--check",
    is_flag=True,
    help=f"Exit with status {EXIT_CHANGED} when anything is out of date (for CI).",
)
def status(targets: tuple[str, ...], why: bool, as_json: bool, check: bool) -> None:
    """Show which stages would run (and why) and which data inputs changed."""
    with project_at() as project:
        report = do_status(project, targets=list(targets))
    click.echo(render.to_json(report) if as_json else render.to_text(report, why=why))
    if check and report.changed:
        sys.exit(EXIT_CHANGED)
