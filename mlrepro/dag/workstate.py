"""What status, repro and checkout share: the pipeline, the lock and the workspace's state."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from mlrepro.dag.graph import OutputTrie, build_trie
from mlrepro.dag.pipeline import load_pipeline
from mlrepro.errors import PipelineError
from mlrepro.git.files import tracked
from mlrepro.secrets import holds_secret, redact
from mlrepro.spec import paths
from mlrepro.spec.model import Pipeline, Stage
from mlrepro.workspace.hashing import Hasher, PathState
from mlrepro.workspace.lockfile import Artifact, Lock, read_lock
from mlrepro.workspace.params import ParamsReader
from mlrepro.workspace.project import Project


@dataclass
class WorkState:
    project: Project
    pipeline: Pipeline
    lock: Lock
    hasher: Hasher
    params: ParamsReader
    trie: OutputTrie
    by_id: dict[str, Stage]
    producers: dict[str, list[str]]  # stage id -> ids of the stages it depends on
    consumers: dict[str, list[str]]  # stage id -> ids of the stages depending on it
    _states: dict[str, PathState] = field(default_factory=dict)

    @classmethod
    def load(cls, project: Project) -> WorkState:
        pipeline = load_pipeline(project.root)
        for stage in pipeline.stages:
            check_stage_paths(project.root, stage)
        producers: dict[str, list[str]] = {s.id: [] for s in pipeline.stages}
        consumers: dict[str, list[str]] = {s.id: [] for s in pipeline.stages}
        for a, b in pipeline.edges:
            producers[a].append(b)
            consumers[b].append(a)
        return cls(
            project=project,
            pipeline=pipeline,
            lock=read_lock(project.root),
            hasher=Hasher(project.root, project.stats),
            params=ParamsReader(project.root),
            trie=build_trie(project.root, pipeline.stages),
            by_id=pipeline.by_id(),
            producers=producers,
            consumers=consumers,
        )

    # -- workspace state, memoised per run --------------------------------

    def state(self, relpath: str, *, sha: bool = False) -> PathState:
        cached = self._states.get(relpath)
        if cached is None or (sha and cached.kind == "file" and cached.sha is None):
            cached = self.hasher.state(relpath, sha=sha)
            self._states[relpath] = cached
        return cached

    def forget(self, relpath: str) -> None:
        """Drop memoised states at or below ``relpath`` (after it was rewritten)."""
        for key in [k for k in self._states if k == relpath or k.startswith(relpath + "/")]:
            del self._states[key]
        parent = relpath
        while "/" in parent:
            parent = parent.rsplit("/", 1)[0]
            self._states.pop(parent, None)

    def dep_artifact(self, path: str) -> Artifact:
        st = self.state(path)
        if not st.exists:
            return Artifact(path, None)
        return Artifact(path, st.digest, st.size, st.nfiles, isdir=st.kind == "dir")

    def param_values(self, stage: Stage) -> dict[str, dict[str, Any]]:
        return {
            f: self.params.values(f, keys, stage=stage.id)
            for f, keys in sorted(stage.params.items())
        }

    # -- data inputs --------------------------------------------------------

    def data_inputs(self) -> list[str]:
        """Dependencies no stage produces and git does not track: the project's raw data."""
        candidates = sorted(
            {
                d
                for s in self.pipeline.stages
                for d in s.deps
                if not paths.is_external(d)
                and not d.startswith("../")
                and d != "."
                and not self.trie.overlapping(d)
            }
        )
        if not candidates:
            return []
        tracked = git_tracked(self.project.root, candidates)
        found = [
            c
            for c in candidates
            if c not in tracked and os.path.exists(os.path.join(self.project.root, c))
        ]
        # a path inside another data input is part of it, not an input of its own
        inputs = set(found)
        return [c for c in found if not any(p in inputs for p in _parents(c))]


def _parents(path: str) -> list[str]:
    parts = path.split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts))]


def git_tracked(root: str, candidates: list[str]) -> set[str]:
    """The candidates that git tracks, or that hold a file git tracks."""
    result: set[str] = set()
    cand = set(candidates)
    for f in tracked(root, candidates):
        while True:
            if f in cand:
                result.add(f)
            if "/" not in f:
                break
            f = f.rsplit("/", 1)[0]
    return result


def check_stage_paths(root: str, stage: Stage) -> None:
    """Outputs must stay inside the repository (no ``..``, absolute paths or URLs), and
    no path may hold a credential: paths go into the committed lock as they are."""
    for p in (*stage.deps, *(o.path for o in stage.all_outs)):
        if holds_secret(p):
            raise PipelineError(
                f"path '{redact(p)}' holds a credential, and paths are written to "
                "mlrepro.lock, which is committed",
                path=stage.dvcfile,
                stage=stage.name,
                hint="keep credentials out of dvc.yaml paths: give them to the tool through "
                "the environment or a gitignored config file (e.g. a remote's config.local)",
            )
    for out in stage.all_outs:
        p = out.path
        bad = paths.is_url(p) or p.startswith("/") or p == ".." or p.startswith("../") or p == "."
        if not bad:
            real = os.path.realpath(os.path.join(root, p))
            rroot = os.path.realpath(root)
            bad = not (real == rroot or real.startswith(rroot.rstrip("/") + "/"))
            if bad:
                raise PipelineError(
                    f"output '{p}' leads outside the repository through a symbolic link",
                    path=stage.dvcfile,
                    stage=stage.name,
                    hint="outputs must be inside the repository; remove the link",
                )
        if bad:
            raise PipelineError(
                f"output '{p}' is outside the repository",
                path=stage.dvcfile,
                stage=stage.name,
                hint="mlrepro only writes outputs inside the repository: use a path below it",
            )
