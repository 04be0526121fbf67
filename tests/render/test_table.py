"""Plain tables split into blocks that fit a width (``metrics history``, issue 14)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mlrepro.render import table
from mlrepro.render.table import plain

words = st.text(alphabet="abcxyz._:/", min_size=1, max_size=120)


@given(words, st.integers(1, 130))
def test_abbreviate_keeps_both_ends_within_the_width(text: str, width: int) -> None:
    short = table.abbreviate(text, width)
    if len(text) <= width:
        assert short == text
    else:
        head, mark, tail = short.partition("…")
        assert mark and len(short) == width
        assert text.startswith(head) and text.endswith(tail)
        assert abs(len(head) - len(tail)) <= 1


@st.composite
def tables(draw: st.DrawFn) -> tuple[list[str], list[list[str]]]:
    columns = draw(st.integers(0, 12))
    headers = ["Commit", "Date", *draw(st.lists(words, min_size=columns, max_size=columns))]
    cells = st.text(alphabet="0123456789.-e", min_size=1, max_size=12)
    rows = draw(
        st.lists(
            st.lists(cells, min_size=len(headers), max_size=len(headers)), min_size=1, max_size=4
        )
    )
    return headers, rows


@given(tables(), st.integers(40, 120))
def test_blocks_fit_and_keep_every_column_once_in_order(
    drawn: tuple[list[str], list[list[str]]], limit: int
) -> None:
    headers, rows = drawn
    parts = table.blocks(headers, rows, keep=2, limit=limit)
    seen: list[str] = []
    for names, cells in parts:
        assert names[:2] == ["Commit", "Date"]
        for line in plain(names, cells).splitlines():
            assert len(line) <= limit, (line, limit)
        start, end = len(seen) + 2, len(seen) + len(names)  # this block's columns
        for name, full in zip(names[2:], headers[start:end], strict=True):
            assert name == full or table.abbreviate(full, len(name)) == name
        for got, row in zip(cells, rows, strict=True):
            assert got == [c.strip() for c in row[:2] + row[start:end]]
        seen += headers[start:end]
    assert seen == headers[2:]
