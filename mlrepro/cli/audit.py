"""``mlrepro audit log|verify``."""

from __future__ import annotations

import json
import sys

import click

from mlrepro.audit.chain import parse
from mlrepro.audit.store import AuditStore
from mlrepro.audit.verify import deep_check, verify_log
from mlrepro.errors import EXIT_ERROR
from mlrepro.workspace.project import Project

AUDIT_LOG_JSON_VERSION = 1


@click.group()
def audit() -> None:
    """The tamper-evident audit log (refs/mlrepro/audit)."""


@audit.command("log")
@click.option("--commit", "commit", help="Only entries made on this git commit (prefix).")
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
    project = Project.find()
    store = AuditStore(project.root, project.state_dir)
    try:
        entries = [e for e in (parse(s) for s in store.all()) if e is not None]
    finally:
        store.close()
        project.close()
    from mlrepro.audit.entry import entry_id

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

    chosen = sorted((e for e in entries if keep(e)), key=lambda e: e.get("seq", 0), reverse=True)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "version": AUDIT_LOG_JSON_VERSION,
                    "entries": [{"id": entry_id(e), **e} for e in chosen],
                },
                indent=2,
            )
        )
        return
    for e in chosen:
        who = (e.get("actor") or {}).get("git_email") or (e.get("actor") or {}).get("os_user")
        details = e.get("details") or {}
        what = details.get("stage") or (details.get("artifact") or {}).get("path") or ""
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
    project = Project.find()
    store = AuditStore(project.root, project.state_dir)
    try:
        verdict = verify_log(store)
        deep_result = deep_check(store, project.store) if deep else None
    finally:
        store.close()
        project.close()
    for b in verdict.breaks:
        where = f"entry #{b.seq} ({b.entry[:16]}…)" if b.seq >= 0 else f"{b.entry[:16]}…"
        click.echo(f"BROKEN {where}: {b.kind}: {b.why}")
    if deep_result is not None:
        for digest, why in deep_result.mismatches:
            click.echo(f"MISMATCH {digest}: {why}")
    ok = verdict.ok and (deep_result is None or not deep_result.mismatches)
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
