"""File names as people are shown them: git's quoting of paths that hold control
characters, quotes, backslashes or bytes that are not UTF-8 (issue 15)."""

from __future__ import annotations

import re

# What a path shown to people may not hold as it is: control characters (C0, DEL, C1),
# the quote and the backslash (as git quotes paths), and the bytes of a name that are
# not UTF-8 (lone surrogates, from ``surrogateescape``), which no terminal can show.
_UNSAFE = re.compile('[\x00-\x1f\x7f-\x9f"\\\\\ud800-\udfff]')
_C_ESCAPES = {
    "\a": "\\a",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\v": "\\v",
    "\f": "\\f",
    "\r": "\\r",
    '"': '\\"',
    "\\": "\\\\",
}


def shown_path(path: str) -> str:
    """``path`` for a text or Markdown table: as it is, or, when it holds one of the
    characters above, in double quotes with C escapes and each other byte in octal
    (``"data/caf\\351.txt"``, ``"new\\nline"``), as git shows paths with
    ``core.quotePath=false`` (issue 15). JSON output keeps the exact name instead."""
    if not _UNSAFE.search(path):
        return path
    return '"' + _UNSAFE.sub(_escaped, path) + '"'


_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def shown_text(text: str) -> str:
    """A message that may name a path inside it (``... (for 'a<TAB>b')``): its control
    characters and bytes that are not UTF-8 escaped as :func:`shown_path` escapes them,
    so a name never forges a line or reaches the terminal raw; the rest as it is."""
    return _CONTROL.sub(_escaped, text)


def _escaped(m: re.Match[str]) -> str:
    ch = m.group()
    return _C_ESCAPES.get(ch) or "".join(
        f"\\{b:03o}" for b in ch.encode("utf-8", "surrogateescape")
    )


def mermaid_text(text: str) -> str:
    """``text`` inside a quoted Mermaid label: ``#`` and ``"`` written as the entities
    Mermaid reads (``#35;``, ``#quot;``), ``#`` first, so a name that looks like an
    entity is drawn as itself."""
    return text.replace("#", "#35;").replace('"', "#quot;")
