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

from mlrepro.canonical import canonical_bytes, finite

AUDIT_VERSION = 1
MASK = "***"

_URL_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/\s@]+@")
# a name whose last word says it holds a credential: password, api_key, AWS_SECRET_ACCESS_KEY,
# client-secret, auth_token (not "tokenizer" or "max_tokens")
_SECRET_WORD = (
    r"(?:secret|token|password|passwd|pwd|passphrase|api[_-]?key|access[_-]?key"
    r"|private[_-]?key|secret[_-]?key|credentials?|authorization|bearer)"
)
_SECRET_NAME = rf"(?:[A-Za-z0-9]+[_.-])*{_SECRET_WORD}"
_ASSIGN = re.compile(
    rf"(?<![A-Za-z0-9])(?P<name>{_SECRET_NAME})(?P<sep>\s*[=:]\s*)"
    rf"(?P<value>\"[^\"]*\"|'[^']*'|[^\s,;&|]+)",
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


_SECRET_KEY = re.compile(rf"^{_SECRET_NAME}$", re.IGNORECASE)


def redact_value(value: Any) -> Any:
    """``value`` with credentials masked: in text, and whole values under keys whose
    name says secret (a param ``api_token: xyz`` is recorded as ``api_token: ***``)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list | tuple):
        return [redact_value(v) for v in value]
    if isinstance(value, dict):
        return {
            k: MASK if isinstance(k, str) and _SECRET_KEY.match(k) else redact_value(v)
            for k, v in value.items()
        }
    return value


def entry_bytes(entry: dict[str, Any], fragments: dict[str, bytes] | None = None) -> bytes:
    """The entry's canonical bytes; ``fragments``: canonical bytes of some of its values,
    computed once per command for the parts every entry of it shares (the same bytes
    as :func:`canonical_bytes` of the whole: JSON objects serialise member by member)."""
    if not fragments:
        return canonical_bytes(entry)
    parts = [
        canonical_bytes(key)
        + b":"
        + (fragments[key] if key in fragments else canonical_bytes(value))
        for key, value in sorted(entry.items())
    ]
    return b"{" + b",".join(parts) + b"}"


def entry_id(entry: dict[str, Any]) -> str:
    return hashlib.sha256(entry_bytes(entry)).hexdigest()


def now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def git_all(root: str, *commands: tuple[str, ...]) -> list[str | None]:
    """Several ``git`` commands run at once (each costs a process start; they overlap)."""
    procs: list[subprocess.Popen[str] | None] = []
    for args in commands:
        try:
            procs.append(
                subprocess.Popen(
                    ["git", *args],
                    cwd=root,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL,
                    text=True,
                )
            )
        except OSError:
            procs.append(None)
    out: list[str | None] = []
    for proc in procs:
        if proc is None:
            out.append(None)
            continue
        try:
            text, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            out.append(None)
            continue
        out.append(text.strip() if proc.returncode == 0 else None)
    return out


@cache
def environment() -> dict[str, Any]:
    """Python, platform and installed packages (sorted ``name==version``), with a digest.

    Packages are read from the ``*.dist-info`` and ``*.egg-info`` folder names on
    ``sys.path`` (what ``importlib.metadata`` reads, without opening each one)."""
    import os

    found: set[str] = set()
    for folder in sys.path:
        try:
            names = os.listdir(folder or ".")
        except OSError:
            continue
        for name in names:
            for suffix in (".dist-info", ".egg-info"):
                if name.endswith(suffix):
                    stem = name[: -len(suffix)]
                    dist, _, version = stem.partition("-")
                    if dist and version:
                        normal = re.sub(r"[-_.]+", "-", dist).lower()
                        found.add(f"{normal}=={version}")
    packages = sorted(found)
    return {
        "python": platform.python_version(),
        "implementation": sys.implementation.name,
        "platform": platform.platform(),
        "packages": packages,
        "packages_sha256": hashlib.sha256("\n".join(packages).encode()).hexdigest(),
    }


# what context() asks git: identity, checked-out commit and branch, uncommitted changes
CONTEXT_COMMANDS: tuple[tuple[str, ...], ...] = (
    # the identity git would put on a commit made now (config or GIT_AUTHOR_*)
    ("var", "GIT_AUTHOR_IDENT"),
    ("rev-parse", "HEAD", "--abbrev-ref", "HEAD"),
    ("status", "--porcelain", "--untracked-files=no"),
)


def context(root: str, answers: list[str | None] | None = None) -> dict[str, Any]:
    """Who and where: the part of an entry shared by every action of one command
    (``answers``: the output of :data:`CONTEXT_COMMANDS`, when the caller ran them)."""
    try:
        os_user = getpass.getuser()
    except (KeyError, OSError):
        os_user = None
    ident, head, status = answers if answers is not None else git_all(root, *CONTEXT_COMMANDS)
    commit, branch = None, None
    if head:
        lines = head.splitlines()
        commit = lines[0] if lines else None
        branch = lines[1] if len(lines) > 1 and lines[1] != "HEAD" else None
    match = re.match(r"^(.*?) <([^>]*)>", ident or "")
    return {
        "actor": {
            "git_name": match[1] if match else None,
            "git_email": match[2] if match else None,
            "os_user": os_user,
        },
        "host": socket.gethostname(),
        "git": {
            "commit": commit,
            "branch": branch,
            "dirty": None if status is None else bool(status),
        },
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
        "details": finite(redact_value(details)),
    }
