"""``mlrepro cache verify``."""

from __future__ import annotations

import click

from mlrepro.cli.group import Group
from mlrepro.errors import MlreproError
from mlrepro.ops.cache import verify as do_verify
from mlrepro.workspace.project import Project


@click.group(cls=Group)
def cache() -> None:
    """Inspect and repair the local cache."""


@cache.command()
@click.option("--repair", is_flag=True, help="Delete corrupt objects (and stray temporary files).")
@click.option(
    "--wait", "wait_s", type=float, default=0.0, help="Seconds to wait for another mlrepro process."
)
def verify(repair: bool, wait_s: float) -> None:
    """Re-hash every cache object and report those whose bytes changed."""
    project = Project.find()
    try:
        result = do_verify(project, repair=repair, wait_for_lock=wait_s)
    finally:
        project.close()
    for x in result.corrupt:
        click.echo(f"corrupt  xxh3-128:{x}" + ("  (removed)" if repair else ""))
    for path in result.recached:
        click.echo(f"re-cached {path} from the workspace")
    click.echo(f"{result.checked} objects checked, {len(result.corrupt)} corrupt.")
    if result.corrupt and not repair:
        raise MlreproError(
            f"{len(result.corrupt)} corrupt object(s) in the cache",
            hint="run `mlrepro cache verify --repair`, then rebuild them (repro, add)",
        )
