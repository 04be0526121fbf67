"""Line charts of metrics over commits, as SVG or PNG, with no plotting library.

One panel per metric (each keeps its own scale), stacked; x is the commit, oldest
on the left, labelled with short commit ids. SVG is written as text; PNG is drawn
into an RGB buffer (lines, points, axes, and labels in a small built-in bitmap
font) and encoded with zlib, so the chart needs nothing beyond the standard library.

Both are drawn from one :class:`Chart` laid out first (:func:`layout`): every label
is a box measured with its font, and the layout keeps every box inside the canvas
(issue 14: labels were cut at the edges). The left margin grows to the widest
value label; axis values get the digits that tell the top from the bottom; commit
labels are spaced so they do not overlap, the newest always labelled, and pulled
in from the edges; a metric name too long for its panel is cut in the middle.
"""

from __future__ import annotations

import itertools
import math
import struct
import sys
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape

from mlrepro.render.table import abbreviate

WIDTH = 720
PANEL = 180  # height of one metric's panel
MARGIN_L, MARGIN_R, MARGIN_T, MARGIN_B = 70, 20, 28, 34  # the left one grows to fit values
EDGE = 4  # no text closer than this to the canvas's edge
GAP = 6  # between a value and its axis, and between two commit labels
COLOURS = [(31, 119, 180), (214, 39, 40), (44, 160, 44), (148, 103, 189), (255, 127, 14)]


_NARROW = frozenset(".,:;'|!ijlfrt-/()[] ")
_WIDE = frozenset("mwMW@%…#&+<=>^~")


@dataclass(frozen=True, slots=True)
class Font:
    advance: float  # from one character to the next (every one, in a monospace font)
    height: float
    gap: float  # the space after the last character that is not ink
    ellipsis: str
    narrow: float = 0.0  # a proportional font's narrow characters, and its wide ones
    wide: float = 0.0  # (upper case counts as wide)

    def width(self, text: str) -> float:
        if not text:
            return 0.0
        if not self.wide:
            return len(text) * self.advance - self.gap
        return sum(
            self.narrow
            if c in _NARROW
            else self.wide
            if c in _WIDE or c.isupper()
            else self.advance
            for c in text
        )


# The PNG's bitmap font at scale 2: 3x5 glyphs, 6x10 pixels, one column apart.
PNG_FONT = Font(advance=8, height=10, gap=2, ellipsis="...")
# SVG text is drawn by the viewer's sans-serif, 11px (bold for titles): the widths
# are above DejaVu Sans Bold's and Arial Bold's for each kind of character, so a box
# measured with them holds the text whatever sans-serif the viewer picks.
SVG_FONT = Font(advance=8, height=11, gap=0, ellipsis="…", narrow=5.5, wide=12.5)


@dataclass(frozen=True, slots=True)
class Text:
    left: float
    top: float
    text: str
    width: float
    height: float
    anchor: str = "start"  # how SVG places it: at ``left``, or ``end`` at left + width
    bold: bool = False

    @property
    def right(self) -> float:
        return self.left + self.width

    @property
    def bottom(self) -> float:
        return self.top + self.height


@dataclass(frozen=True, slots=True)
class Panel:
    name: str
    values: tuple[float | None, ...]
    points: tuple[tuple[float, float] | None, ...]
    axis_top: float
    axis_bottom: float
    texts: tuple[Text, ...]  # title, top and bottom values, commit labels


@dataclass(frozen=True, slots=True)
class Chart:
    width: int
    height: int
    left: float  # the y axis
    right: float  # the end of the x axis
    panels: tuple[Panel, ...]


def _fmt(v: float) -> str:
    return f"{v:.4g}"


def _value_labels(lo: float, hi: float) -> tuple[str, str]:
    """The axis's bottom and top values, with as many digits as tell them apart."""
    for digits in range(4, 13):
        a, b = f"{lo:.{digits}g}", f"{hi:.{digits}g}"
        if a != b:
            break
    return a, b


def _scale(values: Sequence[float | None]) -> tuple[float, float]:
    finite = [v for v in values if v is not None and math.isfinite(v)]
    lo, hi = (min(finite), max(finite)) if finite else (0.0, 1.0)
    if lo == hi:  # a flat line in the middle (a relative margin where 0.5 is lost)
        pad = max(0.5, abs(lo) * 1e-9)
        lo, hi = max(lo - pad, -sys.float_info.max), min(hi + pad, sys.float_info.max)
    return lo, hi


