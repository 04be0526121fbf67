"""Keeping cached outputs and data out of git, as DVC does: ``/name`` in the parent's .gitignore.

Each line must match the output and nothing else (issue 15), so the name is
escaped as gitignore(5) reads a pattern: ``*``, ``?``, ``[`` and ``\\`` get a
backslash (else ``z*`` would hide every file starting with ``z``), and a name
ending in whitespace has its last character written as a bracket expression
(``[ ]``): git drops trailing spaces and a carriage return before the newline,
and mlrepro's own reader of .gitignore files (``spec/ignore.py``, used to walk
the pipeline files) reads them as git does. The leading ``/`` already keeps a ``#`` or
``!`` from starting the line. A newline cannot be written in a line at all: such
a name is refused before anything is cached (:func:`check_ignorable`).

Names are bytes on Linux and git matches bytes: a name that is not UTF-8 is
written as its own bytes (Python holds it with ``surrogateescape``).
"""

from __future__ import annotations

import os
import posixpath
import re

from mlrepro.errors import MlreproError
from mlrepro.fsutil import atomic_write
from mlrepro.store.tree import name_bytes

_GLOB = re.compile(r"[*?\[\\]")


def check_ignorable(relpath: str, *, what: str = "output") -> None:
    """Refuse a path whose name no .gitignore line can express (a newline in it)."""
    if "\n" in posixpath.basename(relpath):
        raise MlreproError(
            f"{what} {relpath!r} has a newline in its name, which no .gitignore line can "
            "express: mlrepro could not keep it out of git",
            hint="rename it without the newline",
        )


def ignore_line(name: str) -> bytes:
    """The .gitignore line (without its newline) that matches ``name``, a file or
    folder beside the .gitignore, and nothing else."""
    check_ignorable(name)
    text = _GLOB.sub(r"\\\g<0>", name)
    if text[-1:].isspace():
        text = f"{text[:-1]}[{text[-1]}]"
    return b"/" + name_bytes(text)


def ignore_outputs(root: str, relpaths: list[str]) -> None:
    """Add a line for each path to the .gitignore beside it, unless one is there."""
    for p in relpaths:  # every name checked before any line is written
        check_ignorable(p)
    by_dir: dict[str, dict[bytes, bytes]] = {}  # folder -> line -> the line unescaped
    for p in relpaths:
        parent, name = posixpath.split(p)
        by_dir.setdefault(parent, {})[ignore_line(name)] = b"/" + name_bytes(name)
    for parent, wanted in by_dir.items():
        path = os.path.join(root, parent, ".gitignore")
        try:
            with open(path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            data = b""
        lines = data.split(b"\n")
        # git reads a line ending in CR LF as the line without the CR
        present = {line[:-1] if line.endswith(b"\r") else line for line in lines}
        added = []
        replaced = False
        for line, unescaped in sorted(wanted.items()):
            if line in present:
                continue
            if unescaped != line and unescaped in lines:
                # the line an earlier mlrepro wrote for this output, unescaped (issue 15):
                # it matched other files too (`/z*`), or not this one (`/sp `)
                lines = [line if old == unescaped else old for old in lines]
                replaced = True
            else:
                added.append(line)
        if not (added or replaced):
            continue
        if lines[-1]:  # no final newline yet
            lines.append(b"")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        atomic_write(path, b"\n".join(lines[:-1] + added + [b""]))
