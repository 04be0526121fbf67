"""The resolved pipeline: frozen value objects produced by the loader."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Out:
    """A declared output (``outs``, ``metrics`` or ``plots`` entry)."""

    path: str  # relative to the project root, normalised; URLs/absolute kept
    cache: bool = True
    persist: bool = False
    push: bool = True
    remote: str | None = None


@dataclass(frozen=True, slots=True)
class Stage:
    """One stage after templating, with every path relative to the project root."""

    dvcfile: str  # e.g. "dvc.yaml" or "sub/dvc.yaml"
    name: str  # including any "@key" suffix
    cmd: str | list[str]
    wdir: str  # "." for the root
    deps: tuple[str, ...] = ()
    outs: tuple[Out, ...] = ()
    metrics: tuple[Out, ...] = ()
    plots: tuple[Out, ...] = ()
    # params file -> tracked keys, or None when the whole file is tracked
    params: dict[str, tuple[str, ...] | None] = field(default_factory=dict)
    frozen: bool = False
    always_changed: bool = False
    desc: str | None = None

    @property
    def id(self) -> str:
        """The address DVC prints: ``name`` in the root dvc.yaml, else ``file:name``."""
        return self.name if self.dvcfile == "dvc.yaml" else f"{self.dvcfile}:{self.name}"

    @property
    def all_outs(self) -> tuple[Out, ...]:
        return self.outs + self.metrics + self.plots


@dataclass(frozen=True, slots=True)
class Pipeline:
    """Every stage of every ``dvc.yaml`` under the root, with the graph edges."""

    root: str  # absolute path of the project root
    stages: tuple[Stage, ...]
    # (from_id, to_id): stage `from` depends on an output of stage `to`
    edges: tuple[tuple[str, str], ...]
    dvcfiles: tuple[str, ...] = ()
    # top-level `metrics:` and `params:` entries of every dvc.yaml, root-relative
    metrics: tuple[str, ...] = ()
    params: tuple[str, ...] = ()

    def by_id(self) -> dict[str, Stage]:
        return {s.id: s for s in self.stages}