def _height(v: float, lo: float, hi: float) -> float:
    """Where ``v`` is between ``lo`` (0) and ``hi`` (1)."""
    if math.isfinite(hi - lo):
        return (v - lo) / (hi - lo)
    return (v / 2 - lo / 2) / (hi / 2 - lo / 2)  # the span overflows a float; halves do not


def _fit(text: str, room: float, font: Font) -> str:
    """``text``, or cut in the middle until it fits in ``room``."""
    for chars in range(len(text), len(font.ellipsis), -1):
        cut = abbreviate(text, chars, font.ellipsis)
        if font.width(cut) <= room:
            return cut
    return font.ellipsis


def _commit_labels(
    labels: Sequence[str], xs: Sequence[float], top: float, width: int, font: Font
) -> list[Text]:
    """Labels under the axis: as many as fit without overlapping, the newest (rightmost)
    always, each centred under its commit but pulled in from the canvas's edges."""
    texts: list[Text] = []
    for i in range(len(labels) - 1, -1, -1):
        text = _fit(labels[i], width - 2 * EDGE, font)
        w = font.width(text)
        left = min(max(xs[i] - w / 2, EDGE), width - EDGE - w)
        if texts and left + w + GAP > texts[-1].left:
            continue  # would touch the label on its right
        texts.append(Text(left, top, text, w, font.height))
    return texts[::-1]


def layout(
    labels: Sequence[str],
    series: Mapping[str, Sequence[float | None]],
    font: Font,
    width: int = WIDTH,
) -> Chart:
    ranges = {name: _scale(values) for name, values in series.items()}
    marks = {name: _value_labels(lo, hi) for name, (lo, hi) in ranges.items()}
    widest = max((font.width(m) for pair in marks.values() for m in pair), default=0.0)
    left = max(float(MARGIN_L), EDGE + widest + GAP)
    right = float(width - MARGIN_R)
    n = len(labels)
    xs = [left + ((right - left) * i / (n - 1) if n > 1 else (right - left) / 2) for i in range(n)]
    panels = []
    for k, (name, values) in enumerate(series.items()):
        top = k * PANEL
        y0, y1 = top + MARGIN_T, top + PANEL - MARGIN_B
        lo, hi = ranges[name]
        points = tuple(
            None
            if v is None or not math.isfinite(v)
            else (xs[i], y0 + (y1 - y0) * (1 - _height(v, lo, hi)))
            for i, v in enumerate(values)
        )
        title = _fit(name, width - EDGE - left, font)
        texts = [Text(left, top + 6, title, font.width(title), font.height, bold=True)]
        # the top value hangs from the axis's top, the bottom one stands on its end
        for mark, y in zip(marks[name], (y1 - font.height, y0), strict=True):
            w = font.width(mark)
            texts.append(Text(left - GAP - w, y, mark, w, font.height, "end"))
        texts += _commit_labels(labels, xs, y1 + 8, width, font)
        panels.append(Panel(name, tuple(values), points, y0, y1, tuple(texts)))
    return Chart(width, PANEL * max(1, len(series)), left, right, tuple(panels))


def svg(labels: Sequence[str], series: Mapping[str, Sequence[float | None]]) -> str:
    chart = layout(labels, series, SVG_FONT)
    w, h = chart.width, chart.height
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
        f'viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="11">',
        f'<rect width="{w}" height="{h}" fill="white"/>',
    ]
    for k, panel in enumerate(chart.panels):
        r, g, b = COLOURS[k % len(COLOURS)]
        out.append(
            f'<path d="M{chart.left:.1f} {panel.axis_top}V{panel.axis_bottom}H{chart.right}" '
            'stroke="#444" fill="none"/>'
        )
        for t in panel.texts:
            x, anchor = (t.right, ' text-anchor="end"') if t.anchor == "end" else (t.left, "")
            weight = ' font-weight="bold"' if t.bold else ""
            out.append(
                f'<text x="{x:.1f}" y="{t.bottom - 2:.1f}"{anchor}{weight}>{escape(t.text)}</text>'
            )
        drawn = [(p, v) for p, v in zip(panel.points, panel.values, strict=True) if p is not None]
        if len(drawn) > 1:
            d = "M" + "L".join(f"{x:.1f} {y:.1f}" for (x, y), _ in drawn)
            out.append(f'<path d="{d}" stroke="rgb({r},{g},{b})" stroke-width="2" fill="none"/>')
        for (x, y), v in drawn:
            assert v is not None
            out.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="rgb({r},{g},{b})">'
                f"<title>{_fmt(v)}</title></circle>"
            )
    out.append("</svg>")
    return "\n".join(out) + "\n"


