"""Keeping cached outputs and data out of git, as DVC does: ``/name`` in the parent's .gitignore."""

from __future__ import annotations

import os
import posixpath

from mlrepro.fsutil import atomic_write


def ignore_outputs(root: str, relpaths: list[str]) -> None:
    by_dir: dict[str, list[str]] = {}
    for p in relpaths:
        parent, name = posixpath.split(p)
        by_dir.setdefault(parent, []).append(f"/{name}")
    for parent, entries in by_dir.items():
        path = os.path.join(root, parent, ".gitignore")
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except FileNotFoundError:
            text = ""
        present = set(text.splitlines())
        missing = [e for e in sorted(set(entries)) if e not in present]
        if not missing:
            continue
        if text and not text.endswith("\n"):
            text += "\n"
        text += "".join(f"{e}\n" for e in missing)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        atomic_write(path, text.encode("utf-8"))
