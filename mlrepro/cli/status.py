"""``mlrepro status`` (and ``status -c``, against a remote)."""

from __future__ import annotations

import sys

import click

from mlrepro.cli.common import project_at
from mlrepro.errors import EXIT_CHANGED
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
@click.option("-c", "--cloud", is_flag=True, help="Compare the cache with a remote instead.")
@click.option("-r", "--remote", help="The remote to compare with (implies -c).")
@click.option("-a", "--all-branches", is_flag=True, help="With -c: also every branch's lock.")
@click.option("-T", "--all-tags", is_flag=True, help="With -c: also every tag's lock.")
@click.option("-A", "--all-commits", is_flag=True, help="With -c: also every commit's lock.")
@click.option(
    "--rev", "revs", multiple=True, metavar="REV", help="With -c: also this revision's lock."
)
@click.option("-j", "--jobs", type=click.IntRange(min=1), help="With -c: requests at once.")
def status(
    targets: tuple[str, ...],
    why: bool,
    as_json: bool,
    check: bool,
    cloud: bool,
    remote: str | None,
    all_branches: bool,
    all_tags: bool,
    all_commits: bool,
    revs: tuple[str, ...],
    jobs: int | None,
) -> None:
    """Show which stages would run (and why) and which data inputs changed."""
    history = {
        "-a": all_branches,
        "-T": all_tags,
        "-A": all_commits,
        "--rev": bool(revs),
        "-j": bool(jobs),
    }
    if cloud or remote:
        from mlrepro.ops.cloudstatus import cloud_status
        from mlrepro.snapshot.scope import Scope

        scope = Scope(
            targets=targets,
            all_branches=all_branches,
            all_tags=all_tags,
            all_commits=all_commits,
            revs=revs,
        )
        with project_at() as project:
            report = cloud_status(project, scope, remote=remote, jobs=jobs)
        click.echo(render.cloud_json(report) if as_json else render.cloud_text(report))
        if check and not report.in_sync:
            sys.exit(EXIT_CHANGED)
        return
    meaningless = [flag for flag, given in history.items() if given]
    if meaningless:
        raise click.UsageError(
            f"{', '.join(meaningless)}: meaningful only with -c/--cloud (as in DVC)"
        )
    from mlrepro.ops.status import status as do_status

    with project_at() as project:
        local = do_status(project, targets=list(targets))
    click.echo(render.to_json(local) if as_json else render.to_text(local, why=why))
    if check and local.changed:
        sys.exit(EXIT_CHANGED)