# A 3x5 bitmap font: each glyph is five rows of three bits.
_FONT = {
    "0": "111101101101111",
    "1": "010110010010111",
    "2": "111001111100111",
    "3": "111001111001111",
    "4": "101101111001001",
    "5": "111100111001111",
    "6": "111100111101111",
    "7": "111001001001001",
    "8": "111101111101111",
    "9": "111101111001111",
    ".": "000000000000010",
    "-": "000000111000000",
    "+": "000010111010000",
    "e": "000111111100111",
    ":": "000010000010000",
    "_": "000000000000111",
    "/": "001001010100100",
    " ": "000000000000000",
}
for _c, _rows in zip(
    "abcdfghijklmnopqrstuvwxyz",
    [
        "000011101101111",
        "100111101101111",
        "000111100100111",
        "001111101101111",
        "011100110100100",
        "000111101111001",
        "100111101101101",
        "010000010010010",
        "001000001101111",
        "100101110101101",
        "110010010010111",
        "000111111101101",
        "000111101101101",
        "000111101101111",
        "000111101111100",
        "000111101111001",
        "000111100100100",
        "000011010001110",
        "010111010010011",
        "000101101101111",
        "000101101101010",
        "000101101111111",
        "000101010101101",
        "000101111001111",
        "000111001100111",
    ],
    strict=True,
):
    _FONT[_c] = _rows


class _Canvas:
    def __init__(self, w: int, h: int) -> None:
        self.w, self.h = w, h
        self.px = bytearray(b"\xff" * (w * h * 3))

    def dot(self, x: int, y: int, c: tuple[int, int, int]) -> None:
        if 0 <= x < self.w and 0 <= y < self.h:
            i = (y * self.w + x) * 3
            self.px[i : i + 3] = bytes(c)

    def line(
        self, x0: float, y0: float, x1: float, y1: float, c: tuple[int, int, int], t: int = 1
    ) -> None:
        n = int(max(abs(x1 - x0), abs(y1 - y0))) + 1
        for s in range(n + 1):
            x = round(x0 + (x1 - x0) * s / n)
            y = round(y0 + (y1 - y0) * s / n)
            for dx in range(t):
                for dy in range(t):
                    self.dot(x + dx, y + dy, c)

    def text(
        self, x: int, y: int, s: str, c: tuple[int, int, int] = (40, 40, 40), scale: int = 2
    ) -> None:
        for ch in s.lower():
            glyph = _FONT.get(ch, _FONT[" "])
            for row in range(5):
                for col in range(3):
                    if glyph[row * 3 + col] == "1":
                        for dx in range(scale):
                            for dy in range(scale):
                                self.dot(x + col * scale + dx, y + row * scale + dy, c)
            x += 4 * scale

    def png(self) -> bytes:
        raw = b"".join(
            b"\x00" + bytes(self.px[y * self.w * 3 : (y + 1) * self.w * 3]) for y in range(self.h)
        )

        def chunk(kind: bytes, data: bytes) -> bytes:
            return (
                struct.pack(">I", len(data))
                + kind
                + data
                + struct.pack(">I", zlib.crc32(kind + data))
            )

        header = struct.pack(">IIBBBBB", self.w, self.h, 8, 2, 0, 0, 0)
        return (
            b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(raw, 9))
            + chunk(b"IEND", b"")
        )


def png(labels: Sequence[str], series: Mapping[str, Sequence[float | None]]) -> bytes:
    chart = layout(labels, series, PNG_FONT)
    canvas = _Canvas(chart.width, chart.height)
    for k, panel in enumerate(chart.panels):
        colour = COLOURS[k % len(COLOURS)]
        y0, y1 = panel.axis_top, panel.axis_bottom
        canvas.line(chart.left, y0, chart.left, y1, (68, 68, 68))
        canvas.line(chart.left, y1, chart.right, y1, (68, 68, 68))
        for t in panel.texts:
            canvas.text(round(t.left), round(t.top), t.text)
        drawn = [p for p in panel.points if p is not None]
        for (xa, ya), (xb, yb) in itertools.pairwise(drawn):
            canvas.line(xa, ya, xb, yb, colour, t=2)
        for px, py in drawn:
            for dx in range(-2, 3):
                for dy in range(-2, 3):
                    canvas.dot(round(px) + dx, round(py) + dy, colour)
    return canvas.png()
