"""Raw data that stages depend on, cached and recorded before a repro runs anything."""

from __future__ import annotations

from mlrepro.audit.recorder import Recorder, artifact_json
from mlrepro.dag.workstate import WorkState
from mlrepro.engine.artifacts import save
from mlrepro.engine.gitignore import check_ignorable, ignore_outputs
from mlrepro.engine.outputs import outside
from mlrepro.errors import MlreproError
from mlrepro.workspace.lockfile import write_lock


def save_data_inputs(ctx: WorkState, audit: Recorder) -> None:
    """Cache and record raw data that stages depend on (so a clone can restore it)."""
    changed = False
    for path in ctx.data_inputs():
        check_ignorable(path, what="data input")  # it is gitignored once cached
        where = outside(ctx.project.root, path)
        if where is not None:
            raise MlreproError(
                f"data input '{path}' is a symbolic link leading outside the repository "
                f"(to '{where}'): mlrepro caches data inputs and keeps no outside file",
                hint="copy or move the data into the repository",
            )
        artifact = save(ctx.project.store, ctx.hasher, path)
        if ctx.lock.data.get(path) != artifact:
            ctx.lock = ctx.lock.with_data(artifact)
            audit.record("data.add", {"artifact": artifact_json(artifact)})
            changed = True
    if changed:
        ctx.project.store.sync()
        write_lock(ctx.project.root, ctx.lock)
        ignore_outputs(ctx.project.root, list(ctx.lock.data))
