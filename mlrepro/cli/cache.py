"""``mlrepro cache verify``."""

from __future__ import annotations

import click

from mlrepro.cli.common import project_at
from mlrepro.cli.group import Group
from mlrepro.engine.artifacts import Missing
from mlrepro.errors import MlreproError
from mlrepro.ops.cache import verify as do_verify
from mlrepro.render.names import shown_path


@click.group(cls=Group)
def cache() -> None:
    """Inspect and repair the local cache."""


@cache.command()
@click.option(
    "--repair",
    is_flag=True,
    help="Delete corrupt objects, run-cache entries the audit log does not bear out, and "
    "stray temporary files.",
)
@click.option(
    "--wait", "wait_s", type=float, default=0.0, help="Seconds to wait for another mlrepro process."
)
def verify(repair: bool, wait_s: float) -> None:
    """Re-hash every cache object, check that every object mlrepro.lock needs is there, and
    that every run-cache entry is bound to the audit log."""
    with project_at() as project:
        result = do_verify(project, repair=repair, wait_for_lock=wait_s)
    for x in result.corrupt:
        click.echo(f"corrupt  xxh3-128:{x}" + ("  (removed)" if repair else ""))
    for path in result.recached:
        click.echo(f"re-cached {shown_path(path)} from the workspace")
    for m in result.missing:
        click.echo(f"missing  xxh3-128:{m.xxh} ({shown_where(m)})")
    for u in result.unbound:
        word = "unbound " if u.forged else "outdated"
        click.echo(f"{word} run-cache {u.key}: {u.why}" + ("  (removed)" if repair else ""))
    absent = len({m.xxh for m in result.missing})
    old = len(result.unbound) - len(result.forged)
    n = result.runs_checked
    click.echo(
        f"{n} run-cache entr{'y' if n == 1 else 'ies'} checked, {len(result.forged)} not bound "
        f"to the audit log" + (f", {old} outdated" if old else "") + "."
    )
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
    forged = len(result.forged) if not repair else 0
    if forged:
        # the first error named: an entry that could restore the wrong bytes is the
        # worse news; repair removes it, and the stage's next run writes a bound one
        what = f"{forged} run-cache entr{'y' if forged == 1 else 'ies'} not bound to the audit log"
        if corrupt or absent:
            what += f"; and {corrupt} corrupt, {absent} missing object(s)"
        raise MlreproError(
            what,
            hint="run `mlrepro cache verify --repair` to remove them (repro then runs those "
            "stages and writes bound entries); if they came with another clone's cache, "
            "`mlrepro audit pull` brings the log that binds them",
        )
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
