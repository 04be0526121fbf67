"""DVC itself as the oracle of the differential tests.

``run_oracle(root)`` loads the project at ``root`` with DVC's own Python API
(the same code path as ``dvc stage list --all``: ``Repo.index`` collects every
``dvc.yaml``, resolves its templating, builds the Stage objects, and
``Index.graph`` runs the duplicate/overlap/cycle checks) and turns the loaded
Stage objects into the canonical JSON of ``shared/STAGE_LIST_JSON.md``.

When DVC refuses the project (any exception while loading, resolving or
building the graph) the result is :class:`Rejected` with DVC's message, which
is only for debugging: the contract compares the fact of the refusal, not the
text.

DVC writes into the project it opens (``.dvc/tmp``, ``.dvc/.gitignore``) and
into a site cache dir, so the oracle always works on a throw-away copy of the
project, with DVC's config and cache directories pointed into that temporary
folder. The project itself is never touched.

Run it by hand to see what DVC makes of a folder::

    python -m tests.oracle.dvc_oracle ROOT      # from the repository root
    python tests/oracle/dvc_oracle.py ROOT

It prints the canonical JSON and exits 0, or prints DVC's error on stderr and
exits 1. This module imports nothing from the rest of the test suite, so that
it also runs as a plain script.
"""

from __future__ import annotations

import contextlib
import json
import os
import posixpath
import shutil
import sys
import tempfile
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1


@dataclass(frozen=True, slots=True)
class Accepted:
    """DVC loaded the project; ``data`` is the canonical stage-list JSON."""

    data: dict[str, Any]

    @property
    def accepted(self) -> bool:
        return True


@dataclass(frozen=True, slots=True)
class Rejected:
    """DVC refused the project; ``error`` is DVC's exception, for debugging only."""

    error_type: str
    error: str

    @property
    def accepted(self) -> bool:
        return False

    def __str__(self) -> str:
        return f"{self.error_type}: {self.error}"


@dataclass(frozen=True, slots=True)
class Unsupported:
    """DVC's answer exists but the contract cannot express it, or DVC could not
    judge the project in this environment.

    Examples: a value the JSON contract has no form for (a YAML date kept in a
    ``cmd`` list, ``.inf``/``.nan``), a URL scheme whose DVC plugin
    (``dvc-s3``, ``dvc-gs``, ...) is not installed, two stages that DVC
    loads under the same address. Tests must not generate these by
    accident; hand-written cases that do say so explicitly.
    """

    reason: str

    @property
    def accepted(self) -> bool:
        return False

    def __str__(self) -> str:
        return f"unsupported: {self.reason}"


OracleResult = Accepted | Rejected | Unsupported


class OracleInconsistencyError(AssertionError):
    """The oracle disagrees with itself (e.g. DVC's graph vs the contract's edge rule).

    This is never a rejection of the project: it means the oracle (or our
    reading of DVC) is wrong and must be looked at.
    """


# --------------------------------------------------------------------------- running


def run_oracle(root: str | os.PathLike[str]) -> OracleResult:
    """Load the project at ``root`` with DVC and return its canonical stage list.

    ``root`` must hold ``.dvc/`` (and normally ``.git/``). Nothing under ``root``
    is written: DVC works on a copy in a temporary folder.
    """
    src = Path(root).resolve()
    with tempfile.TemporaryDirectory(prefix="dvc-oracle-") as tmp:
        tmp_path = Path(tmp)
        copy = tmp_path / "project"
        shutil.copytree(src, copy, symlinks=True)
        with (
            _dvc_environment(tmp_path),
            _chdir(copy),
            _pure_yaml(),
            warnings.catch_warnings(),
        ):
            # pygtrie deprecations raised from inside DVC's graph code.
            warnings.simplefilter("ignore", DeprecationWarning)
            try:
                data = _load(copy)
            except OracleInconsistencyError:
                raise
            except _UnsupportedError as exc:
                return Unsupported(str(exc))
            except Exception as exc:  # any refusal by DVC, whatever its type
                if _is_missing_plugin(exc):
                    return Unsupported(f"DVC plugin missing: {exc}")
                return Rejected(type(exc).__name__, _describe(exc))
    return Accepted(data)


class _UnsupportedError(Exception):
    """Raised inside the oracle for results that become :class:`Unsupported`."""


def _is_missing_plugin(exc: BaseException) -> bool:
    # ``s3://``, ``gs://``, ``ssh://``... need dvc-s3, dvc-gs, dvc-ssh; without
    # them DVC's filesystem registry raises ImportError("s3 is supported, but
    # requires 'dvc-s3' to be installed"). That says nothing about the
    # project, so it is not a rejection.
    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None:
            return False
        if isinstance(seen, ImportError) and "is supported, but requires" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _describe(exc: BaseException) -> str:
    parts = [str(exc) or repr(exc)]
    cause = exc.__cause__ or exc.__context__
    seen = 0
    while cause is not None and seen < 3:
        parts.append(f"caused by {type(cause).__name__}: {cause}")
        cause = cause.__cause__ or cause.__context__
        seen += 1
    return "\n".join(parts)


