"""Deciding which stages must run, and saying exactly why (``status --why``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from mlrepro.dag.select import topological_order
from mlrepro.ops import runcache
from mlrepro.ops.context import Context
from mlrepro.spec.model import Stage


@dataclass(frozen=True, slots=True)
class Reason:
    code: str
    path: str | None = None
    old: Any = None
    new: Any = None

    def describe(self) -> str:
        template = _MESSAGES.get(self.code)
        if template is None:
            return self.code
        return template.format(
            path=self.path,
            old=self.old,
            new=self.new,
            old_digest=_short(self.old),
            new_digest=_short(self.new),
        )

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {"code": self.code, "message": self.describe()}
        if self.path is not None:
            d["path"] = self.path
        if self.old is not None:
            d["old"] = self.old
        if self.new is not None:
            d["new"] = self.new
        return d


# code -> message; {old}/{new} are values, {old_digest}/{new_digest} shortened digests
_MESSAGES = {
    "never-run": "never run (no entry in mlrepro.lock)",
    "cmd-changed": "command changed",
    "always-changed": "always_changed is set",
    "no-deps": "it has neither dependencies nor outputs, so it always runs (as in DVC)",
    "forced": "forced",
    "upstream": "upstream stage '{path}' will run",
    "upstream-bytes": "will run if upstream stage '{path}' produces different bytes",
    "dep-changed": "dependency '{path}' changed ({old_digest} -> {new_digest})",
    "dep-missing": "dependency '{path}' is missing",
    "dep-added": "dependency '{path}' added",
    "dep-removed": "dependency '{path}' removed",
    "param-changed": "param '{path}' changed: {old!r} -> {new!r}",
    "param-added": "param '{path}' added: {new!r}",
    "param-removed": "param '{path}' removed (was {old!r})",
    "out-missing": "output '{path}' is missing",
    "out-modified": "output '{path}' was modified ({old_digest} -> {new_digest})",
    "out-added": "output '{path}' added",
}


def _short(digest: Any) -> str:
    if not isinstance(digest, str):
        return "none"
    algo, _, hexpart = digest.partition(":")
    return f"{algo}:{hexpart[:8]}" if hexpart else digest


@dataclass(frozen=True, slots=True)
class StageStatus:
    """Whether a stage will run, and why.

    ``after`` names the upstream stages that will run first when every reason of
    this one follows from them: then it runs only if they write different bytes
    than the lock recorded, which repro can only tell once they ran. ``restore``:
    its inputs were seen before and its outputs are cached, so repro restores them."""

    id: str
    frozen: bool
    reasons: tuple[Reason, ...]
    after: tuple[str, ...] = ()
    restore: bool = False  # repro would restore its outputs from the cache, not run it

    @property
    def changed(self) -> bool:
        return bool(self.reasons)

    @property
    def conditional(self) -> bool:
        return bool(self.after)


@dataclass(frozen=True, slots=True)
class DataStatus:
    path: str
    state: str  # "new", "modified", "missing", "unchanged"
    old: str | None = None
    new: str | None = None


def own_reasons(ctx: Context, stage: Stage) -> list[Reason]:
    """Why ``stage`` must run, judged from the workspace as it is now (upstream ignored)."""
    record = ctx.lock.stages.get(stage.id)
    reasons: list[Reason] = []
    if stage.always_changed:
        reasons.append(Reason("always-changed"))
    elif not stage.deps and not stage.params and not stage.all_outs:
        reasons.append(Reason("no-deps"))  # DVC's "callback" stage
    if record is None:
        reasons.append(Reason("never-run"))
        return reasons
    if record.cmd != stage.cmd:
        reasons.append(Reason("cmd-changed", old=record.cmd, new=stage.cmd))
    recorded = {a.path: a for a in record.deps}
    for path in sorted(set(stage.deps)):
        now = ctx.dep_artifact(path)
        before = recorded.get(path)
        if now.digest is None:
            reasons.append(Reason("dep-missing", path))
        elif before is None:
            reasons.append(Reason("dep-added", path))
        elif before.digest != now.digest:
            reasons.append(Reason("dep-changed", path, before.digest, now.digest))
    for path in sorted(set(recorded) - set(stage.deps)):
        reasons.append(Reason("dep-removed", path))
    now_params = ctx.param_values(stage)
    for f in sorted(set(now_params) | set(record.params)):
        new, old = now_params.get(f, {}), record.params.get(f, {})
        # in the order the pipeline names them, then those it no longer names
        for key in [*new, *(k for k in old if k not in new)]:
            name = f"{f}:{key}" if f != "params.yaml" else key
            if key not in old:
                reasons.append(Reason("param-added", name, None, new[key]))
            elif key not in new:
                reasons.append(Reason("param-removed", name, old[key], None))
            elif old[key] != new[key] or type(old[key]) is not type(new[key]):
                before = in_order_of(old[key], new[key])
                reasons.append(Reason("param-changed", name, before, new[key]))
    recorded_outs = {a.path: a for a in record.outs}
    for out in stage.all_outs:
        before = recorded_outs.get(out.path)
        st = ctx.state(out.path)
        if before is None:
            reasons.append(Reason("out-added", out.path))
        elif not st.exists:
            reasons.append(Reason("out-missing", out.path))
        elif before.digest != f"xxh3-128:{st.xxh}":
            reasons.append(Reason("out-modified", out.path, before.digest, f"xxh3-128:{st.xxh}"))
    return reasons


def in_order_of(old: Any, new: Any) -> Any:
    """``old`` with its mappings' keys in ``new``'s order (the params file's), so the two
    read side by side; the lock keeps them sorted."""
    if not isinstance(old, dict) or not isinstance(new, dict):
        return old
    order = [*(k for k in new if k in old), *(k for k in old if k not in new)]
    return {k: in_order_of(old[k], new.get(k)) for k in order}


def select(
    ctx: Context, targets: Iterable[str] | None, *, downstream: bool = False, single: bool = False
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


def _expand_groups(ctx: Context, targets: Iterable[str]) -> list[str]:
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


def plan(
    ctx: Context, order: list[str], *, force: bool = False, use_run_cache: bool = True
) -> dict[str, StageStatus]:
    """Status of every stage in ``order``, upstream changes propagated downstream."""
    result: dict[str, StageStatus] = {}
    for sid in order:
        stage = ctx.by_id[sid]
        if stage.frozen and not force:
            result[sid] = StageStatus(sid, True, ())
            continue
        if force:
            result[sid] = StageStatus(sid, stage.frozen, (Reason("forced"),))
            continue
        reasons = own_reasons(ctx, stage)
        ups = [u for u in ctx.producers[sid] if u in result and result[u].changed]
        restore = bool(reasons) and use_run_cache
        if not ups:
            restore = restore and _restorable(ctx, stage)
            result[sid] = StageStatus(sid, stage.frozen, tuple(reasons), restore=restore)
            continue
        own = [r for r in reasons if not _follows_upstream(ctx, stage, r, ups)]
        # its own outputs missing or altered: its lock block brings them back
        restore = restore and all(r.code in _OUTPUT_GONE for r in own) and bool(own)
        restore = restore and _block_restorable(ctx, stage)
        if not own or restore:
            # as repro will find: a stage whose inputs come back byte for byte is up to
            # date (or restored from its block), which it can only tell after they ran
            result[sid] = StageStatus(
                sid,
                stage.frozen,
                (*(Reason("upstream-bytes", u) for u in ups), *reasons),
                after=tuple(ups),
                restore=restore,
            )
        else:
            result[sid] = StageStatus(
                sid, stage.frozen, (*reasons, *(Reason("upstream", u) for u in ups))
            )
    return result


_OUTPUT_GONE = frozenset({"out-missing", "out-modified"})


def _restorable(ctx: Context, stage: Stage) -> bool:
    """Whether repro would restore the stage's outputs from the cache, not run it."""
    deps = [ctx.dep_artifact(d) for d in sorted(set(stage.deps))]
    if any(d.digest is None for d in deps):
        return False
    key = runcache.run_key(stage, deps, ctx.param_values(stage))
    project = ctx.project
    return runcache.restorable(
        project.cache_dir, project.store, stage, key, ctx.lock.stages.get(stage.id)
    )


def _block_restorable(ctx: Context, stage: Stage) -> bool:
    """Whether the stage's lock block names outputs the cache holds, all of them."""
    rec = ctx.lock.stages.get(stage.id)
    if rec is None or not runcache.cacheable(stage):
        return False
    key = runcache.run_key(stage, rec.deps, rec.params, cmd=rec.cmd)
    project = ctx.project
    return runcache.restorable(project.cache_dir, project.store, stage, key, rec)


def _follows_upstream(ctx: Context, stage: Stage, reason: Reason, ups: list[str]) -> bool:
    """True when ``reason`` goes away if the upstream stages ``ups`` rewrite what the lock
    recorded: a dependency they produce is missing or differs now, and this stage's
    record names the bytes their records name (or a part of them we cannot compare)."""
    if reason.code not in ("dep-missing", "dep-changed") or reason.path is None:
        return False
    producers = [(s, out) for s, out in ctx.trie.overlapping(reason.path) if s.id in ups]
    if not producers:
        return False
    mine = ctx.lock.stages.get(stage.id)
    recorded = {a.path: a.digest for a in mine.deps} if mine is not None else {}
    for up, out in producers:
        if out != reason.path:
            continue  # a folder's part or whole: only the upstream's run can tell
        theirs = ctx.lock.stages.get(up.id)
        written = next((a.digest for a in theirs.outs if a.path == out), None) if theirs else None
        if written is None or written != recorded.get(reason.path):
            return False
    return True


def data_status(ctx: Context) -> list[DataStatus]:
    out: list[DataStatus] = []
    for path in sorted(set(ctx.data_inputs()) | set(ctx.lock.data)):
        now = ctx.dep_artifact(path).digest
        rec = ctx.lock.data.get(path)
        if rec is None:
            out.append(DataStatus(path, "new", None, now))
        elif now is None:
            out.append(DataStatus(path, "missing", rec.digest, None))
        elif rec.digest != now:
            out.append(DataStatus(path, "modified", rec.digest, now))
        else:
            out.append(DataStatus(path, "unchanged", rec.digest, now))
    return out
