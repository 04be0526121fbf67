"""``mlrepro audit log|verify``."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from typing import Any

import click

from mlrepro.audit.store import AuditStore
from mlrepro.audit.sync import pull as do_pull
from mlrepro.audit.sync import push as do_push
from mlrepro.audit.sync import verify_remotes
from mlrepro.audit.verify import deep_check, verify_log
from mlrepro.errors import EXIT_ERROR, UsageError
from mlrepro.workspace.project import Project
from mlrepro.workspace.repolock import RepoLock

AUDIT_LOG_JSON_VERSION = 1


@contextlib.contextmanager
def _opened(*, locked: bool = False) -> Iterator[tuple[Project, AuditStore]]:
    """This project's audit log, closed afterwards (``locked``: under the repository lock,
    for commands that change it)."""
    project = Project.find()
    store = AuditStore(project.root, project.state_dir)
    try:
        if locked:
            with RepoLock(project.state_dir):
                yield project, store
        else:
            yield project, store
    finally:
        store.close()
        project.close()


def _what(details: dict[str, Any]) -> str:
    """The thing an entry is about, for the one-line listing."""
    if details.get("stage"):
        return str(details["stage"])
    if isinstance(details.get("artifact"), dict):
        return str(details["artifact"].get("path", ""))
    if details.get("name"):  # config and remote changes
        return str(details["name"])
    removed = details.get("removed")
    if isinstance(removed, int | list):  # gc, repair
        count = removed if isinstance(removed, int) else len(removed)
        return f"{count} object{'s' if count != 1 else ''}"
    return ""


@click.group()
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
    """Show the audit log, newest first."""
    with _opened() as (_project, store):
        entries = store.entries()
        if commit is not None:
            # a revision (branch, tag, HEAD~2) names its commit; anything else is an id prefix
            resolved = store.git.tip(f"{commit}^{{commit}}")
            commit = resolved or commit

    def keep(e: dict) -> bool:  # type: ignore[type-arg]
        details = e.get("details") or {}
        who = " ".join(str(v) for v in (e.get("actor") or {}).values())
        return (
            (commit is None or str((e.get("git") or {}).get("commit") or "").startswith(commit))
            and (since is None or str(e.get("time", "")) >= since)
            and (actor is None or actor.lower() in who.lower())
            and (action_ is None or e.get("action") == action_)
            and (stage is None or details.get("stage") == stage)
        )

    chosen = [(eid, e) for eid, e in reversed(entries) if keep(e)]  # newest first
    if as_json:
        click.echo(
            json.dumps(
                {
                    "version": AUDIT_LOG_JSON_VERSION,
                    "entries": [{"id": eid, **e} for eid, e in chosen],
                },
                indent=2,
            )
        )
        return
    for _eid, e in chosen:
        who = (e.get("actor") or {}).get("git_email") or (e.get("actor") or {}).get("os_user")
        details = e.get("details") or {}
        what = _what(details)
        status = details.get("status")
        git = e.get("git") or {}
        click.echo(
            f"#{e.get('seq')}  {e.get('time')}  {e.get('action')}  {what}"
            + (f"  [{status}]" if status and status != "succeeded" else "")
            + f"  by {who} on {e.get('host')}"
            + f"  at {str(git.get('commit') or '-')[:12]}{' (dirty)' if git.get('dirty') else ''}"
        )


@audit.command("verify")
@click.option("--deep", is_flag=True, help="Also re-hash every cached artifact the log names.")
def verify(deep: bool) -> None:
    """Check every entry's id and every link; exit 0 only when everything checks."""
    with _opened() as (project, store):
        verdict = verify_log(store)
        deep_result = deep_check(store, project.store) if deep else None
        remotes = verify_remotes(store)
    for name, lines in sorted(remotes.items()):
        for line in lines:
            click.echo(f"BROKEN in the log fetched from '{name}': {line}")
    for b in verdict.breaks:
        where = f"entry #{b.seq} ({b.entry[:16]}…)" if b.seq >= 0 else f"{b.entry[:16]}…"
        click.echo(f"BROKEN {where}: {b.kind}: {b.why}")
    if deep_result is not None:
        for digest, why in deep_result.mismatches:
            click.echo(f"MISMATCH {digest}: {why}")
    ok = (
        verdict.ok
        and (deep_result is None or not deep_result.mismatches)
        and not any(remotes.values())
    )
    summary = f"{verdict.entries} entries"
    if deep_result is not None:
        summary += f", {deep_result.checked} artifacts re-hashed"
    if ok:
        click.echo(
            f"audit log OK: {summary}, head {verdict.heads[0][:16] if verdict.heads else '-'}"
        )
        return
    click.echo(f"audit log NOT OK: {summary}", err=True)
    sys.exit(EXIT_ERROR)


@audit.command("push")
@click.argument("remote", default="origin")
def push(remote: str) -> None:
    """Send the audit log to a git remote (refs/mlrepro/audit)."""
    with _opened(locked=True) as (_project, store):
        count = do_push(store, remote)
    click.echo(f"pushed the audit log ({count} entries) to {remote}")


@audit.command("pull")
@click.argument("remote", default="origin")
def pull(remote: str) -> None:
    """Fetch a remote's audit log and join it with this clone's (nothing is lost)."""
    with _opened(locked=True) as (_project, store):
        result = do_pull(store, remote)
    if result.how == "nothing":
        click.echo(f"{remote} has no audit log yet")
    elif result.how == "up-to-date":
        click.echo("the audit log is up to date")
    else:
        click.echo(f"{result.how}: {result.added} entries from {remote}")


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
    import os

    from mlrepro.audit import export as ex

    with _opened() as (project, store):
        entries = store.entries()
    if fmt == "parquet":
        from mlrepro.audit import parquet

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
        from mlrepro.fsutil import atomic_write

        atomic_write(output, text.encode("utf-8"))
        click.echo(f"wrote {output}", err=True)
