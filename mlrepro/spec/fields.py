"""Building a stage's params and outputs from their dvc.yaml entries, as DVC merges them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from mlrepro.spec import paths
from mlrepro.spec.model import Out

DEFAULT_PARAMS_FILE = "params.yaml"


def merge_params(entries: list[Any], wdir: str, fail: Any) -> dict[str, tuple[str, ...] | None]:
    # DVC's rule: a file named with no keys (or an empty list) is tracked
    # whole; bare keys belong to params.yaml in the stage's wdir.
    whole: set[str] = set()
    for entry in entries:
        if isinstance(entry, dict):
            whole.update(str(k) for k, v in entry.items() if not v)
    merged: dict[str, list[str] | None] = {}

    def add(file: str, keys: list[Any] | None) -> None:
        path = paths.join_rel(wdir, file)
        if keys is None or merged.get(path, []) is None:
            merged[path] = None
            return
        current = merged.setdefault(path, [])
        assert current is not None
        current.extend(keys)

    for entry in entries:
        if isinstance(entry, str):
            add(DEFAULT_PARAMS_FILE, None if DEFAULT_PARAMS_FILE in whole else [entry])
            continue
        if not isinstance(entry, dict):
            raise fail(f"params entry {entry!r} must be a key or {{file: [keys]}}", "params")
        for file, keys in entry.items():
            if not isinstance(file, str):
                raise fail(f"params file name {file!r} must be a string", "params")
            if file in whole:
                add(file, None)
            elif not isinstance(keys, list):
                raise fail(
                    f"params of '{file}' must be a list of keys, got {type(keys).__name__}",
                    "params",
                )
            else:
                add(file, keys)
    return {
        path: (None if keys is None else tuple(sorted(set(keys), key=_sort_key)))
        for path, keys in merged.items()
    }


def _sort_key(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def merge_outs(entries: list[Any], wdir: str, section: str, fail: Any) -> Iterator[Out]:
    # Same as DVC: entries naming the same path within a section are merged,
    # later flags overriding earlier ones; plot properties are not flags.
    merged: dict[str, dict[str, Any]] = {}
    for entry in entries:
        if isinstance(entry, str):
            merged.setdefault(entry, {})
            continue
        if not isinstance(entry, dict):
            raise fail(f"{section} entry {entry!r} must be a path or {{path: flags}}", section)
        for path, flags in entry.items():
            if not isinstance(flags, dict):
                raise fail(
                    f"flags of '{path}' must be a mapping, got {type(flags).__name__}", section
                )
            merged.setdefault(path, {}).update(flags)
    for path, flags in merged.items():
        if not isinstance(path, str):
            raise fail(f"{section} path {path!r} must be a string", section)
        if problem := paths.url_problem(path):
            raise fail(problem, section)
        if "\n" in path.rsplit("/", 1)[-1] and bool(flags.get("cache", True)):
            # issue 15: a cached output is kept out of git by a `/name` line in .gitignore
            raise fail(
                f"output {path!r} has a newline in its name, which no .gitignore line can "
                "express - rename it, or set `cache: false` so that git tracks it",
                section,
            )
        remote = flags.get("remote")
        yield Out(
            path=paths.join_rel(wdir, path),
            cache=bool(flags.get("cache", True)),
            persist=bool(flags.get("persist", False)),
            push=bool(flags.get("push", True)),
            remote=remote if isinstance(remote, str) else None,
        )
