"""``mlrepro gc`` (and ``gc -c``, on a remote)."""

from __future__ import annotations

import functools
import sys

import click

from mlrepro.cli.common import project_at
from mlrepro.ops.gc import gc as do_gc
from mlrepro.render.progress import human_size


def _size(n: int) -> str:
    return f"{n} bytes" if n < 1024 else human_size(n)


@click.command()
@click.option("-w", "--workspace", is_flag=True, help="Keep what the workspace's lock needs.")
@click.option("-a", "--all-branches", is_flag=True, help="Also keep what every branch needs.")
@click.option("-T", "--all-tags", is_flag=True, help="Also keep what every tag needs.")
@click.option("-A", "--all-commits", is_flag=True, help="Also keep what every commit needs.")
@click.option(
    "--rev", "revs", multiple=True, metavar="REV", help="Also keep what this revision needs (-c)."
)
@click.option("-c", "--cloud", is_flag=True, help="Collect garbage on a remote, not the cache.")
@click.option("-r", "--remote", help="The remote for -c (default: core.remote).")
@click.option(
    "--grace",
    type=click.FloatRange(min=0),
    default=24.0,
    show_default=True,
    help="With -c: hours during which a new object is kept whatever the scope.",
)
@click.option("--dry", "--dry-run", "dry", is_flag=True, help="Only show what would be removed.")
@click.option("-f", "--force", is_flag=True, help="Do not ask for confirmation.")
@click.option(
    "--wait", "wait_s", type=float, default=0.0, help="Seconds to wait for another mlrepro process."
)
def gc(
    workspace: bool,
    all_branches: bool,
    all_tags: bool,
    all_commits: bool,
    revs: tuple[str, ...],
    cloud: bool,
    remote: str | None,
    grace: float,
    dry: bool,
    force: bool,
    wait_s: float,
) -> None:
    """Delete cache objects that the kept revisions do not need."""
    if not (workspace or all_branches or all_tags or all_commits or revs):
        raise click.UsageError(
            "say what to keep: -w (the workspace), -a (branches), -T (tags) or -A (all commits)"
        )
    if remote and not cloud:
        raise click.UsageError("-r/--remote needs -c/--cloud (as in DVC)")
    if revs and not cloud:
        raise click.UsageError("--rev is for -c/--cloud; local gc keeps -w, -a, -T or -A")
    scope = {"all_branches": all_branches, "all_tags": all_tags, "all_commits": all_commits}
    ask = not force and sys.stdin.isatty()
    if cloud:
        _remote_gc(remote, scope, revs, grace * 3600, dry, ask, wait_s)
        return
    with project_at() as project:
        # the plan is computed on its own only to show it, or to ask before deleting
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


def _remote_gc(
    remote: str | None,
    scope: dict[str, bool],
    revs: tuple[str, ...],
    grace: float,
    dry: bool,
    ask: bool,
    wait_s: float,
) -> None:
    from mlrepro.ops.remotegc import remote_gc

    with project_at() as project:
        run = functools.partial(
            remote_gc, project, remote=remote, revs=revs, grace=grace, wait_for_lock=wait_s, **scope
        )
        if dry or ask:
            plan = run(dry=True)
            what = f"{len(plan.removed)} object(s), {_size(plan.freed)}"
            young = f" ({plan.young} newer than the grace period kept)" if plan.young else ""
            if dry:
                for xxh, size in plan.removed:
                    click.echo(f"would remove xxh3-128:{xxh} ({_size(size)})")
            if dry or not plan.removed:
                click.echo(
                    (
                        f"would remove {what} from remote '{plan.remote}'"
                        if plan.removed
                        else "nothing to remove"
                    )
                    + young
                )
                return
            click.confirm(f"remove {what} from remote '{plan.remote}'?", abort=True)
        done = run()
        if not done.removed:
            click.echo("nothing to remove")
            return
        click.echo(
            f"removed {len(done.removed)} object(s), {_size(done.freed)} from remote "
            f"'{done.remote}'; kept {done.kept} for {len(done.kept_revisions)} revision(s)"
            + (f" and {done.young} newer than the grace period" if done.young else "")
        )
