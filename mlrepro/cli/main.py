"""The ``mlrepro`` command: a Click group whose subcommands load lazily.

Only this package imports Click. Subcommand modules are imported when they
are invoked, so ``mlrepro --version`` and ``--help`` never pay for the
pipeline loader, GitPython or pyarrow (start-up target: docs/cli.md); for the
same reason ``traceback`` is imported only when a bug is reported.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import importlib
import os
import sys
import threading
from typing import Any

import click

from mlrepro import __version__
from mlrepro.cli.group import Group
from mlrepro.errors import EXIT_ERROR, EXIT_INTERRUPTED, MlreproError, os_error

# Each command: its name (also the function's name in its module), the module under
# mlrepro.cli that defines it, and its one-line help. The help lives here so that
# `mlrepro --help` can list commands without importing them.
_TABLE = """
init      init      Create .mlrepro/ at the top of a git work tree.
stage     stage     Inspect the pipeline's stages.
dag       dag       Show the stage graph.
status    status    Show which stages would run, and why.
repro     repro     Run the stages whose inputs changed.
checkout  checkout  Make the workspace match mlrepro.lock from the cache.
add       add       Put raw data into the cache and record it.
audit     audit     Show and verify the tamper-evident audit log.
cache     cache     Inspect and repair the local cache.
config    config    Show or change a setting.
gc        gc        Delete cache objects no kept revision needs.
remote    config    Name the remote caches.
push      sync      Upload the cached outputs and data a remote lacks.
fetch     sync      Download the cached outputs and data the cache lacks.
pull      sync      Fetch, then make the workspace match mlrepro.lock.
diff      diff      Compare params, metrics, data and stages between two revisions.
lineage   lineage   Where an artifact came from and what used it, at any revision.
metrics   metrics   Show and compare metrics across revisions.
params    metrics   Compare params across revisions.
"""
# name -> (module, attribute, one-line help)
_COMMANDS: dict[str, tuple[str, str, str]] = {
    name: (f"mlrepro.cli.{module}", name, summary)
    for name, module, summary in (row.split(None, 2) for row in _TABLE.strip().splitlines())
}


class _LazyGroup(Group):
    """Lists and suggests commands from ``_COMMANDS`` alone: neither ``--help`` nor an
    unknown command imports a command's module."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = _COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module, attr, _ = entry
        command: click.Command = getattr(importlib.import_module(module), attr)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, help_) for name, (_, _, help_) in sorted(_COMMANDS.items())]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="mlrepro")
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Reproducible, auditable ML pipelines in git (reads DVC's dvc.yaml)."""
    ctx.obj = {"debug": debug}


def _report(exc: MlreproError) -> None:
    click.echo(f"error: {exc.message}", err=True)
    if exc.hint:
        click.echo(f"hint: {exc.hint}", err=True)


def main(argv: list[str] | None = None) -> Any:
    """Console-script entry point: the one place errors become exit codes. Run as the
    program (no ``argv``), it ends the process as soon as the command is done."""
    if argv is not None:
        return _main(argv)
    _tune_gc()
    try:
        result = _main(sys.argv[1:])
    except SystemExit as exc:
        _leave(exc.code)
    _leave(result)


def _tune_gc() -> None:
    """Collect cycles less often than Python's default (every 700 new objects).

    A command over a large folder builds hundreds of thousands of small objects
    that form no cycles (stat rows, digests, tree entries), and each collection
    walks every object still young, so the default spent 130 ms of an ``add`` of
    50,000 files in 600 collections, and 35-100 ms of a no-op ``status`` (about a
    tenth of it). At 10,000 the same ``add`` spends about 70 ms in 55. Only the
    program does this (``main()`` without ``argv``), not a caller importing it."""
    gc.set_threshold(10_000, 50, 100)


def _leave(code: Any) -> None:
    """Exit with ``code`` (as ``sys.exit`` would read it) without the interpreter's
    teardown, which frees every module and object one by one: 20-30 ms of every
    command on a small VM, for memory the OS takes back at once. Exit handlers run and
    the standard streams are flushed first, as in a normal exit; while a thread or a
    child process is still running, the exit is the normal one."""
    run_handlers = getattr(atexit, "_run_exitfuncs", None)
    children = sys.modules.get("multiprocessing")
    busy = any(t is not threading.main_thread() and not t.daemon for t in threading.enumerate())
    if run_handlers is None or busy or (children is not None and children.active_children()):
        sys.exit(code)
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:
        print(code, file=sys.stderr)
        status = 1
    run_handlers()
    for stream in (sys.stdout, sys.stderr):
        # a closed pipe (`mlrepro ... | head`) or stream
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(status)


def _report_usage(exc: click.UsageError) -> None:
    """A wrong command line as every other error (docs/cli.md, "Conventions"): one
    ``error:`` line and a hint naming the command's help, not Click's usage block."""
    message = exc.format_message()
    if message[:1].isupper() and message[1:2].islower():  # "Invalid value", not "PATHS"
        message = message[0].lower() + message[1:]
    command = exc.ctx.command_path if exc.ctx is not None else "mlrepro"
    click.echo(f"error: {message}", err=True)
    click.echo(f"hint: run '{command} --help' for its usage", err=True)


def _main(args: list[str]) -> Any:
    debug = "--debug" in args
    # A name that is not UTF-8 (its bytes held as lone surrogates) is written as its
    # escape, \udcNN, never an error: in JSON output that is the exact name (issue 15).
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    try:
        return cli.main(args=args, prog_name="mlrepro", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("error: interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except click.exceptions.NoArgsIsHelpError as exc:  # a group alone: its help
        exc.show()
        sys.exit(exc.exit_code)
    except click.UsageError as exc:
        _report_usage(exc)
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except MlreproError as exc:
        if debug:
            raise
        _report(exc)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("error: interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except BrokenPipeError:
        # `mlrepro stage list | head` closing the pipe is not an error.
        sys.stderr.close()
        sys.exit(0)
    except OSError as exc:
        # the system refused (a full or read-only disk, a permission, a limit): the
        # user's to fix, not a bug (issue 15); one line naming the path, and a hint
        if debug:
            raise
        error = os_error(exc)
        _report(error)
        sys.exit(error.exit_code)
    except Exception:  # pragma: no cover - a bug in mlrepro, not a user error
        if debug:
            raise
        import traceback  # only a bug pays for it (see the module's docstring)

        click.echo(
            "error: internal error in mlrepro (a bug): rerun with --debug and report it", err=True
        )
        click.echo(traceback.format_exc().splitlines()[-1], err=True)
        sys.exit(EXIT_ERROR)


if __name__ == "__main__":  # pragma: no cover
    main()
