"""``mlrepro gc``."""

from __future__ import annotations

import sys

import click

from mlrepro.cli.common import project_at
from mlrepro.ops.gc import gc as do_gc


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} bytes"
    value = n / 1024
    for unit in ("KiB", "MiB"):
        if value < 1024:
            return f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"


@click.command()
@click.option("-w", "--workspace", is_flag=True, help="Keep what the workspace's lock needs.")
@click.option("-a", "--all-branches", is_flag=True, help="Also keep what every branch needs.")
@click.option("-T", "--all-tags", is_flag=True, help="Also keep what every tag needs.")
@click.option("-A", "--all-commits", is_flag=True, help="Also keep what every commit needs.")
@click.option("--dry", is_flag=True, help="Only show what would be removed.")
@click.option("-f", "--force", is_flag=True, help="Do not ask for confirmation.")
@click.option(
    "--wait", "wait_s", type=float, default=0.0, help="Seconds to wait for another mlrepro process."
)
def gc(
    workspace: bool,
    all_branches: bool,
    all_tags: bool,
    all_commits: bool,
    dry: bool,
    force: bool,
    wait_s: float,
) -> None:
    """Delete cache objects that the kept revisions do not need."""
    if not (workspace or all_branches or all_tags or all_commits):
        raise click.UsageError(
            "say what to keep: -w (the workspace), -a (branches), -T (tags) or -A (all commits)"
        )
    scope = {"all_branches": all_branches, "all_tags": all_tags, "all_commits": all_commits}
    with project_at() as project:
        # the plan is computed on its own only to show it, or to ask before deleting
        ask = not force and sys.stdin.isatty()
        if dry or ask:
            plan = do_gc(project, **scope, dry=True, wait_for_lock=wait_s)
            what = f"{len(plan.removed)} object(s), {_size(plan.freed)}"
            if dry or not plan.removed:
                click.echo(f"would remove {what}" if plan.removed else "nothing to remove")
                return
            click.confirm(f"remove {what} from the cache?", abort=True)
        done = do_gc(project, **scope, wait_for_lock=wait_s)
        if not done.removed:
            click.echo("nothing to remove")
            return
        click.echo(
            f"removed {len(done.removed)} object(s), {_size(done.freed)}; "
            f"kept {done.kept} for {len(done.kept_revisions)} revision(s)"
        )
