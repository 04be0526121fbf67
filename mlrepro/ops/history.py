"""``metrics history``: one row per commit that changed the metrics.

Commits are walked newest first along ``git log`` (a revision or ``A..B``). A
commit's metrics are identified before anything is parsed: the blob ids of its
pipeline files and git-tracked metrics files and the lock file's blob (which
names the cached metrics' digests). Commits whose identity equals their
parent's cannot differ and are skipped unread; the others are read once, and a
row is kept when its values differ from the previous kept row's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mlrepro.errors import MlreproError
from mlrepro.git.repo import CommitInfo
from mlrepro.ops.metrics import metrics_files, read_metrics
from mlrepro.ops.revisions import Revision, Revisions
from mlrepro.workspace.lockfile import LOCK_FILE


@dataclass(frozen=True, slots=True)
class HistoryRow:
    commit: CommitInfo
    values: dict[str, Any]  # "path:key" (or "key" when one file) -> value


@dataclass
class History:
    columns: list[str] = field(default_factory=list)
    rows: list[HistoryRow] = field(default_factory=list)  # oldest first
    notes: list[str] = field(default_factory=list)


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
    out = History()
    seen: dict[tuple[str | None, ...], dict[str, Any]] = {}
    raw: list[tuple[CommitInfo, dict[str, Any]]] = []
    for info in reversed(commits):  # oldest first
        values = _values(revs, info, seen, out)
        raw.append((info, values))

    paths = {name.split(":", 1)[0] for _, v in raw for name in v}
    single = len(paths) <= 1
    previous: dict[str, Any] | None = None
    for info, values in raw:
        named = {(k.split(":", 1)[1] if single else k): v for k, v in values.items()}
        if wanted:
            named = {k: v for k, v in named.items() if _selected(k, wanted)}
        if named and named != previous:
            out.rows.append(HistoryRow(info, named))
            previous = named
    out.columns = sorted({k for r in out.rows for k in r.values})
    return out


def _selected(name: str, wanted: tuple[str, ...]) -> bool:
    key = name.split(":", 1)[-1]
    return name in wanted or key in wanted


def _values(
    revs: Revisions,
    info: CommitInfo,
    seen: dict[tuple[str | None, ...], dict[str, Any]],
    out: History,
) -> dict[str, Any]:
    rev = Revision(info.short, info.sha)
    pipeline_key = _identity(revs, info.sha)
    try:
        paths = metrics_files(revs, rev)
    except MlreproError as exc:  # a pipeline that does not load: no metrics here
        out.notes.append(f"{info.short}: {exc.message}")
        return {}
    files = revs.git.files(info.sha)
    # git-tracked metrics files are part of the identity too
    key = (*pipeline_key, *(files[p].sha if p in files else None for p in paths))
    if key in seen:
        return seen[key]
    result = read_metrics(revs, rev, tuple(paths))  # the files found above, not again
    out.notes += [f"{e.path} at {info.short}: {e.message}" for e in result.errors]
    values: dict[str, Any] = {}
    for path, flat in result.files.items():
        items = flat.items() if isinstance(flat, dict) else [("", flat)]
        for k, v in items:
            if isinstance(v, int | float) and not isinstance(v, bool):
                values[f"{path}:{k}"] = v
    seen[key] = values
    return values
