"""Deciding which stages must run, and why (the reasons: :mod:`mlrepro.dag.reasons`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from mlrepro.dag.reasons import DataState, DataStatus, Reason, ReasonCode, StageStatus
from mlrepro.dag.runkey import block_key, run_key
from mlrepro.dag.select import topological_order
from mlrepro.dag.workstate import WorkState
from mlrepro.secrets import mask_for_lock
from mlrepro.spec.model import Stage
from mlrepro.store.digest import bare, tag_xxh
from mlrepro.store.objects import CorruptObjectError, MissingObjectError
from mlrepro.store.tree import MalformedTreeError, Tree
from mlrepro.workspace.lockfile import Artifact, StageRecord


def own_reasons(ctx: WorkState, stage: Stage) -> list[Reason]:
    """Why ``stage`` must run, judged from the workspace as it is now (upstream ignored)."""
    record = ctx.lock.stages.get(stage.id)
    reasons: list[Reason] = []
    if stage.always_changed:
        reasons.append(Reason(ReasonCode.ALWAYS_CHANGED))
    elif not stage.deps and not stage.params and not stage.all_outs:
        reasons.append(Reason(ReasonCode.NO_DEPS))  # DVC's "callback" stage
    if record is None:
        reasons.append(Reason(ReasonCode.NEVER_RUN))
        return reasons
    # the lock holds credentials masked (mlrepro.secrets): compare as it holds them
    cmd_then, cmd_now = mask_for_lock(record.cmd), mask_for_lock(stage.cmd)
    if cmd_then != cmd_now:
        reasons.append(Reason(ReasonCode.CMD_CHANGED, old=cmd_then, new=cmd_now))
    recorded = {a.path: a for a in record.deps}
    for path in sorted(set(stage.deps)):
        now = ctx.dep_artifact(path)
        before = recorded.get(path)
        if now.digest is None:
            reasons.append(Reason(ReasonCode.DEP_MISSING, path))
        elif before is None:
            reasons.append(Reason(ReasonCode.DEP_ADDED, path))
        elif before.digest != now.digest:
            reasons.append(Reason(ReasonCode.DEP_CHANGED, path, before.digest, now.digest))
    for path in sorted(set(recorded) - set(stage.deps)):
        reasons.append(Reason(ReasonCode.DEP_REMOVED, path))
    now_params = mask_for_lock(ctx.param_values(stage))
    then_params = mask_for_lock(record.params)
    for f in sorted(set(now_params) | set(then_params)):
        new, old = now_params.get(f, {}), then_params.get(f, {})
        # in the order the pipeline names them, then those it no longer names
        for key in [*new, *(k for k in old if k not in new)]:
            name = f"{f}:{key}" if f != "params.yaml" else key
            if key not in old:
                reasons.append(Reason(ReasonCode.PARAM_ADDED, name, None, new[key]))
            elif key not in new:
                reasons.append(Reason(ReasonCode.PARAM_REMOVED, name, old[key], None))
            elif old[key] != new[key] or type(old[key]) is not type(new[key]):
                before = in_order_of(old[key], new[key])
                reasons.append(Reason(ReasonCode.PARAM_CHANGED, name, before, new[key]))
    recorded_outs = {a.path: a for a in record.outs}
    for out in stage.all_outs:
        before = recorded_outs.get(out.path)
        st = ctx.state(out.path)
        if before is None:
            reasons.append(Reason(ReasonCode.OUT_ADDED, out.path))
        elif not st.exists:
            reasons.append(Reason(ReasonCode.OUT_MISSING, out.path))
        elif before.digest != st.digest:
            reasons.append(Reason(ReasonCode.OUT_MODIFIED, out.path, before.digest, st.digest))
    return reasons


def in_order_of(old: Any, new: Any) -> Any:
    """``old`` with its mappings' keys in ``new``'s order (the params file's), so the two
    read side by side; the lock keeps them sorted."""
    if not isinstance(old, dict) or not isinstance(new, dict):
        return old
    order = [*(k for k in new if k in old), *(k for k in old if k not in new)]
    return {k: in_order_of(old[k], new.get(k)) for k in order}


def select(
    ctx: WorkState, targets: Iterable[str] | None, *, downstream: bool = False, single: bool = False
) -> list[str]:
    """Stage ids to consider, in run order: the targets with what they need (or feed)."""
    from mlrepro.dag.select import resolve_target

    all_ids = [s.id for s in ctx.pipeline.stages]
    if not targets:
        chosen = set(all_ids)
    else:
        roots = [resolve_target(ctx.pipeline, t) for t in _expand_groups(ctx, targets)]
        chosen = set(roots)
        if not single:
            graph = ctx.consumers if downstream else ctx.producers
            stack = list(roots)
            while stack:
                n = stack.pop()
                for m in graph[n]:
                    if m not in chosen:
                        chosen.add(m)
                        stack.append(m)
    edges = [(a, b) for a, b in ctx.pipeline.edges if a in chosen and b in chosen]
    return topological_order([i for i in all_ids if i in chosen], edges)


def _expand_groups(ctx: WorkState, targets: Iterable[str]) -> list[str]:
    # `train` names every stage a foreach/matrix group `train` generated, as in DVC
    out: list[str] = []
    ids = {s.id for s in ctx.pipeline.stages}
    names = {s.name for s in ctx.pipeline.stages}
    for t in targets:
        if t in ids or t in names:
            out.append(t)
            continue
        members = [
            s.id
            for s in ctx.pipeline.stages
            if s.id.rsplit("@", 1)[0] == t or s.name.rsplit("@", 1)[0] == t
        ]
        out.extend(members or [t])
    return out


class Restorer(Protocol):
    """What the planner asks of the run-cache (mlrepro.engine.runcache.RunCache)."""

    def restorable(
        self, stage: Stage, key: str, block: StageRecord | None
    ) -> list[Artifact] | None:
        """The outputs that restore ``stage`` for the inputs keyed ``key`` (None: it runs)."""
        ...


def plan(
    ctx: WorkState, order: list[str], runs: Restorer | None, *, force: bool = False
) -> dict[str, StageStatus]:
    """Status of every stage in ``order``, judged as repro will judge it.

    repro decides whether a stage is up to date only once its upstream stages have
    finished, so a dependency that an upstream stage rewrites is judged by the bytes it
    will write: known when that stage is restored from the cache (the entry or lock
    block names them), unknown when it runs. A stage whose every reason follows from
    an unknown is conditional (``after``); one whose inputs all come back as recorded is
    up to date."""
    result: dict[str, StageStatus] = {}
    # output path -> the digest it will have once the stages before it are done
    # (None: not known until its stage has run)
    coming: dict[str, str | None] = {}
    for sid in order:
        stage = ctx.by_id[sid]
        if stage.frozen and not force:
            result[sid] = StageStatus(sid, True, ())
            continue
        if force:
            result[sid] = StageStatus(sid, stage.frozen, (Reason(ReasonCode.FORCED),))
            coming.update(dict.fromkeys((o.path for o in stage.all_outs), None))
            continue
        ups = [u for u in ctx.producers[sid] if u in result and result[u].changed]
        reasons = own_reasons(ctx, stage)
        # dependencies an upstream stage rewrites are judged by what it will write
        rewritten = {d for d in stage.deps if _produced_by(ctx, d, ups)}
        standing = [r for r in reasons if not (r.code in _DEP_CODES and r.path in rewritten)]
        following: list[Reason] = []
        waits: list[str] = []
        definite = False
        for d in sorted(rewritten):
            now = next((r for r in reasons if r.path == d and r.code in _DEP_CODES), None)
            decided_by, coming_digest = _decided_upstream(ctx, stage, d, ups, coming)
            if decided_by is None:
                definite = True
                if now is not None:
                    standing.append(now)
                elif coming_digest is not None:
                    standing.append(
                        Reason(
                            ReasonCode.DEP_CHANGED, d, _recorded_dep(ctx, stage, d), coming_digest
                        )
                    )
            elif decided_by:
                if now is not None:
                    following.append(now)
                waits += [u for u in decided_by if u not in waits]
            # else: the bytes coming back are the recorded ones, whatever is there now
        running = [u for u in ups if not (result[u].restore and not result[u].conditional)]
        outs: list[Artifact] | None = None
        if definite or (standing and not waits):
            if not waits and runs is not None:
                outs = _restore_outs(ctx, stage, coming, runs)
            status = StageStatus(
                sid,
                stage.frozen,
                (*standing, *following, *(Reason(ReasonCode.UPSTREAM, u) for u in running)),
                restore=outs is not None,
            )
        elif not standing and not waits:
            status = StageStatus(sid, stage.frozen, ())
        elif not standing:
            status = StageStatus(
                sid,
                stage.frozen,
                (*(Reason(ReasonCode.UPSTREAM_BYTES, u) for u in waits), *following),
                after=tuple(waits),
            )
        elif all(r.code in _OUTPUT_GONE for r in standing):
            # when the upstream writes its recorded bytes, the lock block brings the
            # outputs back; otherwise the stage runs
            restore = runs is not None and _block_restorable(ctx, stage, runs)
            status = StageStatus(
                sid,
                stage.frozen,
                (*(Reason(ReasonCode.UPSTREAM_BYTES, u) for u in waits), *standing, *following),
                after=tuple(waits),
                restore=restore,
            )
        else:  # a reason of its own (a param, the command...) and an upstream that runs
            status = StageStatus(
                sid,
                stage.frozen,
                (*standing, *following, *(Reason(ReasonCode.UPSTREAM, u) for u in running)),
            )
        result[sid] = status
        if status.changed:
            known = {a.path: a.digest for a in outs or ()}
            coming.update({o.path: known.get(o.path) for o in stage.all_outs})
    return result


_OUTPUT_GONE = frozenset({ReasonCode.OUT_MISSING, ReasonCode.OUT_MODIFIED})
_DEP_CODES = frozenset({ReasonCode.DEP_MISSING, ReasonCode.DEP_CHANGED})


def _produced_by(ctx: WorkState, path: str, ups: list[str]) -> bool:
    return any(s.id in ups for s, _ in ctx.trie.overlapping(path))


def _recorded_dep(ctx: WorkState, stage: Stage, path: str) -> str | None:
    mine = ctx.lock.stages.get(stage.id)
    return next((a.digest for a in mine.deps if a.path == path), None) if mine else None


def _decided_upstream(
    ctx: WorkState, stage: Stage, path: str, ups: list[str], coming: dict[str, str | None]
) -> tuple[list[str] | None, str | None]:
    """How the dependency ``path`` will compare with this stage's lock block once the
    upstream stages ``ups`` are done, and the digest it will have when that is known.
    None: it will differ, or nothing can tell; ``[]``: the bytes that come back are the
    recorded ones; else the upstream stages whose bytes decide (they run: if they write
    what their lock blocks recorded, it matches)."""
    recorded = _recorded_dep(ctx, stage, path)
    producers = [(s, out) for s, out in ctx.trie.overlapping(path) if s.id in ups]
    deciding: list[str] = []
    known: str | None = None
    for up, out in producers:
        if out == path:
            known = coming.get(out)
            theirs = known if known is not None else _recorded_out(ctx, up.id, out)
        elif path.startswith(out + "/"):  # a file inside the upstream's folder
            theirs = _inside(ctx, up.id, out, coming.get(out), path)
            known = theirs if coming.get(out) is not None else None
        else:
            return None, None  # a folder holding the upstream's output and other files
        if recorded is None or theirs is None or theirs != recorded:
            return None, known
        if known is None:
            deciding.append(up.id)
    return deciding, known


def _recorded_out(ctx: WorkState, sid: str, path: str) -> str | None:
    rec = ctx.lock.stages.get(sid)
    return next((a.digest for a in rec.outs if a.path == path), None) if rec else None


def _inside(ctx: WorkState, sid: str, folder: str, digest: str | None, path: str) -> str | None:
    """The digest of ``path`` inside the folder output ``folder``: from the tree object
    of ``digest``, or of the folder the stage's lock block records."""
    digest = digest or _recorded_out(ctx, sid, folder)
    if digest is None:
        return None
    try:
        tree = Tree.from_bytes(ctx.project.store.read_bytes(bare(digest)))
    except (MissingObjectError, CorruptObjectError, MalformedTreeError):
        return None
    rel = path[len(folder) + 1 :]
    entry = next((e for e in tree.entries if e.path == rel), None)
    return tag_xxh(entry.xxh) if entry is not None else None


def _restore_outs(
    ctx: WorkState, stage: Stage, coming: dict[str, str | None], runs: Restorer
) -> list[Artifact] | None:
    """What repro would restore the stage from (its inputs as they will be once the
    stages before it are done), or None when it runs."""
    deps = []
    for d in sorted(set(stage.deps)):
        overlapping = [out for out in coming if d == out or _nested(d, out)]
        if not overlapping:
            deps.append(ctx.dep_artifact(d))
        elif overlapping == [d] and coming[d] is not None:
            deps.append(Artifact(d, coming[d]))
        else:  # rewritten by a stage that runs, or only in part: known after it ran
            return None
    if any(d.digest is None for d in deps):
        return None
    key = run_key(stage, deps, ctx.param_values(stage))
    return runs.restorable(stage, key, ctx.lock.stages.get(stage.id))


def _nested(a: str, b: str) -> bool:
    return a.startswith(b + "/") or b.startswith(a + "/")


def _block_restorable(ctx: WorkState, stage: Stage, runs: Restorer) -> bool:
    """Whether the stage's lock block names outputs the cache holds, all of them."""
    rec = ctx.lock.stages.get(stage.id)
    if rec is None:
        return False
    key = block_key(stage, rec)
    return runs.restorable(stage, key, rec) is not None


def data_status(ctx: WorkState) -> list[DataStatus]:
    out: list[DataStatus] = []
    for path in sorted(set(ctx.data_inputs()) | set(ctx.lock.data)):
        now = ctx.dep_artifact(path).digest
        rec = ctx.lock.data.get(path)
        if rec is None:
            out.append(DataStatus(path, DataState.NEW, None, now))
        elif now is None:
            out.append(DataStatus(path, DataState.MISSING, rec.digest, None))
        elif rec.digest != now:
            out.append(DataStatus(path, DataState.MODIFIED, rec.digest, now))
        else:
            out.append(DataStatus(path, DataState.UNCHANGED, rec.digest, now))
    return out
