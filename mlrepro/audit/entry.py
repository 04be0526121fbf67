"""Audit entries: who did what, when, where, on which commit, with which environment.

An entry is canonical JSON (sorted keys, no spaces, UTF-8); its id is the SHA-256 of
those bytes. It names the ids of the entries before it (``prev``: one, or two
after a merge of concurrent chains) and carries ``seq``, one more than the
largest of theirs. See docs/format.md, "Audit log".

Nothing secret goes in. The environment is the Python version, the platform and
the installed packages (names and versions only); no environment variable is read.
The actor is git's configured name and email and the OS user name. Free text that
reaches an entry (stage commands, paths) is passed through :func:`redact`, which
masks credentials in URLs and values of options or assignments whose name says
secret, token, password or key.
"""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import platform
import re
import socket
import subprocess
import sys
from functools import cache
from typing import Any

from mlrepro.canonical import canonical_bytes

AUDIT_VERSION = 1
MASK = "***"

_URL_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/\s@]+@")
_SECRET_NAME = (
    r"[A-Za-z0-9_.-]*"
    r"(?:secret|token|passw(?:or)?d|pwd|api[_-]?key|access[_-]?key|private[_-]?key|credential|auth)"
    r"[A-Za-z0-9_.-]*"
)
_ASSIGN = re.compile(
    rf"(?P<name>{_SECRET_NAME})(?P<sep>\s*[=:]\s*|\s+)(?P<value>\"[^\"]*\"|'[^']*'|[^\s,;&|]+)",
    re.IGNORECASE,
)
_OPTION = re.compile(
    rf"(?P<name>--?{_SECRET_NAME})(?P<sep>=|\s+)(?P<value>\"[^\"]*\"|'[^']*'|[^\s]+)", re.IGNORECASE
)
# well-known credential shapes, wherever they appear
_TOKENS = re.compile(
    r"\b(?:AKIA[0-9A-Z]{16}|ASIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,}"
    r"|xox[baprs]-[A-Za-z0-9-]{10,}|sk-[A-Za-z0-9]{20,}|eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,})\b"
)


def redact(text: str) -> str:
    """``text`` with anything that looks like a credential replaced by ``***``."""
    text = _URL_USERINFO.sub(lambda m: f"{m['scheme']}{MASK}@", text)
    text = _OPTION.sub(lambda m: f"{m['name']}{m['sep']}{MASK}", text)
    text = _ASSIGN.sub(lambda m: f"{m['name']}{m['sep']}{MASK}", text)
    return _TOKENS.sub(MASK, text)


def redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list | tuple):
        return [redact_value(v) for v in value]
    if isinstance(value, dict):
        return {k: redact_value(v) for k, v in value.items()}
    return value


def entry_bytes(entry: dict[str, Any]) -> bytes:
    return canonical_bytes(entry)


def entry_id(entry: dict[str, Any]) -> str:
    return hashlib.sha256(entry_bytes(entry)).hexdigest()


def now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _git(root: str, *args: str) -> str | None:
    try:
        proc = subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, check=False, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout.strip() if proc.returncode == 0 else None


@cache
def environment() -> dict[str, Any]:
    """Python, platform and installed packages (sorted ``name==version``), with a digest."""
    from importlib import metadata

    packages = sorted(
        {
            f"{(d.metadata['Name'] or '').lower()}=={d.version}"
            for d in metadata.distributions()
            if d.metadata["Name"]
        }
    )
    return {
        "python": platform.python_version(),
        "implementation": sys.implementation.name,
        "platform": platform.platform(),
        "packages": packages,
        "packages_sha256": hashlib.sha256("\n".join(packages).encode()).hexdigest(),
    }


def context(root: str) -> dict[str, Any]:
    """Who and where: the part of an entry shared by every action of one command."""
    try:
        os_user = getpass.getuser()
    except (KeyError, OSError):
        os_user = None
    commit = _git(root, "rev-parse", "--verify", "-q", "HEAD")
    branch = _git(root, "symbolic-ref", "-q", "--short", "HEAD")
    status = _git(root, "status", "--porcelain", "--untracked-files=no")
    # the identity git would put on a commit made now (config or GIT_AUTHOR_* variables)
    ident = _git(root, "var", "GIT_AUTHOR_IDENT") or ""
    match = re.match(r"^(.*?) <([^>]*)>", ident)
    return {
        "actor": {
            "git_name": match[1] if match else None,
            "git_email": match[2] if match else None,
            "os_user": os_user,
        },
        "host": socket.gethostname(),
        "git": {"commit": commit, "branch": branch, "dirty": bool(status)},
        "env": environment(),
    }


def make_entry(
    *,
    seq: int,
    prev: list[str],
    action: str,
    details: dict[str, Any],
    shared: dict[str, Any],
) -> dict[str, Any]:
    return {
        "version": AUDIT_VERSION,
        "seq": seq,
        "prev": sorted(prev),
        "time": now(),
        **shared,
        "action": action,
        "details": redact_value(details),
    }
