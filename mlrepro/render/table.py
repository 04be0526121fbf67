"""Tables as DVC prints them: plain text and GitHub Markdown.

Plain: every column left-aligned and as wide as its longest cell or its header
plus two, columns joined by two spaces, trailing spaces removed, no rule; an
empty table prints nothing. Markdown: ``| a | b |`` rows padded to the same
widths, a rule of dashes without colons, and a blank line after the table (an
empty table still prints its header). Missing values are ``-``.

A table wider than a terminal can be split into blocks of columns that fit,
each repeating the leading columns (:func:`blocks`); a header too wide even
alone is cut in the middle (:func:`abbreviate`).
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


# what str.splitlines (and so many readers) takes for the end of a line, written out
_LINE_BREAKS = {
    ord(c): f"\\u{ord(c):04x}" if ord(c) > 0xFF else f"\\x{ord(c):02x}"
    for c in "\v\f\x1c\x1d\x1e\x85\u2028\u2029"
} | {ord("\n"): "\\n", ord("\r"): "\\r", ord("|"): "\\|"}


def _md_cell(text: str) -> str:
    """A cell that stays one cell on one line in GitHub Markdown: ``|`` escaped and
    line breaks written out (``\\n``, ``\\x1e``...), since a name or a metric key
    may hold any of them."""
    return text.strip().translate(_LINE_BREAKS)


def markdown(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    headers = [_md_cell(h) for h in headers]
    rows = [[_md_cell(c) for c in row] for row in rows]
    widths = _widths(headers, rows)

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(headers), rule, *(line(r) for r in rows)]) + "\n\n"


def abbreviate(text: str, width: int, mark: str = "…") -> str:
    """``text`` in at most ``width`` characters, cut in the middle so both ends stay
    (a metric's file and its last key part are what tell columns apart)."""
    if len(text) <= width:
        return text
    keep = max(0, width - len(mark))
    head = (keep + 1) // 2
    return text[:head] + mark + text[len(text) - (keep - head) :]


def blocks(
    headers: Sequence[str], rows: Sequence[Sequence[str]], *, keep: int, limit: int
) -> list[tuple[list[str], list[list[str]]]]:
    """The columns after the first ``keep`` spread over tables whose :func:`plain`
    lines are at most ``limit`` characters, each table repeating the first ``keep``
    columns, columns in order; a header too wide for a table of its own is abbreviated."""
    rows = [[c.strip() for c in row] for row in rows]
    widths = _widths(headers, rows)
    fixed = sum(widths[:keep]) + 2 * keep  # the repeated columns and their separators
    groups: list[list[int]] = []
    used = fixed
    for i in range(keep, len(headers)):
        if groups and used + widths[i] <= limit:
            groups[-1].append(i)
        else:
            groups.append([i])
            used = fixed
        used += widths[i] + 2
    out: list[tuple[list[str], list[list[str]]]] = []
    for group in groups:
        names = [*headers[:keep], *(headers[i] for i in group)]
        if len(group) == 1:  # alone and still too wide: a shorter header (cells are values)
            room = limit - fixed - 2
            cells = max((len(row[group[0]]) for row in rows), default=0)
            names[-1] = abbreviate(names[-1], max(room, cells - 2))
        picked = [[*row[:keep], *(row[i] for i in group)] for row in rows]
        out.append((names, picked))
    return out
