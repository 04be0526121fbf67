"""Canonical JSON: the one byte form of everything mlrepro hashes.

Sorted keys, no insignificant whitespace, UTF-8, no NaN/Infinity. Two equal
values always give the same bytes, so their digests are equal.
"""

from __future__ import annotations

import json
from typing import Any


def canonical_bytes(value: Any) -> bytes:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")
