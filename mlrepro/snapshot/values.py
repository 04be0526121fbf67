"""Metrics and params values of any revision, and their differences, with DVC's semantics.

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
values count as absent. It never stops the comparison. Files keep the order the
revision lists them in, read or not (DVC's ``metrics show`` order), and a diff
lists them in that order too.
"""

from __future__ import annotations

import csv
import io
import posixpath
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from mlrepro.errors import MlreproError, PipelineError
from mlrepro.snapshot.revisions import Revision, Revisions
from mlrepro.spec.fields import DEFAULT_PARAMS_FILE
from mlrepro.spec.paramsfile import parse_params_bytes

UNPARSABLE = "unable to parse"  # DVC's cell for a scalar file compared with a mapping
NO_SUCH_FILE = "no such file"


@dataclass(frozen=True, slots=True)
class FileError:
    rev: str  # revision label
    path: str
    message: str
    missing: bool = False  # the revision has no such file (as opposed to one we cannot read)


@dataclass(frozen=True, slots=True)
class RevisionValues:
    """Flattened values per file at one revision (a file that failed is absent)."""

    rev: Revision
    files: dict[str, Any] = field(default_factory=dict)  # path -> flat dict, or a bare value
    raw: dict[str, Any] = field(default_factory=dict)  # path -> the parsed (filtered) value
    errors: tuple[FileError, ...] = ()
    failed: str | None = None  # the whole revision could not be read (its pipeline)
    paths: tuple[str, ...] = ()  # every file, read or not, in the rev's order

    def order(self) -> list[str]:
        """The files in the revision's order (then any not listed in ``paths``)."""
        return list(dict.fromkeys([*self.paths, *self.files, *(e.path for e in self.errors)]))

    @property
    def none_exist(self) -> bool:
        """The revision names files, and not one of them exists."""
        missing = {e.path for e in self.errors if e.missing}
        return bool(self.paths) and missing == set(self.paths)


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
    try:
        paths = metrics_files(revs, rev, targets)
    except MlreproError as exc:
        return RevisionValues(rev, failed=exc.message)
    files: dict[str, Any] = {}
    raw: dict[str, Any] = {}
    errors: list[FileError] = []
    for path in paths:
        try:
            data = revs.read(rev, path)
            if data is None:
                errors.append(FileError(rev.label, path, NO_SUCH_FILE, missing=True))
                continue
            value = keep_metrics(_parse(path, data))
        except (MlreproError, ValueError, UnicodeDecodeError) as exc:
            errors.append(FileError(rev.label, path, _describe(exc)))
            continue
        raw[path] = value
        files[path] = flatten(value) if value is not None else {}
    return RevisionValues(rev, files, raw, tuple(errors), paths=tuple(paths))


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
    try:
        tracked = (
            dict.fromkeys(targets) if targets else tracked_params(revs, rev, deps_only=deps_only)
        )
    except MlreproError as exc:
        return RevisionValues(rev, failed=exc.message)
    files: dict[str, Any] = {}
    raw: dict[str, Any] = {}
    errors: list[FileError] = []
    for path, keys in tracked.items():
        try:
            data = revs.read(rev, path)
            if data is None:
                errors.append(FileError(rev.label, path, NO_SUCH_FILE, missing=True))
                continue
            value = parse_params_bytes(data, path)
        except (MlreproError, ValueError, UnicodeDecodeError) as exc:
            errors.append(FileError(rev.label, path, _describe(exc)))
            continue
        if not isinstance(value, dict):
            errors.append(FileError(rev.label, path, "a params file must hold a mapping"))
            continue
        picked = value if keys is None else _pick(value, keys)
        raw[path] = picked
        files[path] = flatten(picked, lists_as_text=True)
    return RevisionValues(rev, files, raw, tuple(errors), paths=tuple(tracked))


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

    Files in the new revision's order, then those only the old one has (the order
    ``metrics show`` lists them in: DVC's diff order is a Python set's, different from
    run to run); keys sorted; "unchanged" is Python equality (so 32 and 32.0 are
    equal), as in DVC."""
    deltas: list[Delta] = []
    for path in dict.fromkeys([*new.order(), *old.order()]):
        if path not in old.files and path not in new.files:
            continue
        a = _as_keys(old.files.get(path), new.files.get(path))
        b = _as_keys(new.files.get(path), old.files.get(path))
        for key in sorted(a.keys() | b.keys()):
            va, vb = a.get(key), b.get(key)
            if va == vb and not all_keys:
                continue
            diff = vb - va if _numeric(va) and _numeric(vb) else None  # type: ignore[operator]
            deltas.append(Delta(path, key, va, vb, diff))
    return deltas


# -- telling what could not be read ----------------------------------------------

_NAMED = 5  # revisions a summary line names before "and N more"


def _short(label: str) -> str:
    """A full commit id as git abbreviates it; names stay as they are."""
    hexdigits = set("0123456789abcdef")
    return label[:7] if len(label) == 40 and set(label) <= hexdigits else label


def _listed(labels: Sequence[str]) -> str:
    """``3 commits: a, b, c``; a long list names the first few and counts the rest."""
    noun = "revision" if "workspace" in labels else "commit"
    count = f"{len(labels)} {noun}{'' if len(labels) == 1 else 's'}"
    shown = ", ".join(_short(label) for label in labels[:_NAMED])
    more = f" and {len(labels) - _NAMED} more" if len(labels) > _NAMED else ""
    return f"{count}: {shown}{more}"


def _failure(label: str, failed: str) -> str:
    # a commit's pipeline error already starts "at <label>: " (Revisions.pipeline)
    return f"{label}: {failed.removeprefix(f'at {label}: ')}"


def read_warnings(results: Sequence[RevisionValues], *, grouped: bool = False) -> list[str]:
    """What to tell the user about what could not be read, one line each.

    Without ``grouped``: a line per pipeline that does not load and per file that
    cannot be read. With ``grouped`` (many revisions: ``show -a/-T/-A``, ``history``),
    missing files are summed up, as DVC names in one line the revisions it failed on:
    one line for the revisions that have none of their metrics files, one per path
    for the files missing at revisions that have others. Files that exist but cannot
    be read keep a line each, since each is a different problem."""
    empty: list[str] = []
    by_path: dict[str, list[str]] = {}
    lines: list[str] = []
    for r in results:
        if r.failed is not None:
            lines.append(_failure(r.rev.label, r.failed))
        if grouped and r.none_exist:
            empty.append(r.rev.label)
            continue
        for e in r.errors:
            if grouped and e.missing:
                by_path.setdefault(e.path, []).append(r.rev.label)
            else:
                lines.append(f"{e.path} at {e.rev}: {e.message}")
    summary = [f"no metrics file in {_listed(empty)}"] if empty else []
    summary += [f"{path}: {NO_SUCH_FILE} in {_listed(labels)}" for path, labels in by_path.items()]
    return summary + lines
