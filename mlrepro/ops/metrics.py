"""Metrics and params of any revision, and their differences, with DVC's semantics.

Which files, at a revision, come from that revision's own pipeline:

- metrics: every stage's ``metrics:`` outputs, then the top-level ``metrics:``
  entries (files, or folders whose files are all metrics);
- params: the files and keys stages track (a file named anywhere without keys is
  tracked whole), every top-level ``params:`` file whole, and ``params.yaml`` whole
  whenever it exists (with ``deps_only``: only what stages track).

Values are read from the revision (cached outputs through its lock and the
cache), parsed by extension (``.json``, ``.toml``, ``.py``, ``.csv``, ``.tsv``,
anything else as YAML), and flattened with dots. Metrics keep numbers, strings
and booleans (lists and nulls are dropped, as DVC does); params keep everything,
lists written as Python writes them (``[64, 32]``), again as DVC does.

CSV and TSV metrics are read as tables (DVC 3 reads them as YAML, which gives
one string or an error): the header names the columns; one row gives one metric
per column, several rows give ``<row>.<column>`` from row 0.

A file that cannot be read at a revision (missing, malformed, not in the cache)
is an error of that file at that revision, reported beside the result; its
values count as absent. It never stops the comparison.
"""

from __future__ import annotations

import csv
import io
import posixpath
from dataclasses import dataclass, field
from typing import Any

from mlrepro.errors import MlreproError, PipelineError
from mlrepro.ops.revisions import Revision, Revisions
from mlrepro.spec.fields import DEFAULT_PARAMS_FILE
from mlrepro.spec.paramsfile import parse_params_bytes

UNPARSABLE = "unable to parse"  # DVC's cell for a scalar file compared with a mapping


@dataclass(frozen=True, slots=True)
class FileError:
    rev: str  # revision label
    path: str
    message: str


@dataclass
class RevisionValues:
    """Flattened values per file at one revision (a file that failed is absent)."""

    rev: Revision
    files: dict[str, Any] = field(default_factory=dict)  # path -> flat dict, or a bare value
    raw: dict[str, Any] = field(default_factory=dict)  # path -> the parsed (filtered) value
    errors: list[FileError] = field(default_factory=list)
    failed: str | None = None  # the whole revision could not be read (its pipeline)


# -- reading ---------------------------------------------------------------------


def _describe(exc: Exception) -> str:
    """Why a file could not be read, without repeating its path."""
    if isinstance(exc, PipelineError):
        return (f"line {exc.line}: " if exc.line else "") + exc.what
    return exc.message if isinstance(exc, MlreproError) else str(exc)


def _parse(path: str, data: bytes) -> Any:
    ext = posixpath.splitext(path)[1].lower()
    if ext in (".csv", ".tsv"):
        return _parse_table(data, "\t" if ext == ".tsv" else ",")
    return parse_params_bytes(data, path, raw=True)


def _number(text: str) -> Any:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _parse_table(data: bytes, delimiter: str) -> Any:
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8")), delimiter=delimiter))
    parsed = [
        {k: _number(v) for k, v in row.items() if k is not None and v is not None} for row in rows
    ]
    if len(parsed) == 1:
        return parsed[0]
    return {str(i): row for i, row in enumerate(parsed)}


def keep_metrics(value: Any) -> Any:
    """DVC's filter: numbers, strings and booleans; mappings of them; nothing else."""
    if isinstance(value, dict):
        kept = {str(k): keep_metrics(v) for k, v in value.items()}
        kept = {k: v for k, v in kept.items() if v is not None and v != {}}
        return kept
    if isinstance(value, bool | int | float | str):
        return value
    return None


def flatten(value: Any, *, lists_as_text: bool = False) -> Any:
    """Nested mappings to one level with dotted keys (a bare value stays as it is)."""
    if not isinstance(value, dict):
        return str(value) if lists_as_text and isinstance(value, list) else value
    out: dict[str, Any] = {}

    def walk(prefix: str, v: Any) -> None:
        if isinstance(v, dict) and v:
            for k, sub in v.items():
                walk(f"{prefix}.{k}" if prefix else str(k), sub)
        else:
            out[prefix] = str(v) if lists_as_text and isinstance(v, list) else v

    for k, v in value.items():
        walk(str(k), v)
    return out


def _pick(data: Any, keys: tuple[str, ...]) -> dict[str, Any]:
    """The tracked keys (dotted paths) of a params mapping, nested as in the file."""
    picked: dict[str, Any] = {}
    for key in keys:
        node: Any = data
        for part in key.split("."):
            if isinstance(node, dict) and part in node:
                node = node[part]
            else:
                break
        else:
            picked[key] = node
    return picked


