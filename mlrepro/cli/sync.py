"""``mlrepro push``, ``fetch`` and ``pull``."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import click

from mlrepro.cli.common import project_at
from mlrepro.errors import MlreproError
from mlrepro.ops.sync import SyncResult, do_fetch, do_pull, do_push
from mlrepro.render.names import shown_path, shown_text
from mlrepro.render.progress import TransferBar, human_size
from mlrepro.snapshot.scope import Scope


def _options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The options push, fetch and pull share (DVC's, plus --rev)."""
    for decorator in reversed(
        [
            click.argument("targets", nargs=-1),
            click.option("-r", "--remote", help="The remote to use (default: core.remote)."),
            click.option(
                "-j",
                "--jobs",
                type=click.IntRange(min=1),
                help="Transfers at once (default: 64 to object storage, 4 per core to a folder).",
            ),
            click.option(
                "-a", "--all-branches", is_flag=True, help="Also what every branch's lock names."
            ),
            click.option(
                "-T", "--all-tags", is_flag=True, help="Also what every tag's lock names."
            ),
            click.option(
                "-A", "--all-commits", is_flag=True, help="Also what every commit's lock names."
            ),
            click.option(
                "--rev",
                "revs",
                multiple=True,
                metavar="REV",
                help="Also what this revision's lock names (repeatable; not in DVC).",
            ),
            click.option(
                "-d", "--with-deps", is_flag=True, help="Also the stages the targets depend on."
            ),
            click.option(
                "--run-cache",
                is_flag=True,
                help="Also the run-cache entries (and the outputs they restore).",
            ),
            click.option(
                "--wait",
                "wait_s",
                type=float,
                default=0.0,
                help="Seconds to wait for another mlrepro process.",
            ),
        ]
    ):
        fn = decorator(fn)
    return fn


def _scope(targets: tuple[str, ...], **flags: Any) -> Scope:
    return Scope(
        targets=targets,
        with_deps=flags["with_deps"],
        all_branches=flags["all_branches"],
        all_tags=flags["all_tags"],
        all_commits=flags["all_commits"],
        revs=tuple(flags["revs"]),
    )


def _run(
    verb: str, op: Callable[..., SyncResult], targets: tuple[str, ...], **flags: Any
) -> SyncResult:
    bar = TransferBar(verb, sys.stderr, enabled=sys.stderr.isatty())
    try:
        with project_at() as project:
            return op(
                project,
                _scope(targets, **flags),
                remote=flags["remote"],
                jobs=flags["jobs"],
                run_cache=flags["run_cache"],
                progress=bar,
                wait_for_lock=flags["wait_s"],
            )
    finally:
        bar.close()


def _report(result: SyncResult, done: str, failing: str, *, idle: bool = True) -> None:
    """The summary line, each path that did not move, and the error that says so."""
    for path, digest in result.missing:
        click.echo(
            f"missing  {shown_path(path)} ({digest}): in neither the cache nor remote "
            f"'{result.remote}'",
            err=True,
        )
    for path, why in result.failed:
        click.echo(f"failed   {shown_path(path)}: {shown_text(why)}", err=True)
    runs = f"{result.runs} run-cache {'entry' if result.runs == 1 else 'entries'}"
    if result.objects:
        noun = "file" if result.objects == 1 else "files"
        click.echo(
            f"{result.objects} {noun} {done} ({human_size(result.bytes)})"
            + (f" and {runs}" if result.runs else "")
            + f", remote '{result.remote}'"
        )
    elif result.runs:
        click.echo(f"{runs} {done}, remote '{result.remote}'")
    elif result.ok and idle:
        click.echo("Everything is up to date.")
    if not result.ok:
        count = len(result.missing) + len(result.failed)
        raise MlreproError(
            f"{count} object(s) {failing}",
            hint="the lines above name each one; run the command again once its cause is "
            "fixed (what moved stays moved)",
        )


@click.command()
@_options
def push(targets: tuple[str, ...], **flags: Any) -> None:
    """Upload the cached outputs and data the remote lacks."""
    result = _run("pushing", do_push, targets, **flags)
    _report(result, "pushed", "could not be pushed")


@click.command()
@_options
def fetch(targets: tuple[str, ...], **flags: Any) -> None:
    """Download the cached outputs and data the cache lacks."""
    result = _run("fetching", do_fetch, targets, **flags)
    _report(result, "fetched", "could not be fetched")


@click.command()
@_options
def pull(targets: tuple[str, ...], **flags: Any) -> None:
    """Fetch, then make the workspace match mlrepro.lock."""
    result = _run("pulling", do_pull, targets, **flags)
    restored = result.checkout
    assert restored is not None
    for path in restored.restored:
        click.echo(f"restored {shown_path(path)}")
    for path, why in restored.missing:
        click.echo(f"missing  {shown_path(path)}: {shown_text(why)}", err=True)
    _report(result, "fetched", "could not be fetched", idle=not restored.restored)
    if restored.missing:
        raise MlreproError(
            f"{len(restored.missing)} path(s) could not be restored",
            hint="push them from a clone that has them, or run `mlrepro repro` to rebuild them",
        )
