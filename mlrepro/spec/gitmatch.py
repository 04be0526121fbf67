"""Matching as git does: ``.gitignore`` files read and matched byte for byte.

``.gitignore`` files, ``.git/info/exclude`` and the global excludes file are read as
git reads them, since DVC asks git about them (``scm.is_ignored``) (issue 15; git's
dir.c and wildmatch.c):

* the bytes are split at ``\\n`` only; one ``\\r`` ending a line is dropped, a
  UTF-8 byte order mark starting the file is skipped, and the spaces ending a
  line are dropped unless the first is escaped (``\\ ``). A tab, form feed or
  ``\\r`` inside a line is part of its pattern, so the line mlrepro writes for an
  output named ``b``, CR, ``c`` hides that output and not ``b``;
* a pattern is matched against the bytes of names (``?`` and ``[...]`` stand
  for one byte, as in git), each byte held as one character (latin-1);
* a pattern with no ``/`` (a trailing one, for folders only, aside) matches a
  name at any depth; any other is anchored to its file's folder (one leading
  ``/`` dropped);
* wildmatch: ``\\`` escapes any character, inside brackets too; ``[!...]`` and
  ``[^...]`` negate, ``[a-z]`` ranges over bytes, ``[[:alpha:]]`` classes are
  ASCII; ``**`` spans folders when it is a whole component and is ``*``
  otherwise; the literal part before the first wildcard is compared on its own,
  so a ``**`` right after it counts as a whole component (``ab**/c`` matches
  ``abc``, as git does);
* a pattern git cannot read (an unclosed ``[``, an unknown ``[:class:]``, a
  trailing lone ``\\``) matches nothing and is no error, as in git.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Rule:
    regex: re.Pattern[str]
    negate: bool
    dir_only: bool
    basename: bool = False  # git: matched against the last component alone


# -- git: .gitignore files, read and matched as git does ----------------------------------

_BOM = "\xef\xbb\xbf"  # UTF-8's byte order mark, as byte text
_SIMPLE = re.compile(r"[^*?\[\\]*")  # a pattern's literal start (dir.c simple_length)
_ALL_BYTES = frozenset(map(chr, range(256)))
# [:class:] names, ASCII only (git's own ctype: a form feed is not a space)
_CLASSES = {
    "alnum": string.ascii_letters + string.digits,
    "alpha": string.ascii_letters,
    "blank": " \t",
    "cntrl": "".join(map(chr, range(32))) + "\x7f",
    "digit": string.digits,
    "graph": "".join(map(chr, range(0x21, 0x7F))),
    "lower": string.ascii_lowercase,
    "print": "".join(map(chr, range(0x20, 0x7F))),
    "punct": string.punctuation,
    "space": " \t\n\r",
    "upper": string.ascii_uppercase,
    "xdigit": string.hexdigits,
}


def _byte_text(path: str) -> str:
    """``path``'s bytes, one character each (latin-1): git matches bytes, so a
    ``?`` in a .gitignore stands for one byte of a name that is not ASCII."""
    if path.isascii():
        return path
    return path.encode("utf-8", "surrogateescape").decode("latin-1")


def parse_gitignore(data: bytes) -> list[Rule]:
    """Rules of a .gitignore (or exclude) file, read as git reads it (dir.c
    add_patterns_from_buffer): split at LF only, one CR ending a line dropped,
    unescaped trailing spaces trimmed. No line is an error."""
    text = data.decode("latin-1")
    if text.startswith(_BOM):
        text = text[len(_BOM) :]
    rules = []
    for line in text.split("\n"):
        if not line or line[0] == "#":
            continue
        if line[-1] == "\r":
            line = line[:-1]
        rule = _git_rule(_trim_trailing_spaces(line.partition("\0")[0]))
        if rule is not None:
            rules.append(rule)
    return rules


def _trim_trailing_spaces(line: str) -> str:
    """The line without the spaces ending it; a space escaped by a backslash (an odd
    number of them before it) stays, the spaces after it do not (gitignore(5))."""
    end = len(line.rstrip(" "))
    if end == len(line):
        return line
    backslashes = end - len(line[:end].rstrip("\\"))
    return line[: end + 1] if backslashes % 2 else line[:end]


def _git_rule(pattern: str) -> Rule | None:
    """git's rule for one pattern (byte text), or None when it matches nothing (dir.c
    parse_path_pattern, match_basename and match_pathname)."""
    negate = pattern[:1] == "!"
    if negate:
        pattern = pattern[1:]
    dir_only = pattern[-1:] == "/"
    if dir_only:
        pattern = pattern[:-1]
    if not pattern:
        return None
    basename = "/" not in pattern
    if basename:
        body = _wildmatch(pattern, starstar=False)
    else:
        pattern = pattern.removeprefix("/")
        # git compares the literal start on its own and wildmatches the rest as a
        # pattern of its own, so a "**" right after that start spans folders
        literal = _SIMPLE.match(pattern)
        n = literal.end() if literal else 0
        body = _wildmatch(pattern[n:], starstar=True)
        if body is not None:
            body = re.escape(pattern[:n]) + body
    if body is None:
        return None
    return Rule(re.compile(body + r"\Z", re.DOTALL), negate, dir_only, basename)


def _wildmatch(p: str, *, starstar: bool) -> str | None:
    """The regex of git's wildmatch pattern ``p`` (wildmatch.c), matched against a path
    (``starstar``: a ``**`` that is a whole component spans folders) or a name; None
    when git matches nothing with it."""
    out: list[str] = []
    i, n = 0, len(p)
    while i < n:
        c = p[i]
        if c == "\\":
            if i + 1 == n:
                return None  # a trailing lone backslash matches nothing
            out.append(re.escape(p[i + 1]))
            i += 2
        elif c == "?":
            out.append("[^/]")
            i += 1
        elif c == "*":
            j = i
            while j < n and p[j] == "*":
                j += 1
            whole = (i == 0 or p[i - 1] == "/") and (j == n or p[j] == "/" or p[j : j + 2] == "\\/")
            if not (starstar and j - i > 1 and whole):
                out.append("[^/]*")
            elif j == n:
                out.append(".*")
            elif p[j] == "/":
                out.append("(?:.*/)?")  # "a/**/b" matches "a/b" too
                j += 1
            else:
                out.append(".*/")  # "**\/": no such shortcut
                j += 2
            i = j
        elif c == "[":
            bracket = _bracket(p, i)
            if bracket is None:
                return None
            cls, i = bracket
            out.append(cls)
        else:
            out.append(re.escape(c))
            i += 1
    return "".join(out)


def _bracket(p: str, i: int) -> tuple[str, int] | None:
    """The regex of the bracket expression opening at ``p[i]`` and the index after it,
    or None when git matches nothing with the pattern (unclosed, unknown class)."""
    n = len(p)
    i += 1
    negated = i < n and p[i] in "!^"
    if negated:
        i += 1
    members: set[str] = set()
    prev = ""  # the last single character, which a "-" can start a range from
    first = True
    while True:
        if i >= n:
            return None
        c = p[i]
        if c == "]" and not first:
            break
        first = False
        if c == "\\":
            i += 1
            if i == n:
                return None
            c = p[i]
            members.add(c)
        elif c == "-" and prev and i + 1 < n and p[i + 1] != "]":
            i += 1
            if p[i] == "\\":
                i += 1
                if i == n:
                    return None
            members.update(map(chr, range(ord(prev), ord(p[i]) + 1)))
            c = ""
        elif c == "[" and p[i + 1 : i + 2] == ":":
            end = p.find("]", i + 2)
            if end < 0:
                return None
            name = p[i + 2 : end]
            if name[-1:] == ":":
                chars = _CLASSES.get(name[:-1])
                if chars is None:
                    return None
                members.update(chars)
                c = ""
                i = end
            else:
                members.add(c)  # no ":]": a plain "["
        else:
            members.add(c)
        prev = c
        i += 1
    chosen = (_ALL_BYTES - members if negated else members) - {"/"}
    if not chosen:
        return "(?!)", i + 1
    return "[" + "".join(f"\\x{ord(ch):02x}" for ch in sorted(chosen)) + "]", i + 1


def git_rules_match(rules: list[Rule], path: str, is_dir: bool) -> bool | None:
    """:func:`rules_match` for git's rules: ``path`` is matched by its bytes."""
    path = _byte_text(path)
    name = path.rpartition("/")[2]
    for rule in reversed(rules):
        if rule.dir_only and not is_dir:
            continue
        if rule.regex.match(name if rule.basename else path):
            return not rule.negate
    return None