@contextlib.contextmanager
def _pure_yaml() -> Iterator[None]:
    """DVC with ruamel's Python parser, the reference behaviour (a ``pip install dvc``
    today, whose ruamel no longer pulls its C parser in). mlrepro itself uses the C
    parser where it gives the same result, so the comparison checks that too."""
    import ruamel.yaml.main as ruamel_main

    saved = ruamel_main.CParser
    ruamel_main.CParser = None
    try:
        yield
    finally:
        ruamel_main.CParser = saved


@contextlib.contextmanager
def _chdir(path: Path) -> Iterator[None]:
    # DVC formats stage addresses (``sub/dvc.yaml:name``) relative to the
    # current directory, so it must run from the project root like the CLI.
    old = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


@contextlib.contextmanager
def _dvc_environment(tmp: Path) -> Iterator[None]:
    """Keep DVC away from the user's config, the shared site cache and telemetry."""
    for name in ("site-cache", "global-config", "system-config"):
        (tmp / name).mkdir()
    overrides = {
        "DVC_SITE_CACHE_DIR": str(tmp / "site-cache"),
        "DVC_GLOBAL_CONFIG_DIR": str(tmp / "global-config"),
        "DVC_SYSTEM_CONFIG_DIR": str(tmp / "system-config"),
        "DVC_NO_ANALYTICS": "1",
        "DVC_IGNORE_ISATTY": "1",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
    }
    saved = {key: os.environ.get(key) for key in overrides}
    os.environ.update(overrides)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


# --------------------------------------------------------------------------- loading


def _load(root: Path) -> dict[str, Any]:
    from dvc.repo import Repo
    from dvc.repo.index import Index, collect_files
    from dvc.stage import PipelineStage

    with Repo(str(root)) as repo:
        # What `dvc stage list --all --fail` does: Repo.index collects every
        # dvc file (collect_files honours .dvcignore, skips .git/.dvc, git-
        # ignored files, subrepos and directories that are outputs of stages
        # already collected) and raises on the first one that fails to load.
        # Loading a dvc.yaml validates its schema, builds its resolver
        # (params.yaml + top-level vars), resolves every stage, and resolves
        # the top-level metrics/params/plots/artifacts/datasets.
        collected = list(collect_files(repo, onerror=None))
        index = Index.from_indexes(repo, (idx for _, idx in collected))
        _resolve_top_level_sections(repo, [path for path, _ in collected])
        stages = [s for s in index.stages if isinstance(s, PipelineStage)]
        graph = index.graph  # duplicate/overlapping outputs, stage file in an output, cycles

        root_str = str(root)
        stage_list = sorted(
            (_stage_record(stage, root_str) for stage in stages), key=lambda r: r["id"]
        )
        graph_edges = sorted(
            {
                (stage.addressing, dep_stage.addressing)
                for stage, dep_stage in graph.edges()
                if isinstance(stage, PipelineStage) and isinstance(dep_stage, PipelineStage)
            }
        )

    ids = [r["id"] for r in stage_list]
    if len(ids) != len(set(ids)):
        # e.g. a stage literally named `a@1` next to a foreach group `a` with
        # key 1: DVC loads the generated stage twice and drops the plain one.
        raise _UnsupportedError(f"DVC loads several stages under one address: {ids}")
    _check_json_representable(stage_list)
    rule_edges = contract_edges(stage_list, root_str)
    if [list(e) for e in graph_edges] != rule_edges:
        raise OracleInconsistencyError(
            "DVC's graph and the contract's edge rule disagree:\n"
            f"  DVC graph:     {graph_edges}\n  contract rule: {rule_edges}"
        )
    return {"schema_version": SCHEMA_VERSION, "stages": stage_list, "edges": rule_edges}


def _resolve_top_level_sections(repo: Any, paths: list[str]) -> None:
    """Resolve the top-level sections of every collected dvc.yaml once more.

    ``Index.from_file`` already does this while collecting; doing it here
    explicitly keeps an invalid top-level section a rejection even if a
    future DVC made that lazy.
    """
    from dvc.dvcfile import PROJECT_FILE, load_file

    for path in paths:
        if os.path.basename(path) != PROJECT_FILE:
            continue
        dvcfile = load_file(repo, path)
        _ = dvcfile.metrics, dvcfile.params, dvcfile.plots
        _ = dvcfile.artifacts, dvcfile.datasets


