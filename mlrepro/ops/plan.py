"""Deciding which stages must run, and saying exactly why (``status --why``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from mlrepro.dag.select import topological_order
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
    id: str
    frozen: bool
    reasons: tuple[Reason, ...]

    @property
    def changed(self) -> bool:
        return bool(self.reasons)


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
        for key in sorted(set(new) | set(old)):
            name = f"{f}:{key}" if f != "params.yaml" else key
            if key not in old:
                reasons.append(Reason("param-added", name, None, new[key]))
            elif key not in new:
                reasons.append(Reason("param-removed", name, old[key], None))
            elif old[key] != new[key] or type(old[key]) is not type(new[key]):
                reasons.append(Reason("param-changed", name, old[key], new[key]))
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


def plan(ctx: Context, order: list[str], *, force: bool = False) -> dict[str, StageStatus]:
    """Status of every stage in ``order``, upstream changes propagated downstream."""
    result: dict[str, StageStatus] = {}
    for sid in order:
        stage = ctx.by_id[sid]
        if stage.frozen and not force:
            result[sid] = StageStatus(sid, True, ())
            continue
        reasons = [Reason("forced")] if force else own_reasons(ctx, stage)
        for up in ctx.producers[sid]:
            if up in result and result[up].changed:
                reasons.append(Reason("upstream", up))
        result[sid] = StageStatus(sid, stage.frozen, tuple(reasons))
    return result


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
