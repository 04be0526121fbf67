"""``.dvcignore`` files: gitignore-style patterns, one file per directory.

Patterns follow gitignore(5): ``#`` comments, ``!`` negation, a trailing
``/`` for directories only, a leading or inner ``/`` anchors the pattern to
the directory of its ``.dvcignore``, ``*``/``?``/``[...]`` within a
component and ``**`` across components; the last matching pattern wins.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class _Rule:
    regex: re.Pattern[str]
    negate: bool
    dir_only: bool


def _translate(glob: str) -> str:
    out = []
    i, n = 0, len(glob)
    while i < n:
        c = glob[i]
        if c == "*":
            if glob.startswith("**", i):
                before_ok = i == 0 or glob[i - 1] == "/"
                after = glob[i + 2 : i + 3]
                if before_ok and after == "/":
                    out.append("(?:.*/)?")
                    i += 3
                    continue
                if before_ok and i + 2 == n:
                    out.append(".*")
                    i += 2
                    continue
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            j = glob.find("]", i + 2 if glob[i + 1 : i + 2] in ("!", "]") else i + 1)
            if j == -1:
                out.append(re.escape(c))
            else:
                body = glob[i + 1 : j]
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                i = j
        elif c == "\\" and i + 1 < n:
            i += 1
            out.append(re.escape(glob[i]))
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)


def parse_patterns(text: str) -> list[_Rule]:
    rules = []
    for raw in text.splitlines():
        line = raw.rstrip("\n\r")
        if not line.strip() or line.startswith("#"):
            continue
        # trailing spaces are ignored unless escaped
        while line.endswith(" ") and not line.endswith("\\ "):
            line = line[:-1]
        negate = line.startswith("!")
        if negate:
            line = line[1:]
        elif line.startswith("\\!") or line.startswith("\\#"):
            line = line[1:]
        dir_only = line.endswith("/")
        line = line.rstrip("/")
        if not line:
            continue
        anchored = "/" in line
        line = line.lstrip("/")
        body = _translate(line)
        prefix = "" if anchored else "(?:.*/)?"
        rules.append(_Rule(re.compile(f"^{prefix}{body}$", re.DOTALL), negate, dir_only))
    return rules


class DvcIgnore:
    """The ignore rules of every ``.dvcignore`` seen so far while walking."""

    def __init__(self, root: str) -> None:
        self.root = root
        self._rules: dict[str, list[_Rule]] = {}  # dir relpath ("" = root) -> rules

    def load_dir(self, reldir: str) -> None:
        path = os.path.join(self.root, reldir, ".dvcignore")
        if os.path.isfile(path):
            with open(path, encoding="utf-8", errors="replace") as f:
                self._rules[reldir] = parse_patterns(f.read())

    def ignored(self, relpath: str, is_dir: bool) -> bool:
        """Whether ``relpath`` is ignored (its parents were already checked)."""
        result = False
        parts = relpath.split("/")
        for depth in range(len(parts)):
            base = "/".join(parts[:depth])
            rules = self._rules.get(base)
            if not rules:
                continue
            sub = "/".join(parts[depth:])
            for rule in rules:
                if rule.dir_only and not is_dir:
                    continue
                if rule.regex.match(sub):
                    result = not rule.negate
        return result
