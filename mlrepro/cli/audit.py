"""``mlrepro audit log|verify``."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator

import click

from mlrepro.audit import export as ex
from mlrepro.audit import parquet
from mlrepro.audit.deep import deep_check
from mlrepro.audit.store import AuditStore
from mlrepro.audit.sync import pull as do_pull
from mlrepro.audit.sync import push as do_push
from mlrepro.audit.verify import check_remotes, verify_log
from mlrepro.cli.common import project_at
from mlrepro.cli.group import Group
from mlrepro.errors import EXIT_ERROR, UsageError
from mlrepro.fsutil import atomic_write
from mlrepro.ops.auditlog import audit_log
from mlrepro.render import audit as render
from mlrepro.workspace.project import Project
from mlrepro.workspace.repolock import RepoLock


@contextlib.contextmanager
def _log_of(project: Project, *, locked: bool = False) -> Iterator[AuditStore]:
    """The project's audit log, closed afterwards (``locked``: under the repository lock,
    for commands that change it)."""
    store = AuditStore(project.root, project.state_dir)
    try:
        if locked:
            with RepoLock(project.state_dir):
                yield store
        else:
            yield store
    finally:
        store.close()


@click.group(cls=Group)
def audit() -> None:
    """The tamper-evident audit log (refs/mlrepro/audit)."""


@audit.command("log")
@click.option(
    "--commit", "commit", help="Only entries made on this git commit (a revision or an id prefix)."
)
@click.option("--since", help="Only entries at or after this UTC time (ISO 8601).")
@click.option("--actor", help="Only entries whose git name, email or OS user contains this.")
@click.option("--action", "action_", help="Only this action (stage.run, checkout, add...).")
@click.option("--stage", help="Only entries about this stage.")
@click.option("--json", "as_json", is_flag=True, help="Versioned JSON.")
def log(
    commit: str | None,
    since: str | None,
    actor: str | None,
    action_: str | None,
    stage: str | None,
    as_json: bool,
) -> None:
    """Show the audit log, newest first (entries that fail verification marked)."""
    with project_at() as project:
        listing = audit_log(
            project, commit=commit, since=since, actor=actor, action=action_, stage=stage
        )
    if as_json:
        click.echo(render.log_json(listing.entries))
    else:
        for c in listing.entries:
            click.echo(render.log_line(c))
    if not listing.report.ok:
        click.echo(render.log_warning(listing.report), err=True)


@audit.command("verify")
@click.option("--deep", is_flag=True, help="Also re-hash every cached artifact the log names.")
def verify(deep: bool) -> None:
    """Check every entry's id and every link; exit 0 only when everything checks."""
    with project_at() as project, _log_of(project) as store:
        report = verify_log(store)
        deep_result = deep_check(store, project.store) if deep else None
        remotes = check_remotes(store)
    if report.unremembered:
        click.echo(
            f"warning: could not remember the verified head ({report.unremembered}); "
            "the next audit verify compares with the head remembered before",
            err=True,
        )
    for name, theirs in sorted(remotes.items()):
        for line in render.verify_lines(theirs, f"in the log {name}: "):
            click.echo(line)
    for line in render.verify_lines(report):
        click.echo(line)
    if deep_result is not None:
        for digest, why in deep_result.mismatches:
            click.echo(f"MISMATCH {digest}: {why}")
    ok = (
        report.ok
        and (deep_result is None or not deep_result.mismatches)
        and all(r.ok for r in remotes.values())
    )
    summary = render.summary_line(report)
    if deep_result is not None:
        summary += f", {deep_result.checked} artifacts re-hashed"
    if ok:
        click.echo(f"audit log OK: {summary}, head {report.heads[0][:16] if report.heads else '-'}")
        return
    click.echo(f"audit log NOT OK: {summary}", err=True)
    sys.exit(EXIT_ERROR)


@audit.command("push")
@click.argument("remote", default="origin")
def push(remote: str) -> None:
    """Send the audit log to a git remote (refs/mlrepro/audit)."""
    with project_at() as project, _log_of(project, locked=True) as store:
        count = do_push(store, remote)
    click.echo(f"pushed the audit log ({count} entries) to {remote}")


@audit.command("pull")
@click.argument("remote", default="origin")
def pull(remote: str) -> None:
    """Fetch a remote's audit log and join it with this clone's (nothing is lost)."""
    with project_at() as project, _log_of(project, locked=True) as store:
        result = do_pull(store, remote)
    if result.how == "nothing":
        click.echo(f"{remote} has no audit log yet")
    elif result.how == "up-to-date":
        click.echo("the audit log is up to date")
    else:
        click.echo(f"{result.how}: {result.added} entries from {remote}")
    if result.unanchored:
        n = result.unanchored
        names = "checkpoints name entries" if n != 1 else "checkpoint names an entry"
        click.echo(
            f"warning: {n} committed {names} that neither this clone's log nor "
            f"{remote}'s holds; `mlrepro audit verify` lists them",
            err=True,
        )


@audit.command("export")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["jsonl", "parquet", "openlineage", "prov", "in-toto"]),
    required=True,
    help="jsonl (the entries), parquet (a table), openlineage (RunEvents), prov (W3C PROV-JSON), "
    "in-toto (Statement v1 + SLSA provenance per stage run).",
)
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False), help="Write here (default: stdout)."
)
def export(fmt: str, output: str | None) -> None:
    """Export the audit log for other tools."""
    with project_at() as project, _log_of(project) as store:
        entries = store.entries()
    if fmt == "parquet":
        if output is None:
            raise UsageError("--format parquet needs --output FILE")
        count = parquet.write(entries, output)
        click.echo(f"wrote {count} entries to {output}", err=True)
        return
    namespace = f"mlrepro://{os.path.basename(project.root)}"
    text = {
        "jsonl": lambda: ex.jsonl(entries),
        "openlineage": lambda: ex.openlineage(entries, namespace),
        "prov": lambda: ex.prov(entries),
        "in-toto": lambda: ex.in_toto(entries),
    }[fmt]()
    if output is None:
        click.echo(text, nl=False)
    else:
        atomic_write(output, text.encode("utf-8"))
        click.echo(f"wrote {output}", err=True)
