"""``repro``: run what changed, independent stages at once, and record every result.

The main thread plans and records; worker threads run commands and cache
outputs. A stage's lock entry is written (atomically) the moment it
finishes, so an interruption loses at most the stages still running, and a
failed stage leaves nothing in the cache index, the lock or the run-cache.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any, NamedTuple

from mlrepro.audit.recorder import Recorder, stage_details
from mlrepro.dag.plan import own_reasons, plan, select
from mlrepro.dag.reasons import Reason, ReasonCode
from mlrepro.dag.runkey import cacheable, run_key
from mlrepro.dag.workstate import WorkState
from mlrepro.engine.artifacts import Linker, drop_corrupt, save
from mlrepro.engine.datainputs import save_data_inputs
from mlrepro.engine.execute import execute
from mlrepro.engine.gitignore import ignore_outputs
from mlrepro.engine.outcome import (
    UNFINISHED,
    Action,
    Event,
    EventSink,
    MissingDependencyError,
    ReproResult,
    RunFailed,
    RunInterrupted,
    StageOutcome,
    quiet,
)
from mlrepro.engine.outputs import outside, remove_output
from mlrepro.engine.runcache import Place, RunCache
from mlrepro.errors import MlreproError
from mlrepro.exec.local import terminate_all
from mlrepro.secrets import mask_for_lock
from mlrepro.spec.model import Stage
from mlrepro.store.digest import bare
from mlrepro.store.objects import CorruptObjectError, MissingObjectError
from mlrepro.workspace.lockfile import Artifact, StageRecord, write_lock
from mlrepro.workspace.project import Project
from mlrepro.workspace.repolock import RepoLock

# reasons that leave a lock block's outputs and dependencies checked against the workspace
_CLAIMED = frozenset(
    {
        ReasonCode.PARAM_CHANGED,
        ReasonCode.PARAM_ADDED,
        ReasonCode.PARAM_REMOVED,
        ReasonCode.CMD_CHANGED,
    }
)


def repro(
    project: Project,
    *,
    targets: Iterable[str] | None = None,
    jobs: int | None = None,
    force: bool = False,
    dry: bool = False,
    downstream: bool = False,
    single_item: bool = False,
    keep_going: bool = False,
    use_run_cache: bool = True,
    on_event: EventSink = quiet,
    wait_for_lock: float = 0.0,
) -> ReproResult:
    with RepoLock(project.state_dir, wait=wait_for_lock):
        if dry:
            ctx = WorkState.load(project)
            order = select(ctx, targets, downstream=downstream, single=single_item)
            # the run-cache's git process (reading the audit entries that entries
            # name) starts at the first hit, and ends with the plan
            with RunCache(project) as runs:
                statuses = plan(ctx, order, runs if use_run_cache else None, force=force)
            return ReproResult(
                tuple(
                    StageOutcome(
                        sid,
                        (Action.WOULD_RESTORE if st.restore else Action.WOULD_RUN)
                        if st.changed
                        else Action.UP_TO_DATE,
                        st.reasons,
                    )
                    for sid, st in statuses.items()
                    if not st.frozen or force
                )
            )
        # made first: the git questions behind the audit entries are answered while
        # the pipeline loads
        audit = Recorder(project.root, project.state_dir)
        runs = RunCache(project)  # its git process starts at the first run-cache hit
        try:
            ctx = WorkState.load(project)
            order = select(ctx, targets, downstream=downstream, single=single_item)
            save_data_inputs(ctx, audit)
            runner = _Runner(
                ctx,
                order,
                jobs or os.cpu_count() or 1,
                force,
                keep_going,
                use_run_cache,
                on_event,
                audit,
                runs,
            )
            return runner.run()
        finally:
            project.stats.flush()
            runs.close()
            audit.close()


class _Prepared(NamedTuple):
    """A stage judged before its start: why it must run (nothing: up to date), and the
    inputs it would run on (no outputs yet) with their run key (None when up to date)."""

    reasons: tuple[Reason, ...]
    record: StageRecord | None = None
    key: str | None = None


class _Runner:
    def __init__(
        self,
        ctx: WorkState,
        order: list[str],
        jobs: int,
        force: bool,
        keep_going: bool,
        use_run_cache: bool,
        on_event: EventSink,
        audit: Recorder,
        runs: RunCache,
    ) -> None:
        self.ctx = ctx
        self.audit = audit
        self.runs = runs
        # the flush before each lock block is the cache's file system's (ObjectStore.sync):
        # when the audit log's folder is on another one (a cache on its own disk), each
        # entry is flushed itself, so a run-cache entry never names one a crash can lose
        here, cache = _device(ctx.project.state_dir), _device(ctx.project.cache_dir)
        self._audit_elsewhere = here is not None and cache is not None and here != cache
        self.order = order
        self.jobs = max(1, jobs)
        self.force = force
        self.keep_going = keep_going
        self.use_run_cache = use_run_cache
        self.emit = on_event
        self.cancel = threading.Event()
        self.outcomes: dict[str, StageOutcome] = {}
        self.linker = Linker(
            ctx.project.store, ctx.hasher, ctx.project.config.link_types, ctx.project.tmp_dir
        )
        self._reasons: dict[str, tuple[Reason, ...]] = {}
        # stages whose lock block the workspace bore out before anything ran (their
        # dependencies, params, command and outputs matched it): see _record
        self._borne_out = {sid for sid in order if self._bears_out(sid)}

    def _bears_out(self, sid: str) -> bool:
        if sid not in self.ctx.lock.stages:
            return False
        try:
            return not own_reasons(self.ctx, self.ctx.by_id[sid])
        except MlreproError:
            return False  # a params file gone: the stage fails when it is reached

    # -- scheduling ------------------------------------------------------------

    def run(self) -> ReproResult:
        selected = set(self.order)
        pending = list(self.order)
        running: dict[Future[tuple[list[Artifact], float]], tuple[Stage, StageRecord, str]] = {}
        stop = False
        with ThreadPoolExecutor(self.jobs, thread_name_prefix="stage") as pool:
            try:
                while pending or running:
                    progressed = True
                    while progressed and not stop:
                        progressed = False
                        for sid in list(pending):
                            ups = [u for u in self.ctx.producers[sid] if u in selected]
                            if any(u not in self.outcomes for u in ups):
                                continue
                            if any(self.outcomes[u].action in UNFINISHED for u in ups):
                                pending.remove(sid)
                                self.outcomes[sid] = StageOutcome(
                                    sid, Action.BLOCKED, message="an upstream stage failed"
                                )
                                progressed = True
                                continue
                            if len(running) >= self.jobs:
                                break
                            pending.remove(sid)
                            progressed = True
                            job = self._start(sid, pool)
                            if job is not None:
                                running[job[0]] = job[1]
                            elif self.outcomes[sid].action is Action.FAILED and not self.keep_going:
                                stop = True
                    if not running:
                        if stop:
                            for sid in pending:
                                self.outcomes[sid] = StageOutcome(
                                    sid, Action.BLOCKED, message="not started: a stage failed"
                                )
                            pending.clear()
                        if not pending:
                            break
                        if not progressed:  # pragma: no cover - the order is topological
                            raise AssertionError(f"scheduler stalled on {pending}")
                        continue
                    done, _ = wait(list(running), return_when=FIRST_COMPLETED)
                    for fut in done:
                        stage, record, key = running.pop(fut)
                        if not self._finish(stage, record, key, fut):
                            stop = stop or not self.keep_going
                    if stop:
                        for sid in pending:
                            self.outcomes[sid] = StageOutcome(
                                sid, Action.BLOCKED, message="not started: a stage failed"
                            )
                        pending.clear()
            except KeyboardInterrupt:
                self.cancel.set()
                terminate_all()
                for fut, (stage, _, _) in running.items():
                    fut.cancel()
                    self.outcomes[stage.id] = StageOutcome(
                        stage.id, Action.INTERRUPTED, message="interrupted"
                    )
                    self._leave_failed(stage)
                raise
        return ReproResult(tuple(self.outcomes[sid] for sid in self.order if sid in self.outcomes))

    def _prepare(self, stage: Stage) -> _Prepared | MlreproError:
        """Why ``stage`` must run, and the inputs it would run on (their run key);
        or the error that stops it."""
        ctx = self.ctx
        try:
            reasons = [Reason(ReasonCode.FORCED)] if self.force else own_reasons(ctx, stage)
            if not reasons:
                return _Prepared(())
            missing = [d for d in stage.deps if ctx.dep_artifact(d).digest is None]
            if missing:
                raise MissingDependencyError.of(ctx.project.root, stage, missing[0])
            deps = [ctx.dep_artifact(d) for d in sorted(set(stage.deps))]
            params = ctx.param_values(stage)
        except MlreproError as exc:
            return exc
        # mlrepro.lock is committed: credentials in the command or params go in masked
        record = StageRecord(
            cmd=mask_for_lock(stage.cmd), deps=tuple(deps), params=mask_for_lock(params)
        )
        return _Prepared(tuple(reasons), record, run_key(stage, deps, params))

    def _start(
        self, sid: str, pool: ThreadPoolExecutor
    ) -> tuple[Future[tuple[list[Artifact], float]], tuple[Stage, StageRecord, str]] | None:
        ctx = self.ctx
        stage = ctx.by_id[sid]
        if stage.frozen and not self.force:
            self.outcomes[sid] = StageOutcome(sid, Action.UP_TO_DATE, message="frozen")
            self.emit(Event.SKIPPED, sid, "frozen")
            return None
        prepared = self._prepare(stage)
        if isinstance(prepared, MlreproError):
            self.outcomes[sid] = StageOutcome(
                sid, Action.FAILED, message=prepared.message, hint=prepared.hint
            )
            self.emit(Event.FAILED, sid, prepared.message)
            return None
        reasons, record, key = prepared
        if record is None or key is None:
            self._recache(stage)
            if cacheable(stage):
                self._remember(stage, ctx.lock.stages[sid])
            self.outcomes[sid] = StageOutcome(sid, Action.UP_TO_DATE)
            self.emit(Event.SKIPPED, sid, "up to date")
            return None
        self._reasons[sid] = reasons
        if self._run_cacheable(stage) and self._restore(stage, record, key):
            return None
        self.emit(Event.START, sid, "; ".join(r.describe() for r in reasons))
        fut = pool.submit(self._execute, stage)
        return fut, (stage, record, key)

    # -- one stage --------------------------------------------------------------

    def _recache(self, stage: Stage) -> None:
        """Put back into the cache the outputs of an up-to-date stage that it lost."""
        record = self.ctx.lock.stages.get(stage.id)
        if record is None:
            return
        store = self.ctx.project.store
        lost = [a for a in record.outs if a.digest and not store.has(bare(a.digest))]
        for a in lost:
            save(store, self.ctx.hasher, a.path)
        if lost:
            store.sync()

    def _run_cacheable(self, stage: Stage) -> bool:
        return self.use_run_cache and not self.force and cacheable(stage)

    def _remember(self, stage: Stage, record: StageRecord, placed: Place | None = None) -> None:
        """Keep ``record`` restorable from the run-cache (its outputs are in the cache).

        The entry names the audit entry that records the run: ``placed`` (the restore
        just recorded), or else a ``runcache.remember`` entry recorded now, made durable
        before the run-cache entry that names it (a crash between leaves no entry)."""
        key = self.runs.wanted(stage, record)
        if key is None:
            return
        if placed is None:
            details = stage_details(stage.id, record.cmd, key, record, list(record.outs))
            placed = self.audit.record("runcache.remember", details, flush=True)
        self.runs.write(key, list(record.outs), placed)

    def _restore(self, stage: Stage, record: StageRecord, key: str) -> bool:
        """Bring the outputs back from the cache instead of running: from the stage's own
        lock block when it records this run (outputs only missing or altered, as in a
        fresh clone whose cache holds the objects), else from a run-cache entry."""
        ctx = self.ctx
        store = ctx.project.store
        found = self.runs.source(stage, key, ctx.lock.stages.get(stage.id))
        outs = found.outs
        if outs is None:
            if found.refused is not None:
                # issue 15: an entry not bound to the log is not trusted; the run that
                # follows writes a bound one in its place
                why = f"run-cache entry unusable ({found.refused}); running it"
                self.emit(Event.LINE, stage.id, why)
            return False
        for out in stage.all_outs:
            remove_output(ctx.project.root, out.path)
        for a in outs:
            try:
                self.linker.restore(a)
            except (CorruptObjectError, MissingObjectError) as exc:
                # A damaged entry is not fatal: drop the bad objects and run the command
                # (which caches them again).
                for b in outs:
                    ctx.forget(b.path)
                if isinstance(exc, CorruptObjectError):
                    drop_corrupt(store, a)
                why = f"run-cache entry unusable ({exc.message}); running it"
                self.emit(Event.LINE, stage.id, why)
                return False
            ctx.forget(a.path)
        placed = self._audit("stage.restore", stage, record, key, outs)
        restored = StageRecord(record.cmd, record.deps, record.params, tuple(outs))
        self._record(stage, restored)
        if not found.entry:
            # the workspace now bears the block out, as for a stage found up to date:
            # an entry bound to this restore (one restored from is bound already)
            self._remember(stage, restored, placed)
        self.outcomes[stage.id] = StageOutcome(
            stage.id, Action.RESTORED, message="restored from the run-cache"
        )
        self.emit(Event.RESTORED, stage.id, "restored from the run-cache")
        return True

    def _execute(self, stage: Stage) -> tuple[list[Artifact], float]:
        """In a worker: the stage's command run and its outputs cached (engine/execute.py)."""
        return execute(self.ctx, stage, self.emit, self.cancel)

    def _finish(
        self, stage: Stage, record: StageRecord, key: str, fut: Future[tuple[list[Artifact], float]]
    ) -> bool:
        sid = stage.id
        reasons = self._reasons.get(sid, ())
        try:
            artifacts, duration = fut.result()
        except RunInterrupted:
            self.outcomes[sid] = StageOutcome(sid, Action.INTERRUPTED, reasons, "interrupted")
            self._audit("stage.run", stage, record, key, [], status="interrupted")
            self._leave_failed(stage)
            return False
        except RunFailed as exc:
            self.outcomes[sid] = StageOutcome(
                sid, Action.FAILED, reasons, exc.message, exc.duration, hint=exc.hint
            )
            self.emit(Event.FAILED, sid, exc.message)
            self._leave_failed(stage)
            self._audit(
                "stage.run",
                stage,
                record,
                key,
                [],
                status="failed",
                message=exc.message,
                duration=exc.duration,
                exit_status=exc.exit_status,
            )
            return False
        except MlreproError as exc:  # caching its outputs failed (a link out of a folder...)
            self.outcomes[sid] = StageOutcome(
                sid, Action.FAILED, reasons, exc.message, hint=exc.hint
            )
            self.emit(Event.FAILED, sid, exc.message)
            self._audit("stage.run", stage, record, key, [], status="failed", message=exc.message)
            self._leave_failed(stage)
            return False
        for a in artifacts:
            self.ctx.forget(a.path)
        placed = self._audit(
            "stage.run", stage, record, key, artifacts, duration=duration, exit_status=0
        )
        self._record(stage, StageRecord(record.cmd, record.deps, record.params, tuple(artifacts)))
        # after the lock's flush, which made the audit entry it names durable too
        self.runs.write(key, artifacts, placed)
        self.outcomes[sid] = StageOutcome(sid, Action.RAN, reasons, duration=duration)
        self.emit(Event.DONE, sid, f"{duration:.1f}s")
        return True

    def _leave_failed(self, stage: Stage) -> None:
        """A failed or interrupted stage's outputs stay as its command left them, for
        the user to look at, but gitignored like every cached output, so `git add -A`
        never commits half-written results (issue 15)."""
        root = self.ctx.project.root
        left = [
            o.path
            for o in stage.all_outs
            if o.cache and os.path.lexists(os.path.join(root, o.path)) and not outside(root, o.path)
        ]
        if left:
            ignore_outputs(root, left)

    def _audit(
        self,
        action: str,
        stage: Stage,
        record: StageRecord,
        key: str,
        outs: list[Artifact],
        *,
        status: str = "succeeded",
        **extra: Any,
    ) -> Place:
        """An audit entry for a stage run or restore, and its place (which the run-cache
        entry written for the run names); durable with the lock entry it precedes
        (``_record`` flushes the file system), or at once when nothing follows."""
        details = stage_details(stage.id, stage.cmd, key, record, outs, status=status, **extra)
        flush = status != "succeeded" or self._audit_elsewhere
        return self.audit.record(action, details, flush=flush)

    def _record(self, stage: Stage, record: StageRecord) -> None:
        ctx = self.ctx
        before = ctx.lock.stages.get(stage.id)
        reasons = self._reasons.get(stage.id, ())
        if (
            before is not None
            and before != record
            and (
                stage.id in self._borne_out
                or (reasons and all(r.code in _CLAIMED for r in reasons))
            )
            and cacheable(stage)
        ):
            # The block being replaced stays restorable when the inputs return to it, when
            # the workspace bore it out as the up-to-date check does: before anything ran,
            # or (the stage's own change) all but the params or command the user edited,
            # whose old values only the block can tell.
            self._remember(stage, before)
        ctx.project.store.sync()  # the objects the record names are durable first
        ctx.lock = ctx.lock.with_stage(stage.id, record)
        write_lock(ctx.project.root, ctx.lock)
        ignore_outputs(ctx.project.root, [o.path for o in stage.all_outs if o.cache])
        ctx.project.stats.flush()


def _device(path: str) -> int | None:
    try:
        return os.stat(path).st_dev
    except OSError:
        return None
