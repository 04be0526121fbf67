"""Audit entries: who did what, when, where, on which commit, with which environment.

An entry is canonical JSON (sorted keys, no spaces, UTF-8); its id is the SHA-256 of
those bytes. It names the ids of the entries before it (``prev``: one, or two
after a merge of concurrent chains) and carries ``seq``, one more than the
largest of theirs. See docs/format.md, "Audit log".

Nothing secret goes in. The environment is the Python version, the platform and
the installed packages (names and versions only); no environment variable is read.
The actor is git's configured name and email and the OS user name. Free text that
reaches an entry (stage commands, paths) is passed through :func:`redact`
(:mod:`mlrepro.secrets`, the detector the lock file and the configuration use too).
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
import time
from functools import cache, lru_cache
from typing import Any

from mlrepro.canonical import canonical_bytes, canonical_text, finite, utf8
from mlrepro.git.process import git_all

# the detector is shared with the lock file and the committed configuration (issue 15);
# its names stay importable from here
from mlrepro.secrets import MASK as MASK
from mlrepro.secrets import is_secret_name as is_secret_name
from mlrepro.secrets import may_hold_secret
from mlrepro.secrets import redact as redact
from mlrepro.secrets import redact_value as redact_value

# The imports inside functions here are fallbacks: ``platform`` costs about 1.5 ms to
# import (a dozen regexes), paid by a recording command only where the cheap way fails;
# ``pwd`` does not exist on every system.

AUDIT_VERSION = 1


def entry_bytes(entry: dict[str, Any]) -> bytes:
    return canonical_bytes(entry)


@cache
def _key_bytes(key: str) -> bytes:
    return canonical_bytes(key) + b":"


def part(entry: dict[str, Any], key: str) -> dict[str, Any]:
    """One of an entry's mappings (``actor``, ``git``, ``details``...); empty when it is
    not one, as in an edited entry, which readers of a log must survive."""
    value = entry.get(key)
    return value if isinstance(value, dict) else {}


def entry_id(entry: dict[str, Any]) -> str:
    return hashlib.sha256(entry_bytes(entry)).hexdigest()


def now() -> str:
    seconds, nanos = divmod(time.time_ns(), 1_000_000_000)
    return f"{_second(seconds)}.{nanos // 1000:06d}Z"


@lru_cache(maxsize=4)
def _second(seconds: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))


def platform_name() -> str:
    """``platform.platform()``'s answer, without the process it starts on Linux to ask
    ``uname -p`` (a part it then drops): built from uname and the C library's version
    where that gives the same string, by ``platform`` itself elsewhere (importing
    ``platform`` compiles a dozen regexes: a few milliseconds)."""
    u = os.uname()
    try:
        libc = os.confstr("CS_GNU_LIBC_VERSION") or ""
    except (ValueError, OSError):
        libc = ""
    name, _, version = libc.partition(" ")
    parts = (u.sysname, u.release, u.machine, name, version)
    if (
        u.sysname == "Linux"
        and name == "glibc"
        and all(re.fullmatch(r"[\w.+-]+", p) for p in parts)
    ):
        return "-".join(part for part in (u.sysname, u.release, u.machine) if part) + (
            f"-with-{name}{version}"
        )
    import platform

    return platform.platform()


def python_version(version: str = sys.version) -> str:
    """``platform.python_version()``'s answer (``3.11.7``, ``3.13.0rc1``), read from
    ``sys.version`` as it does, without importing ``platform``."""
    match = re.match(r"([\w.+]+)", version)
    if match is None:
        import platform

        return platform.python_version()
    return match[1]


@cache
def environment() -> dict[str, Any]:
    """Python, platform and installed packages (sorted ``name==version``), with a digest.

    Packages are read from the ``*.dist-info`` and ``*.egg-info`` folder names on
    ``sys.path`` (what ``importlib.metadata`` reads, without opening each one)."""
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
        "python": python_version(),
        "implementation": sys.implementation.name,
        "platform": platform_name(),
        "packages": packages,
        "packages_sha256": hashlib.sha256("\n".join(packages).encode()).hexdigest(),
    }


# what context() asks git: identity, checked-out commit and branch, uncommitted changes
CONTEXT_COMMANDS: tuple[tuple[str, ...], ...] = (
    # the identity git would put on a commit made now (config or GIT_AUTHOR_*)
    ("var", "GIT_AUTHOR_IDENT"),
    # "# branch.oid <commit>", "# branch.head <name>", then one line per changed file
    ("status", "--porcelain=v2", "--branch", "--untracked-files=no"),
)


def os_user_name() -> str | None:
    """The login name, found as ``getpass.getuser`` finds it (the variables it reads,
    then the password database), without importing ``getpass`` and ``termios``."""
    for name in ("LOGNAME", "USER", "LNAME", "USERNAME"):
        if found := os.environ.get(name):
            return found
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError, OSError):
        return None


def context(root: str, answers: list[str | None] | None = None) -> dict[str, Any]:
    """Who and where: the part of an entry shared by every action of one command
    (``answers``: the output of :data:`CONTEXT_COMMANDS`, when the caller ran them)."""
    os_user = os_user_name()
    if answers is None:
        answers = git_all(root, *CONTEXT_COMMANDS)
    ident, status = answers
    commit, branch, dirty = None, None, None
    if status is not None:
        dirty = False
        for line in status.splitlines():
            if line.startswith("# branch.oid "):
                commit = line[13:] if line[13:] != "(initial)" else None
            elif line.startswith("# branch.head "):
                branch = line[14:] if line[14:] != "(detached)" else None
            elif line and not line.startswith("#"):
                dirty = True
    match = re.match(r"^(.*?) <([^>]*)>", ident or "")
    return {
        "actor": {
            "git_name": match[1] if match else None,
            "git_email": match[2] if match else None,
            "os_user": os_user,
        },
        "host": os.uname().nodename,
        "git": {
            "commit": commit,
            "branch": branch,
            "dirty": dirty,
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
        "details": clean(details)[0],
    }


# the parts of an entry that change from one entry of a command to the next, in the
# order canonical JSON puts them (sorted keys); everything else is the same for all
_VARIABLE = ("action", "details", "prev", "seq", "time")


class EntryTemplate:
    """The canonical bytes of one command's entries, less the parts that change.

    Canonical JSON sorts keys, so an entry's bytes are fixed runs (the shared who
    and where, the version, every key) between the five values that differ from
    one entry to the next (:data:`_VARIABLE`). The runs are joined once per
    command; each entry is then one join of eleven pieces, where building the
    whole entry would sort and join every key again."""

    __slots__ = ("_runs",)

    def __init__(self, fragments: dict[str, bytes]) -> None:
        """``fragments``: the canonical bytes of each value shared by the entries."""
        parts: dict[str, bytes | None] = {**fragments, "version": b"%d" % AUDIT_VERSION}
        parts.update(dict.fromkeys(_VARIABLE))
        runs, run = [], b"{"
        for i, key in enumerate(sorted(parts)):
            run += (b"," if i else b"") + _key_bytes(key)
            value = parts[key]
            if value is None:
                runs.append(run)
                run = b""
            else:
                run += value
        runs.append(run + b"}")
        self._runs = tuple(runs)

    def build(self, *, seq: int, prev: list[str], action: str, details: dict[str, Any]) -> bytes:
        """The canonical bytes of :func:`make_entry`'s entry for these values, made now."""
        r0, r1, r2, r3, r4, r5 = self._runs
        return b"".join(
            (
                r0,
                _action_bytes(action),
                r1,
                clean(details)[1],
                r2,
                canonical_bytes(sorted(prev)),
                r3,
                b"%d" % seq,
                r4,
                b'"%s"' % now().encode(),
                r5,
            )
        )


@cache
def _action_bytes(action: str) -> bytes:
    return canonical_bytes(action)


def clean(details: dict[str, Any]) -> tuple[Any, bytes]:
    """``details`` with credentials masked and infinities tagged, and their canonical
    bytes. Most details (digests, paths, plain commands) need neither: their canonical
    JSON tells (every string and key is in it as it is: JSON escapes only quotes,
    backslashes and control characters, which no needed piece contains), and is then
    the bytes."""
    try:
        text = canonical_text(details)
    except ValueError:  # NaN or an infinity
        text = None
    if text is not None and not may_hold_secret(text):
        return details, utf8(text)
    cleaned = finite(redact_value(details))
    return cleaned, canonical_bytes(cleaned)
