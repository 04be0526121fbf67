"""File names as SQLite holds them.

On Linux a name is bytes; Python holds one that is not UTF-8 as text with lone
surrogates (``surrogateescape``), which SQLite's TEXT cannot store. Such a name is
stored as a BLOB of its bytes instead, every other name as TEXT, so each name has one
form and UTF-8 rows are what they always were (issue 15).
"""

from __future__ import annotations


def held(name: str) -> str | bytes:
    """``name`` as SQLite can hold it: itself when it is UTF-8, else its bytes."""
    if name.isascii():
        return name
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return name.encode("utf-8", "surrogateescape")
    return name


def name_of(value: str | bytes) -> str:
    """The name a held value stands for (:func:`held` undone)."""
    return value if isinstance(value, str) else value.decode("utf-8", "surrogateescape")
