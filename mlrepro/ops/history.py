"""``metrics history``: one row per commit that changed the metrics.

Commits are walked newest first along ``git log`` (a revision or ``A..B``). A
commit's metrics are identified before anything is parsed: the blob ids of its
pipeline files and git-tracked metrics files and the lock file's blob (which
names the cached metrics' digests). Commits whose identity equals their
parent's cannot differ and are skipped unread; the others are read once, and a
row is kept when its values differ from the previous kept row's.

Only the commits of the range (the last N with ``limit``) are read, and only they
are named in the notes; missing metrics files are summed up in a line or two
(:func:`mlrepro.snapshot.values.read_warnings`), not noted per commit.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from mlrepro.errors import MlreproError
from mlrepro.git.repo import CommitInfo
from mlrepro.snapshot.revisions import Revision, Revisions
from mlrepro.snapshot.values import RevisionValues, metrics_files, read_metrics, read_warnings
from mlrepro.workspace.lockfile import LOCK_FILE

Values = dict[tuple[str, str], Any]  # (metrics file, key) -> number


@dataclass(frozen=True, slots=True)
class HistoryRow:
    commit: CommitInfo
    values: dict[str, Any]  # "path:key" (or "key" when one file) -> value


@dataclass(frozen=True, slots=True)
class History:
    columns: tuple[str, ...] = ()
    rows: tuple[HistoryRow, ...] = ()  # oldest first
    notes: tuple[str, ...] = ()
    files: dict[str, tuple[str, str]] = field(default_factory=dict)  # column -> (file, key)


def _identity(revs: Revisions, commit: str) -> tuple[str | None, ...]:
    files = revs.git.files(commit)
    names = sorted(p for p in files if p.endswith(("dvc.yaml", "params.yaml")) or p == LOCK_FILE)
    return tuple(files[p].sha for p in names)


def metrics_history(
    revs: Revisions,
    *,
    rev_range: str = "HEAD",
    limit: int | None = None,
    wanted: tuple[str, ...] = (),
) -> History:
    commits = revs.git.log(rev_range, limit=limit)
    seen: dict[tuple[str | None, ...], tuple[Values, RevisionValues]] = {}
    raw: list[tuple[CommitInfo, Values]] = []
    read: list[RevisionValues] = []
    for info in reversed(commits):  # oldest first
        values, result = _values(revs, info, seen)
        raw.append((info, values))
        read.append(result)
    notes = read_warnings(read[::-1], grouped=True)  # newest first, as git log

    single = len({path for _, v in raw for path, _key in v}) <= 1
    previous: dict[str, Any] | None = None
    rows: list[HistoryRow] = []
    files: dict[str, tuple[str, str]] = {}
    for info, values in raw:
        named: dict[str, Any] = {}
        for (path, key), v in values.items():
            column = key if single else f"{path}:{key}"
            if not wanted or {column, key, f"{path}:{key}"} & set(wanted):
                files[column] = path, key
                named[column] = v
        if named and named != previous:
            rows.append(HistoryRow(info, named))
            previous = named
    columns = sorted({k for r in rows for k in r.values})
    return History(tuple(columns), tuple(rows), tuple(notes), {c: files[c] for c in columns})


def _values(
    revs: Revisions,
    info: CommitInfo,
    seen: dict[tuple[str | None, ...], tuple[Values, RevisionValues]],
) -> tuple[Values, RevisionValues]:
    """The commit's numeric metrics, and what reading found."""
    rev = Revision(info.short, info.sha)
    pipeline_key = _identity(revs, info.sha)
    try:
        paths = metrics_files(revs, rev)
    except MlreproError as exc:  # a pipeline that does not load: no metrics here
        return {}, RevisionValues(rev, failed=exc.message)
    files = revs.git.files(info.sha)
    # git-tracked metrics files are part of the identity too
    key = (*pipeline_key, *(files[p].sha if p in files else None for p in paths))
    if key in seen:
        known, earlier = seen[key]
        # the same files: missing here too (counted in the summary line); a file that
        # cannot be read was told once, at the first commit that has it
        errors = tuple(replace(e, rev=rev.label) for e in earlier.errors if e.missing)
        return known, replace(earlier, rev=rev, errors=errors)
    result = read_metrics(revs, rev, tuple(paths))  # the files found above, not again
    values: Values = {}
    for path, flat in result.files.items():
        items = flat.items() if isinstance(flat, dict) else [("", flat)]
        for k, v in items:
            if isinstance(v, int | float) and not isinstance(v, bool):
                values[path, k] = v
    seen[key] = values, result
    return values, result
