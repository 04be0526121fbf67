"""Line charts of metrics over commits, as SVG or PNG, with no plotting library.

One panel per metric (each keeps its own scale), stacked; x is the commit, oldest
on the left, labelled with short commit ids. SVG is written as text; PNG is drawn
into an RGB buffer (lines, points, axes, and labels in a small built-in bitmap
font) and encoded with zlib, so the chart needs nothing beyond the standard library.
"""

from __future__ import annotations

import itertools
import math
import struct
import zlib
from collections.abc import Mapping, Sequence
from html import escape

WIDTH = 720
PANEL = 180  # height of one metric's panel
MARGIN_L, MARGIN_R, MARGIN_T, MARGIN_B = 70, 20, 28, 34
COLOURS = [(31, 119, 180), (214, 39, 40), (44, 160, 44), (148, 103, 189), (255, 127, 14)]


def _fmt(v: float) -> str:
    return f"{v:.4g}"


def _scale(values: Sequence[float | None]) -> tuple[float, float]:
    finite = [v for v in values if v is not None and math.isfinite(v)]
    lo, hi = (min(finite), max(finite)) if finite else (0.0, 1.0)
    if lo == hi:
        lo, hi = lo - 0.5 if lo else -0.5, hi + 0.5 if hi else 0.5
    return lo, hi


def _points(
    values: Sequence[float | None], top: int
) -> tuple[list[tuple[float, float] | None], float, float]:
    lo, hi = _scale(values)
    n = len(values)
    inner_w = WIDTH - MARGIN_L - MARGIN_R
    inner_h = PANEL - MARGIN_T - MARGIN_B
    pts: list[tuple[float, float] | None] = []
    for i, v in enumerate(values):
        if v is None or not math.isfinite(v):
            pts.append(None)
            continue
        x = MARGIN_L + (inner_w * i / (n - 1) if n > 1 else inner_w / 2)
        y = top + MARGIN_T + inner_h * (1 - (v - lo) / (hi - lo))
        pts.append((x, y))
    return pts, lo, hi


def svg(labels: Sequence[str], series: Mapping[str, Sequence[float | None]]) -> str:
    height = PANEL * max(1, len(series))
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="11">',
        f'<rect width="{WIDTH}" height="{height}" fill="white"/>',
    ]
    for k, (name, values) in enumerate(series.items()):
        top = k * PANEL
        r, g, b = COLOURS[k % len(COLOURS)]
        pts, lo, hi = _points(values, top)
        y0, y1 = top + MARGIN_T, top + PANEL - MARGIN_B
        out.append(f'<text x="{MARGIN_L}" y="{top + 16}" font-weight="bold">{escape(name)}</text>')
        out.append(
            f'<path d="M{MARGIN_L} {y0}V{y1}H{WIDTH - MARGIN_R}" stroke="#444" fill="none"/>'
        )
        out.append(f'<text x="{MARGIN_L - 6}" y="{y0 + 4}" text-anchor="end">{_fmt(hi)}</text>')
        out.append(f'<text x="{MARGIN_L - 6}" y="{y1}" text-anchor="end">{_fmt(lo)}</text>')
        drawn = [p for p in pts if p is not None]
        if len(drawn) > 1:
            d = "M" + "L".join(f"{x:.1f} {y:.1f}" for x, y in drawn)
            out.append(f'<path d="{d}" stroke="rgb({r},{g},{b})" stroke-width="2" fill="none"/>')
        for (x, y), v in zip(
            drawn, [v for v in values if v is not None and math.isfinite(v)], strict=True
        ):
            out.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="rgb({r},{g},{b})">'
                f"<title>{_fmt(v)}</title></circle>"
            )
        step = max(1, len(labels) // 8)
        for i, label in enumerate(labels):
            if i % step == 0 or i == len(labels) - 1:
                point = pts[i]
                x = (
                    point[0]
                    if point is not None
                    else MARGIN_L + (WIDTH - MARGIN_L - MARGIN_R) * i / max(1, len(labels) - 1)
                )
                out.append(
                    f'<text x="{x:.1f}" y="{y1 + 16}" text-anchor="middle">{escape(label)}</text>'
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
    height = PANEL * max(1, len(series))
    canvas = _Canvas(WIDTH, height)
    for k, (name, values) in enumerate(series.items()):
        top = k * PANEL
        colour = COLOURS[k % len(COLOURS)]
        pts, lo, hi = _points(values, top)
        y0, y1 = top + MARGIN_T, top + PANEL - MARGIN_B
        canvas.text(MARGIN_L, top + 6, name[:60])
        canvas.line(MARGIN_L, y0, MARGIN_L, y1, (68, 68, 68))
        canvas.line(MARGIN_L, y1, WIDTH - MARGIN_R, y1, (68, 68, 68))
        for v, y in ((hi, y0), (lo, y1 - 10)):
            label = _fmt(v)
            canvas.text(MARGIN_L - 6 - len(label) * 8, y, label)
        drawn = [p for p in pts if p is not None]
        for (xa, ya), (xb, yb) in itertools.pairwise(drawn):
            canvas.line(xa, ya, xb, yb, colour, t=2)
        for px, py in drawn:
            for dx in range(-2, 3):
                for dy in range(-2, 3):
                    canvas.dot(round(px) + dx, round(py) + dy, colour)
        step = max(1, len(labels) // 6)
        for i, label in enumerate(labels):
            if (i % step == 0 or i == len(labels) - 1) and pts[i] is not None:
                x = round(pts[i][0]) - len(label) * 4  # type: ignore[index]
                canvas.text(x, y1 + 8, label)
    return canvas.png()
