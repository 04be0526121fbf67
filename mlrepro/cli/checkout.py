"""``mlrepro checkout``."""

from __future__ import annotations

import click

from mlrepro.cli.common import project_at
from mlrepro.errors import MlreproError
from mlrepro.ops.checkout import checkout as do_checkout
from mlrepro.render.names import shown_path, shown_text


@click.command()
@click.argument("targets", nargs=-1)
@click.option("--with-deps", is_flag=True, help="Also the stages the targets depend on.")
@click.option(
    "--wait", "wait_s", type=float, default=0.0, help="Seconds to wait for another mlrepro process."
)
def checkout(targets: tuple[str, ...], with_deps: bool, wait_s: float) -> None:
    """Make outputs and data match mlrepro.lock, from the cache."""
    with project_at() as project:
        result = do_checkout(
            project, targets=list(targets), with_deps=with_deps, wait_for_lock=wait_s
        )
    for path in result.restored:
        click.echo(f"restored {shown_path(path)}")
    if result.missing:
        for path, why in result.missing:
            click.echo(f"missing  {shown_path(path)}: {shown_text(why)}", err=True)
        raise MlreproError(
            f"{len(result.missing)} path(s) could not be restored from the cache",
            hint="pull the cache from a remote, or run `mlrepro repro` to rebuild them",
        )
    if not result.restored:
        click.echo("Everything matches mlrepro.lock.")
