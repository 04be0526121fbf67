"""Tables as DVC prints them: plain text and GitHub Markdown.

Plain: every column left-aligned and as wide as its longest cell or its header
plus two, columns joined by two spaces, trailing spaces removed, no rule; an
empty table prints nothing. Markdown: ``| a | b |`` rows padded to the same
widths, a rule of dashes without colons, and a blank line after the table (an
empty table still prints its header). Missing values are ``-``.
"""

from __future__ import annotations

from collections.abc import Sequence

MISSING = "-"


def _widths(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[int]:
    widths = [len(h) + 2 for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    return widths


def plain(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    if not rows:
        return ""
    rows = [[c.strip() for c in row] for row in rows]
    widths = _widths(headers, rows)
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
        for line in [list(headers), *rows]
    ]
    return "\n".join(lines) + "\n"


def markdown(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    rows = [[c.strip() for c in row] for row in rows]
    widths = _widths(headers, rows)

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(headers), rule, *(line(r) for r in rows)]) + "\n\n"
