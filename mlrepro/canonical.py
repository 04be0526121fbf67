"""Canonical JSON: the one byte form of everything mlrepro hashes.

Sorted keys, no insignificant whitespace, UTF-8, no NaN/Infinity. Two equal
values always give the same bytes, so their digests are equal.
"""

from __future__ import annotations

import json
import re
from typing import Any

# one encoder for every call (json.dumps with these options builds a new one each time)
_ENCODER = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)


def canonical_text(value: Any) -> str:
    return _ENCODER.encode(value)


def canonical_bytes(value: Any) -> bytes:
    return utf8(_ENCODER.encode(value))


_SURROGATE = re.compile("[\ud800-\udfff]")


def utf8(text: str) -> bytes:
    """Canonical JSON text as bytes. A file name that is not UTF-8 reaches here with its
    bytes as lone surrogates (Python's ``surrogateescape``), which UTF-8 cannot encode:
    they are written as the JSON escape ``\\udcNN``, as in tree objects (and as DVC
    writes them), and read back to the same name. Text without them is unchanged."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text).encode("utf-8")


def finite(value: Any) -> Any:
    """``value`` with infinities and NaN tagged (``{"$float": "inf"}``), which canonical JSON
    cannot hold as numbers (params may be YAML's ``.inf`` and ``.nan``)."""
    import math

    if isinstance(value, float) and (math.isinf(value) or math.isnan(value)):
        return {"$float": repr(value)}
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    return value
