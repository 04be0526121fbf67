"""Reading back the PNGs that ``mlrepro.render.chart`` writes, to look at their pixels."""

from __future__ import annotations

import struct
import zlib

TEXT_INK = (40, 40, 40)  # the colour the PNG's labels are drawn in
BAND = 4  # px along the left and right edges where a cut label leaves its ink


def decode_png(data: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and RGB rows of a PNG as chart.png writes it (8-bit RGB, no filter)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        header = body if kind == b"IHDR" else header
        idat += body if kind == b"IDAT" else b""
        pos += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", header[:10])
    assert (depth, colour) == (8, 2)
    raw = zlib.decompress(idat)
    stride = 1 + 3 * width
    rows = [raw[y * stride : (y + 1) * stride] for y in range(height)]
    assert all(row[0] == 0 for row in rows)  # no filter: pixels as they are
    return width, height, [row[1:] for row in rows]


def text_ink_columns(data: bytes) -> tuple[int, set[int]]:
    width, _height, rows = decode_png(data)
    ink = bytes(TEXT_INK)
    return width, {x for row in rows for x in range(width) if row[3 * x : 3 * x + 3] == ink}
