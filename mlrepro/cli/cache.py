"""``mlrepro cache verify``."""

from __future__ import annotations

import click

from mlrepro.cli.group import Group
from mlrepro.errors import MlreproError
from mlrepro.ops.artifacts import Missing
from mlrepro.ops.cache import verify as do_verify
from mlrepro.render.names import shown_path
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
    """Re-hash every cache object, and check that every object mlrepro.lock needs is there."""
    project = Project.find()
    try:
        result = do_verify(project, repair=repair, wait_for_lock=wait_s)
    finally:
        project.close()
    for x in result.corrupt:
        click.echo(f"corrupt  xxh3-128:{x}" + ("  (removed)" if repair else ""))
    for path in result.recached:
        click.echo(f"re-cached {shown_path(path)} from the workspace")
    for m in result.missing:
        click.echo(f"missing  xxh3-128:{m.xxh} ({shown_where(m)})")
    absent = len({m.xxh for m in result.missing})
    click.echo(
        f"{result.checked} objects checked, {len(result.corrupt)} corrupt, "
        f"{absent} missing that mlrepro.lock needs."
    )
    if result.unchecked is not None:
        raise MlreproError(
            f"mlrepro.lock could not be checked against the cache: {result.unchecked}",
            hint="fix the pipeline, then run `mlrepro cache verify` again",
        )
    corrupt = len(result.corrupt) if not repair else 0
    if absent:
        what = f"{absent} object(s) that mlrepro.lock needs are not in the cache"
        if corrupt:
            what = f"{corrupt} corrupt object(s) in the cache, and {what}"
        raise MlreproError(
            what,
            hint="run `mlrepro cache verify --repair` (it caches again what the workspace "
            "still holds), then `mlrepro repro` rebuilds outputs and caches data inputs; "
            "or pull the cache from a remote"
            if not repair
            else "rebuild them with `mlrepro repro` (`mlrepro add PATH` for data no stage "
            "uses), or pull the cache from a remote",
        )
    if corrupt:
        raise MlreproError(
            f"{corrupt} corrupt object(s) in the cache",
            hint="run `mlrepro cache verify --repair`, then rebuild them (repro, add)",
        )


def shown_where(m: Missing) -> str:
    """Where a missing object belongs, its names quoted as git quotes them."""
    parts = [f"data {quoted(m.artifact)}"]
    if m.stage is not None:
        parts = [f"stage '{m.stage}', output {quoted(m.artifact)}"]
    if m.inner:
        parts.append(f"file {quoted(m.inner)}")
    elif m.tree:
        parts.append("its tree object")
    return ", ".join(parts)


def quoted(path: str) -> str:
    shown = shown_path(path)
    return shown if shown.startswith('"') else f"'{shown}'"
