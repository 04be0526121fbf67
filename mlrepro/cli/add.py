"""``mlrepro add``."""

from __future__ import annotations

import os

import click

from mlrepro.cli.common import project_at
from mlrepro.ops.add import add as do_add
from mlrepro.render.names import shown_path


@click.command()
@click.argument("paths", nargs=-1, required=True)
@click.option(
    "--wait", "wait_s", type=float, default=0.0, help="Seconds to wait for another mlrepro process."
)
def add(paths: tuple[str, ...], wait_s: float) -> None:
    """Put raw data files or folders into the cache and record them in mlrepro.lock."""
    with project_at() as project:
        result = do_add(project, list(paths), cwd=os.getcwd(), wait_for_lock=wait_s)
    for a in result.added:
        files = f"{a.nfiles} file{'s' if a.nfiles != 1 else ''}"
        click.echo(f"added {shown_path(a.path)} ({files}, {a.size} bytes) {a.digest}")