def _check_json_representable(value: Any, where: str = "stages") -> None:
    """Refuse values the JSON contract has no form for (dates, inf, nan)."""
    if value is None or isinstance(value, (bool, int, str)):
        return
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise _UnsupportedError(f"{where} holds {value!r}, which JSON cannot express")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise _UnsupportedError(f"{where} has a non-string key {key!r}")
            _check_json_representable(item, f"{where}.{key}")
        return
    if isinstance(value, list):
        for i, item in enumerate(value):
            _check_json_representable(item, f"{where}[{i}]")
        return
    raise _UnsupportedError(
        f"{where} holds a {type(value).__name__} ({value!r}), which JSON cannot express"
    )


# --------------------------------------------------------------------------- canonical form


def _posix(path: str) -> str:
    return path.replace(os.sep, "/")


def _relative_to_root(abs_path: str, root: str) -> str:
    return _posix(os.path.relpath(abs_path, root))


def _is_verbatim(item: Any) -> bool:
    """URLs and absolute local paths are reported exactly as written."""
    if item.fs.protocol != "local":
        return True
    return os.path.isabs(item.def_path)


def _item_path(item: Any, root: str) -> str:
    if _is_verbatim(item):
        return str(item.def_path)
    return _relative_to_root(item.fs_path, root)


def _out_record(out: Any, root: str) -> dict[str, Any]:
    return {
        "path": _item_path(out, root),
        "cache": out.use_cache,
        "persist": out.persist,
        "push": out.can_push,
        "remote": out.remote,
    }


def _stage_record(stage: Any, root: str) -> dict[str, Any]:
    from dvc.dependency import ParamsDependency

    deps: list[str] = []
    params: dict[str, Any] = {}
    for dep in stage.deps:
        if isinstance(dep, ParamsDependency):
            path = _item_path(dep, root)
            keys = list(dep.params)
            if not keys or params.get(path, []) is None:
                params[path] = None  # the whole file is tracked
            else:
                params[path] = [*params.get(path, []), *keys]
        else:
            deps.append(_item_path(dep, root))
    params = {
        path: (None if keys is None else sorted(set(keys), key=_param_key_order))
        for path, keys in params.items()
    }

    outs, metrics, plots = [], [], []
    for out in stage.outs:
        target = plots if out.plot else metrics if out.metric else outs
        target.append(_out_record(out, root))

    dvcfile = _relative_to_root(stage.path, root)
    return {
        "id": stage.addressing,
        "dvcfile": dvcfile,
        "name": stage.name,
        "cmd": stage.cmd,
        "wdir": _relative_to_root(stage.wdir, root),
        "deps": sorted(deps),
        "outs": sorted(outs, key=lambda o: o["path"]),
        "metrics": sorted(metrics, key=lambda o: o["path"]),
        "plots": sorted(plots, key=lambda o: o["path"]),
        "params": params,
        "frozen": bool(stage.frozen),
        "always_changed": bool(stage.always_changed),
    }


def _param_key_order(key: Any) -> tuple[int, str]:
    # Keys are strings in every sane file; YAML can still hand DVC an int
    # (``- 1``), which it keeps as is. Order those after the strings.
    return (0, key) if isinstance(key, str) else (1, json.dumps(key))


# --------------------------------------------------------------------------- edges


def _path_key(path: str, root: str) -> tuple[str, ...]:
    """Components of a reported path, for comparing deps with outputs."""
    if "://" in path:
        scheme, _, rest = path.partition("://")
        return (f"{scheme}://", *[p for p in rest.split("/") if p])
    absolute = posixpath.normpath(posixpath.join(_posix(root), path))
    return tuple(p for p in absolute.split("/") if p) or ("/",)


def _overlaps(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    n = min(len(a), len(b))
    return a[:n] == b[:n]


def contract_edges(stages: list[dict[str, Any]], root: str = "/__root__") -> list[list[str]]:
    """The edge rule of STAGE_LIST_JSON.md, computed from canonical records.

    ``[A, B]`` when a dependency of A (a deps path or a params file) equals,
    lies inside, or contains an output path of B, comparing by component.
    """
    outputs: list[tuple[tuple[str, ...], str]] = []
    for stage in stages:
        for section in ("outs", "metrics", "plots"):
            for out in stage[section]:
                outputs.append((_path_key(out["path"], root), stage["id"]))
    edges: set[tuple[str, str]] = set()
    for stage in stages:
        for dep in [*stage["deps"], *stage["params"]]:
            key = _path_key(dep, root)
            for out_key, owner in outputs:
                if _overlaps(key, out_key):
                    edges.add((stage["id"], owner))
    return [list(e) for e in sorted(edges)]


# --------------------------------------------------------------------------- CLI


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: dvc_oracle.py ROOT", file=sys.stderr)
        return 2
    result = run_oracle(args[0])
    if isinstance(result, Rejected):
        print(f"rejected: {result}", file=sys.stderr)
        return 1
    print(json.dumps(result.data, indent=2, ensure_ascii=False, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
