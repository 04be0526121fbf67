"""``audit log`` and ``audit verify`` as text and versioned JSON."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from mlrepro.audit.entry import part
from mlrepro.audit.verify import Checked, Problem, Report

AUDIT_LOG_JSON_VERSION = 1

# the tag an entry that fails verification gets in `audit log`, by kind: the entry after
# a removed one is not itself removed
_TAG = {"removed": "the entry before it is gone"}


def what(details: dict[str, Any]) -> str:
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


def log_line(c: Checked) -> str:
    e = c.entry
    actor, details, git = part(e, "actor"), part(e, "details"), part(e, "git")
    who = actor.get("git_email") or actor.get("os_user")
    status = details.get("status")
    broken = c.problem
    return shown(
        f"#{e.get('seq')}  {e.get('time')}  {e.get('action')}  {what(details)}"
        + (f"  [{status}]" if status and status != "succeeded" else "")
        + (f"  [BROKEN: {_TAG.get(broken.kind, broken.kind)}]" if broken else "")
        + f"  by {who} on {e.get('host')}"
        + f"  at {str(git.get('commit') or '-')[:12]}{' (dirty)' if git.get('dirty') else ''}"
    )


# control characters, and the two line breaks beyond them that str.splitlines (and so
# the readers of a saved report) take for the end of a line
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def shown(text: str) -> str:
    """Entry text as printed: control characters (a newline, a terminal escape) written
    as ``\\xNN`` (U+2028 and U+2029 as ``\\u2028``, ``\\u2029``), so no entry, edited or
    not, can forge a line of a report or restyle it."""
    return _CONTROL.sub(_escape, text)


def _escape(m: re.Match[str]) -> str:
    code = ord(m.group())
    return f"\\u{code:04x}" if code > 0xFF else f"\\x{code:02x}"


def log_json(chosen: Iterable[Checked]) -> str:
    """``{"version": 1, "entries": [{"id": …, …the entry…, "verified": …}]}``: ``id`` and
    ``verified`` (it passed every check of ``audit verify``) are set last, so an entry
    that holds keys of those names cannot pass for another or for a sound one."""
    rows = []
    for c in chosen:
        row: dict[str, Any] = {"id": c.id}
        row.update(c.entry)
        row["id"] = c.id
        row["verified"] = c.problem is None
        rows.append(row)
    return json.dumps({"version": AUDIT_LOG_JSON_VERSION, "entries": rows}, indent=2)


def verify_lines(report: Report, where: str = "") -> list[str]:
    """One ``BROKEN`` line per broken entry, then one line on what follows from the
    first; nothing for a log that verifies. ``where``: which log, for a fetched one."""
    if report.ok:
        return []
    lines = [f"BROKEN {where}{_name(p)}: {p.kind}: {p.why}" for p in report.problems]
    return [*lines, where + consequence(report)]


def log_warning(report: Report) -> str:
    """The note ``audit log`` adds on a log that does not verify."""
    first = report.problems[0]
    if first.kind == "truncated":
        where = "the head this clone verified before is gone"
    elif first.checkpoint:
        where = "a committed checkpoint names an entry the log does not hold"
    else:
        where = f"the chain breaks at entry #{first.seq} ({first.kind})"
    return f"warning: the audit log does not verify: {where}; see `mlrepro audit verify`"


def summary_line(report: Report) -> str:
    """What was checked, for the closing line: ``5 entries``, ``5 entries, 1 broken``,
    ``2 entries, 3 checkpoints missing``."""
    # a head that is gone and a checkpoint the log lacks are not entries of the log
    broken = sum(1 for p in report.problems if p.kind != "truncated" and not p.checkpoint)
    missing = sum(1 for p in report.problems if p.kind == "missing")
    return (
        f"{report.found} entries"
        + (f", {broken} broken" if broken else "")
        + (f", {missing} checkpoint{'s' if missing != 1 else ''} missing" if missing else "")
    )


def consequence(report: Report) -> str:
    """What follows from the first break for the rest of the log (see
    :mod:`mlrepro.audit.verify`: the head vouches for the entries down to a break)."""
    first = report.problems[0]
    chained, cut = _span(report.chained), _span(report.cut_off)
    if first.checkpoint:
        newest = max((c.entry.get("seq", 0) for c in report.entries), default=0)
        return (
            "committed history names entries this log does not hold: it was cut short "
            + (f"(its newest entry is #{newest}) " if newest else "(it holds no entry) ")
            + "or replaced; if those entries were made in another clone, "
            "`mlrepro audit pull` brings them"
        )
    if first.kind == "truncated":
        return "the log was cut short or replaced since this clone last verified it; " + (
            f"nothing ties {chained} to that verification"
            if chained
            else "no entry is left that chains up to a head"
        )
    at = f"the chain breaks at entry #{first.seq}" if first.seq >= 0 else "the chain breaks"
    one = len(set(report.cut_off)) == 1
    doubt = f"the log cannot show that {'it is' if one else 'they are'} unchanged"
    if chained and cut:
        return (
            f"{at}: {chained} still {_verb(report.chained, 'chain')} up to the head, "
            f"but {cut} no longer {_verb(report.cut_off, 'do')}: {doubt}"
        )
    if chained:
        return (
            f"{at}: {chained} still {_verb(report.chained, 'chain')} up to the head; "
            "no entry before it is affected"
        )
    if cut:
        return (
            f"{at}: no entry chains up to an intact head, so the log cannot show that "
            f"{cut} {'is' if one else 'are'} unchanged"
        )
    return f"{at}: no entry is left that the log can vouch for"


def _verb(seqs: tuple[int, ...], verb: str) -> str:
    """``verb`` agreeing with the entries at ``seqs``: ``#4 chains``, ``#4-#5 chain``."""
    if len(set(seqs)) != 1:
        return verb
    return verb + ("es" if verb.endswith("o") else "s")


def _name(p: Problem) -> str:
    if p.checkpoint:
        return f"checkpoint #{p.seq} (id {p.entry[:16]}…)" if p.kind == "missing" else p.entry
    if p.seq < 0 and p.about is None:
        return f"{p.entry[:16]}…"
    about = ""
    if p.about is not None:
        action = " ".join(
            str(x) for x in (p.about.get("action"), what(part(p.about, "details"))) if x
        )
        about = shown(f"{action}, {p.about.get('time')}, ")
    return f"entry #{p.seq} ({about}id {shown(p.entry[:16])}…)"


def _span(seqs: Iterable[int], most: int = 3) -> str:
    """``#1-#4, #7``: the places, consecutive ones as ranges (the first few ranges)."""
    runs: list[list[int]] = []
    for s in sorted(set(seqs)):
        if runs and s == runs[-1][1] + 1:
            runs[-1][1] = s
        else:
            runs.append([s, s])
    text = ", ".join(f"#{a}" if a == b else f"#{a}-#{b}" for a, b in runs[:most])
    return text + (f" and {len(runs) - most} more stretches" if len(runs) > most else "")
