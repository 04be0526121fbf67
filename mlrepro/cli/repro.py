"""``mlrepro repro``."""

from __future__ import annotations

import os
import signal
import sys
import threading

import click

from mlrepro.cli.common import project_at
from mlrepro.engine.outcome import Action, Event
from mlrepro.errors import EXIT_INTERRUPTED, MlreproError
from mlrepro.ops.repro import repro as do_repro
from mlrepro.render import status as render_status
from mlrepro.workspace.project import Project


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _pull_first(project: Project, jobs: int | None, wait_s: float, quiet: bool) -> None:
    """``--pull``: what was fetched is said; what could not be is a warning, not a failure
    (the stages it would have restored run)."""
    from mlrepro.ops.sync import pull_for_repro
    from mlrepro.render.progress import TransferBar

    bar = TransferBar("pulling", sys.stderr, enabled=sys.stderr.isatty() and not quiet)
    try:
        fetched, note = pull_for_repro(project, progress=bar, wait_for_lock=wait_s)
    except MlreproError as exc:
        click.echo(f"warning: nothing was pulled: {exc.message}", err=True)
        return
    finally:
        bar.close()
    if not quiet:
        click.echo(note)
        click.echo(
            f"pulled {fetched.objects} files and {fetched.runs} run-cache entries "
            f"from remote '{fetched.remote}'"
        )
    if not fetched.ok:
        click.echo(
            f"warning: {len(fetched.missing) + len(fetched.failed)} object(s) could not be "
            "pulled; the stages that need them will run",
            err=True,
        )


@click.command()
@click.argument("targets", nargs=-1)
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=1),
    default=None,
    help="Stages to run at once (default: the number of CPU cores).",
)
@click.option(
    "-f", "--force", is_flag=True, help="Run the selected stages even if nothing changed."
)
@click.option("--dry", is_flag=True, help="Only say what would run.")
@click.option(
    "--downstream", is_flag=True, help="Run the targets and the stages that depend on them."
)
@click.option(
    "-s", "--single-item", is_flag=True, help="Run only the targets, not what they depend on."
)
@click.option(
    "-k",
    "--keep-going",
    is_flag=True,
    help="After a failure, go on with stages that do not depend on it.",
)
@click.option(
    "--no-run-cache",
    is_flag=True,
    help="Never restore outputs from the run-cache; run the commands.",
)
@click.option(
    "--pull",
    is_flag=True,
    help="First pull the audit log (git's origin), the run-cache and the lock's outputs "
    "(the default remote).",
)
@click.option(
    "--wait", "wait_s", type=float, default=0.0, help="Seconds to wait for another mlrepro process."
)
@click.option(
    "-q",
    "--quiet",
    is_flag=True,
    help="Print no progress lines (errors and the commands' own output still show).",
)
def repro(
    targets: tuple[str, ...],
    jobs: int | None,
    force: bool,
    dry: bool,
    downstream: bool,
    single_item: bool,
    keep_going: bool,
    no_run_cache: bool,
    pull: bool,
    wait_s: float,
    quiet: bool,
) -> None:
    """Run the stages whose inputs changed, independent ones in parallel."""
    out_lock = threading.Lock()

    def on_event(event: Event, stage_id: str, text: str) -> None:
        if quiet and event not in (Event.LINE, Event.FAILED):
            return
        with out_lock:
            match event:
                case Event.LINE:
                    click.echo(f"[{stage_id}] {text}")
                case Event.COMMAND:
                    click.echo(f"> {text}")  # as DVC prints it
                case Event.START:
                    click.echo(f"Running stage '{stage_id}': {text}")
                case Event.RESTORED:
                    click.echo(f"Stage '{stage_id}' restored from the run-cache")
                case Event.SKIPPED:
                    click.echo(f"Stage '{stage_id}' is {text}")
                case Event.DONE:
                    click.echo(f"Stage '{stage_id}' finished in {text}")
                case Event.FAILED:
                    click.echo(f"Stage '{stage_id}' failed: {text}", err=True)
            sys.stdout.flush()

    with project_at() as project:
        # A CI runner cancelling the job sends SIGTERM: stop the stages as for Ctrl-C.
        signal.signal(signal.SIGTERM, _raise_interrupt)
        if pull:
            _pull_first(project, jobs, wait_s, quiet)
        try:
            result = do_repro(
                project,
                targets=list(targets),
                jobs=jobs,
                force=force,
                dry=dry,
                downstream=downstream,
                single_item=single_item,
                keep_going=keep_going,
                use_run_cache=not no_run_cache,
                on_event=on_event,
                wait_for_lock=wait_s,
            )
        except KeyboardInterrupt:
            click.echo("error: interrupted; stages that had finished are recorded", err=True)
            os._exit(EXIT_INTERRUPTED)  # do not wait for killed stages' threads
    if dry:
        if not quiet:
            click.echo(render_status.dry_run(result))
        return
    failed = result.failed
    if failed:
        names = ", ".join(f"'{o.id}'" for o in failed)
        raise MlreproError(
            f"stage {names} failed: {failed[0].message}",
            hint=failed[0].hint
            or "fix the stage and run `mlrepro repro` again; finished stages are kept",
        )
    if quiet:
        return
    ran, restored = result.count(Action.RAN), result.count(Action.RESTORED)
    if ran or restored:
        click.echo(f"Done: {ran} ran, {restored} restored from the run-cache.")
    else:
        click.echo("Everything is up to date.")