def metrics_files(revs: Revisions, rev: Revision, targets: tuple[str, ...] = ()) -> list[str]:
    """The metrics files of ``rev``, in pipeline order (or ``targets``, folders expanded)."""
    if targets:
        wanted = list(targets)
    else:
        pipeline = revs.pipeline(rev)
        wanted = [o.path for s in pipeline.stages for o in s.metrics] + list(pipeline.metrics)
    found: list[str] = []
    for path in wanted:
        inside = revs.files_under(rev, path)
        found += inside if inside else [path]
    return list(dict.fromkeys(found))


def read_metrics(revs: Revisions, rev: Revision, targets: tuple[str, ...] = ()) -> RevisionValues:
    out = RevisionValues(rev)
    try:
        paths = metrics_files(revs, rev, targets)
    except MlreproError as exc:
        out.failed = exc.message
        return out
    for path in paths:
        try:
            data = revs.read(rev, path)
            if data is None:
                raise MlreproError("no such file")
            value = keep_metrics(_parse(path, data))
        except (MlreproError, ValueError, UnicodeDecodeError) as exc:
            out.errors.append(FileError(rev.label, path, _describe(exc)))
            continue
        out.raw[path] = value
        out.files[path] = flatten(value) if value is not None else {}
    return out


def tracked_params(
    revs: Revisions, rev: Revision, *, deps_only: bool = False
) -> dict[str, tuple[str, ...] | None]:
    """Params files of ``rev`` -> tracked keys (None: the whole file)."""
    pipeline = revs.pipeline(rev)
    tracked: dict[str, tuple[str, ...] | None] = {}

    def add(path: str, keys: tuple[str, ...] | None) -> None:
        if path in tracked and tracked[path] is None:
            return
        if keys is None:
            tracked[path] = None
        else:
            tracked[path] = tuple(dict.fromkeys((*(tracked.get(path) or ()), *keys)))

    for stage in pipeline.stages:
        for path, keys in stage.params.items():
            add(path, keys)
    if not deps_only:
        for path in pipeline.params:
            add(path, None)
        if revs.tracked(rev, DEFAULT_PARAMS_FILE) is not None:
            add(DEFAULT_PARAMS_FILE, None)
    return tracked


def read_params(
    revs: Revisions, rev: Revision, *, deps_only: bool = False, targets: tuple[str, ...] = ()
) -> RevisionValues:
    out = RevisionValues(rev)
    try:
        tracked = (
            dict.fromkeys(targets) if targets else tracked_params(revs, rev, deps_only=deps_only)
        )
    except MlreproError as exc:
        out.failed = exc.message
        return out
    for path, keys in tracked.items():
        try:
            data = revs.read(rev, path)
            if data is None:
                raise MlreproError("no such file")
            value = parse_params_bytes(data, path)
        except (MlreproError, ValueError, UnicodeDecodeError) as exc:
            out.errors.append(FileError(rev.label, path, _describe(exc)))
            continue
        if not isinstance(value, dict):
            out.errors.append(FileError(rev.label, path, "a params file must hold a mapping"))
            continue
        picked = value if keys is None else _pick(value, keys)
        out.raw[path] = picked
        out.files[path] = flatten(picked, lists_as_text=True)
    return out


# -- comparing -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Delta:
    path: str
    key: str
    old: Any  # None when absent
    new: Any
    diff: Any = None  # new - old when both are numbers

    @property
    def has_diff(self) -> bool:
        return _numeric(self.old) and _numeric(self.new)


def _numeric(v: Any) -> bool:
    return isinstance(v, bool | int | float)


def _as_keys(value: Any, other: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    if value is None:
        return {}
    if isinstance(other, dict):  # a bare value against a mapping: DVC cannot compare them
        return dict.fromkeys(other, UNPARSABLE)
    return {"": value}


def compare(old: RevisionValues, new: RevisionValues, *, all_keys: bool = False) -> list[Delta]:
    """Per file and key, old and new values; unchanged keys only with ``all_keys``.

    Files in path order, keys sorted; "unchanged" is Python equality (so 32 and 32.0
    are equal), as in DVC."""
    deltas: list[Delta] = []
    for path in sorted(old.files.keys() | new.files.keys()):
        a = _as_keys(old.files.get(path), new.files.get(path))
        b = _as_keys(new.files.get(path), old.files.get(path))
        for key in sorted(a.keys() | b.keys()):
            va, vb = a.get(key), b.get(key)
            if va == vb and not all_keys:
                continue
            diff = vb - va if _numeric(va) and _numeric(vb) else None  # type: ignore[operator]
            deltas.append(Delta(path, key, va, vb, diff))
    return deltas
