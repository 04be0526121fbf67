"""What a command that works across history covers: which commits (the tips of
branches and tags, every commit, or named revisions: ``gc``, ``push``, ``fetch``,
``pull``), and which cached artifacts their locks record (``push``, ``fetch``, ``pull``,
``status -c``, chosen as DVC chooses them).

The workspace's lock always counts, narrowed by targets (stage names or output paths,
with ``with_deps`` their upstream stages too). At a commit, its own pipeline says which
outputs are cached, and a target matches a stage's name or id, an output's path, or a
folder holding outputs."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mlrepro.dag.plan import select
from mlrepro.dag.workstate import WorkState
from mlrepro.git.api import GitReader
from mlrepro.remote.transfer import Want
from mlrepro.snapshot.revisions import Revisions
from mlrepro.spec.model import Pipeline
from mlrepro.store.digest import bare
from mlrepro.workspace.lockfile import Artifact, Lock

if TYPE_CHECKING:
    from mlrepro.workspace.project import Project


def commits_in_scope(
    git: GitReader,
    all_branches: bool = False,
    all_tags: bool = False,
    all_commits: bool = False,
    revs: Iterable[str] = (),
) -> list[str]:
    """The full ids of the commits asked for, each once, in the order asked."""
    if all_commits:
        commits = git.all_commits()
    else:
        commits = []
        if all_branches:
            commits += [sha for _, sha in git.refs("heads")]
        if all_tags:
            commits += [sha for _, sha in git.refs("tags")]
    commits += [git.resolve(rev) for rev in revs]
    return list(dict.fromkeys(commits))


@dataclass(frozen=True, slots=True)
class Scope:
    """Which recorded artifacts a command moves."""

    targets: tuple[str, ...] = ()
    with_deps: bool = False
    all_branches: bool = False
    all_tags: bool = False
    all_commits: bool = False
    revs: tuple[str, ...] = ()

    @property
    def history(self) -> bool:
        return self.all_branches or self.all_tags or self.all_commits or bool(self.revs)


WORKSPACE_ONLY = Scope()  # everything the workspace's lock records


Owned = tuple[str | None, Artifact]  # the stage that makes an artifact (None: data), and it


def artifacts(project: Project, scope: Scope) -> tuple[list[Owned], tuple[str, ...]]:
    """Every cached artifact in scope with its stage (workspace first, then each commit;
    an artifact recorded at several revisions comes once), and the revisions read."""
    found: dict[str, Owned] = {}

    def add(owned: Iterator[Owned]) -> None:
        for stage, a in owned:
            if a.digest is not None:
                found.setdefault(a.digest, (stage, a))

    add(_workspace(WorkState.load(project), scope))
    revisions = ["workspace"]
    if scope.history:
        with Revisions.of(project) as revs:
            for commit in commits_in_scope(
                revs.git, scope.all_branches, scope.all_tags, scope.all_commits, scope.revs
            ):
                rev = revs.revision(commit)
                add(_at_commit(revs.lock(rev), revs.pipeline(rev), scope.targets))
                revisions.append(commit)
    return list(found.values()), tuple(revisions)


def want(a: Artifact) -> Want:
    assert a.digest is not None
    return Want(bare(a.digest), bare(a.sha256) if a.sha256 else None, a.size, a.isdir, a.path)


def _workspace(ctx: WorkState, scope: Scope) -> Iterator[Owned]:
    data = set(ctx.lock.data) & set(scope.targets)
    stage_targets = [t for t in scope.targets if t not in data]
    for path in sorted(ctx.lock.data if not scope.targets else data):
        yield None, ctx.lock.data[path]
    if scope.targets and not stage_targets:
        return
    chosen = select(ctx, stage_targets or None, single=bool(stage_targets) and not scope.with_deps)
    for sid in chosen:
        record = ctx.lock.stages.get(sid)
        if record is not None:
            cached = {o.path for o in ctx.by_id[sid].all_outs if o.cache}
            yield from ((sid, a) for a in record.outs if a.path in cached)


def _at_commit(lock: Lock, pipeline: Pipeline, targets: tuple[str, ...]) -> Iterator[Owned]:
    def wanted(names: tuple[str, ...], path: str) -> bool:
        return not targets or any(
            t in names or path == t or path.startswith(t.rstrip("/") + "/") for t in targets
        )

    for path, a in lock.data.items():
        if wanted((), path):
            yield None, a
    for stage in pipeline.stages:
        record = lock.stages.get(stage.id)
        if record is None:
            continue
        cached = {o.path for o in stage.all_outs if o.cache}
        for a in record.outs:
            if a.path in cached and wanted((stage.id, stage.name), a.path):
                yield stage.id, a
