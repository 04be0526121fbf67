"""Resolving one ``dvc.yaml``: schema, vars, templating, foreach/matrix, paths.

Follows DVC 3's reading step by step (``dvc/parsing``, ``dvc/stage/loader``):
the raw file is validated against the schema first, then the context is
built (``params.yaml`` beside the file, then top-level ``vars``), then every
stage is resolved in file order, generated stages named ``group@key``.
"""

from __future__ import annotations

import itertools
import os
import posixpath
from collections.abc import Iterator
from typing import Any

from mlrepro.errors import PipelineError
from mlrepro.spec import paths
from mlrepro.spec.fields import DEFAULT_PARAMS_FILE, merge_outs, merge_params
from mlrepro.spec.model import Out, Stage
from mlrepro.spec.paramsfile import load_params_file
from mlrepro.spec.schema import SchemaViolation, validate_dvcyaml
from mlrepro.spec.template import (
    Context,
    Ref,
    TemplateError,
    UnsupportedValue,
    check_syntax,
    has_interpolation,
    is_map_or_seq,
    to_context,
    to_str,
    unref,
)
from mlrepro.spec.yamlio import line_of, parse_yaml


class DvcFile:
    """One pipeline file being resolved; holds its text for error locations."""

    def __init__(self, root: str, relpath: str) -> None:
        self.root = root
        self.relpath = relpath  # e.g. "dvc.yaml", "sub/dvc.yaml"
        d = posixpath.dirname(relpath)
        self.dir = d if d else "."
        self.top_metrics: list[str] = []  # top-level `metrics:` entries, root-relative
        self.top_params: list[str] = []  # top-level `params:` files, root-relative
        with open(os.path.join(root, relpath), "rb") as f:
            raw = f.read()
        try:
            self.text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise PipelineError("is not valid UTF-8 text", path=relpath) from None

    # -- errors ---------------------------------------------------------

    def error(
        self,
        what: str,
        keypath: tuple[Any, ...] = (),
        stage: str | None = None,
        hint: str | None = None,
    ) -> PipelineError:
        line = line_of(self.text, keypath) if keypath else None
        if hint is None and "undefined variable" in what:
            params = posixpath.normpath(posixpath.join(self.dir, DEFAULT_PARAMS_FILE))
            hint = f"define it in {params} or in 'vars'"
        return PipelineError(what, path=self.relpath, line=line, stage=stage, hint=hint)

    # -- loading ---------------------------------------------------------

    def load(self) -> list[Stage]:
        data = parse_yaml(self.text, self.relpath) or {}
        try:
            validate_dvcyaml(data)
        except SchemaViolation as exc:
            stage = str(exc.path[1]) if len(exc.path) > 1 and exc.path[0] == "stages" else None
            raise self.error(
                exc.message,
                exc.path,
                stage=stage,
                hint="see the dvc.yaml reference: https://dvc.org/doc/user-guide/project-structure/dvcyaml-files",
            ) from None

        context = Context()
        vars_ = data.get("vars", [])
        if has_interpolation(vars_):
            raise self.error("'vars' cannot use ${...} interpolation", ("vars",))
        default = posixpath.join(self.dir, DEFAULT_PARAMS_FILE)
        try:
            if os.path.exists(os.path.join(self.root, default)):
                self._merge_file(context, DEFAULT_PARAMS_FILE, self.dir)
            self._load_vars(context, vars_, self.dir, stage=None)
        except TemplateError as exc:
            raise self.error(str(exc), ("vars",)) from None

        self._resolve_top_level(data, context)

        stages: list[Stage] = []
        for name, definition in data.get("stages", {}).items():
            stages.extend(self._resolve_definition(context, name, definition))
        return stages

    def _merge_file(self, context: Context, item: str, wdir: str) -> None:
        # `file.yaml:key1,key2` imports only those top-level keys.
        file, _, keys_str = item.partition(":")
        rel = posixpath.normpath(posixpath.join(wdir, file))
        keys = [k for k in keys_str.split(",") if k] if keys_str else None
        if rel in context.imports:
            imported = context.imports[rel]
            if keys is None and imported is None:
                return  # naming the same whole file twice is allowed
            if keys is None or imported is None or set(keys) & set(imported):
                raise TemplateError(
                    f"cannot load '{item}': it is already loaded (or partly loaded)"
                )
        full = os.path.join(self.root, rel)
        if not os.path.exists(full):
            raise TemplateError(f"vars file '{rel}' does not exist")
        if os.path.isdir(full):
            raise TemplateError(f"vars file '{rel}' is a directory")
        loaded = load_params_file(full, rel)
        if not isinstance(loaded, dict):
            raise TemplateError(
                f"vars file '{rel}' must hold a mapping, not {type(loaded).__name__}"
            )
        if keys is not None:
            missing = [k for k in keys if k not in loaded]
            if missing:
                raise TemplateError(f"could not find '{missing[0]}' in '{rel}'")
            loaded = {k: loaded[k] for k in keys}
        try:
            values = to_context(loaded, f"'{rel}'")
        except UnsupportedValue as exc:
            line = None
            if not rel.endswith((".json", ".toml", ".py")):
                with open(full, encoding="utf-8") as f:
                    line = line_of(f.read(), exc.keypath)
            raise PipelineError(str(exc).split(": ", 1)[1], path=rel, line=line) from None
        context.merge(values, f"'{rel}'")
        if rel not in context.imports:
            context.imports[rel] = keys
        elif keys:
            existing = context.imports[rel]
            assert existing is not None
            existing.extend(keys)

    def _load_vars(self, context: Context, vars_: list[Any], wdir: str, stage: str | None) -> None:
        for index, item in enumerate(vars_):
            if isinstance(item, str):
                self._merge_file(context, item, wdir)
            else:
                where = f"{stage}.vars[{index}]" if stage else f"vars[{index}]"
                context.merge(to_context(item, where), where)

    def _resolve_top_level(self, data: dict[str, Any], context: Context) -> None:
        # Top-level sections are not reported by `stage list`, but a broken
        # one makes DVC refuse the project, so they are resolved all the same.
        for section in ("datasets", "metrics", "params", "plots"):
            for i, item in enumerate(data.get(section) or []):
                try:
                    check_syntax(item)
                    resolved = unref(context.resolve(item, field=None))
                except TemplateError as exc:
                    raise self.error(f"'{section}': {exc}", (section, i)) from None
                if section in ("metrics", "params") and isinstance(resolved, str):
                    # paths relative to this file's folder (DVC: metrics files or
                    # folders to show; params files to compare beyond stages' own)
                    found = self.top_metrics if section == "metrics" else self.top_params
                    found.append(posixpath.normpath(posixpath.join(self.dir, resolved)))
        for name, item in (data.get("artifacts") or {}).items():
            try:
                check_syntax(name)
                resolved = context.resolve_str(name, field=None)
                if not isinstance(resolved, str):
                    raise TemplateError(
                        f"artifact name must be a string, got {type(resolved).__name__}"
                    )
                check_syntax(item)
                context.resolve(item, field=None)
            except TemplateError as exc:
                raise self.error(f"'artifacts': {exc}", ("artifacts", name)) from None

    # -- stages -----------------------------------------------------------

    def _resolve_definition(
        self, context: Context, name: str, definition: dict[str, Any]
    ) -> Iterator[Stage]:
        keypath: tuple[Any, ...] = ("stages", name)
        # DVC addresses generated stages as group@key and splits names at the
        # last '@': a name of its own with '@' (or an empty one) cannot be loaded.
        if not name or "@" in name:
            raise self.error(
                f"invalid stage name '{name}'"
                + (": '@' is reserved for foreach/matrix stages" if name else ""),
                keypath,
                stage=name or None,
                hint="rename the stage",
            )
        if "matrix" in definition:
            template = {k: v for k, v in definition.items() if k != "matrix"}
            self._check_template(template, name, keypath)
            for key, item in self._matrix_items(context, name, definition["matrix"]):
                with context.temporarily({"key": key, "item": item}):
                    yield self._resolve_stage(
                        context, f"{name}@{key}", template, keypath, checked=True
                    )
        elif "foreach" in definition:
            template = definition["do"]
            self._check_template(template, name, (*keypath, "do"))
            for key, item, with_key in self._foreach_items(context, name, definition["foreach"]):
                temp = {"item": item, "key": key} if with_key else {"item": item}
                with context.temporarily(temp):
                    yield self._resolve_stage(
                        context, f"{name}@{key}", template, (*keypath, "do"), checked=True
                    )
        else:
            self._check_template(definition, name, keypath)
            yield self._resolve_stage(context, name, definition, keypath, checked=False)

    def _check_template(
        self, template: dict[str, Any], name: str, keypath: tuple[Any, ...]
    ) -> None:
        for key, value in template.items():
            try:
                check_syntax(value)
            except TemplateError as exc:
                raise self.error(f"'{key}': {exc}", (*keypath, key), stage=name) from None

    def _foreach_items(
        self, context: Context, name: str, data: Any
    ) -> Iterator[tuple[str, Any, bool]]:
        keypath = ("stages", name, "foreach")
        try:
            iterable = context.resolve(data, field=None, unwrap=False)
        except TemplateError as exc:
            raise self.error(f"'foreach': {exc}", keypath, stage=name) from None
        if not is_map_or_seq(iterable):
            value = iterable.value if isinstance(iterable, Ref) else iterable
            raise self.error(
                f"'foreach' must be a list or a mapping, got {type(value).__name__}",
                keypath,
                stage=name,
            )
        is_ref = isinstance(iterable, Ref)
        value = iterable.value if is_ref else iterable
        items: dict[str, Any] = {}
        if isinstance(value, dict):
            for k, v in value.items():
                items[to_str(k)] = v
            with_key = True
        else:
            elems = [Ref(v) for v in value] if is_ref else list(value)
            with_key = False
            if any(is_map_or_seq(e) for e in elems):
                items = {str(i): e for i, e in enumerate(elems)}
            else:
                for e in elems:
                    items[to_str(e)] = e
        try:
            for key, item in items.items():
                self._check_key(name, key, keypath)
                yield key, to_context(unref(item), f"stage '{name}@{key}'"), with_key
        except TemplateError as exc:
            raise self.error(str(exc), keypath, stage=name) from None

    def _check_key(self, name: str, key: str, keypath: tuple[Any, ...]) -> None:
        if not key or "@" in key:
            raise self.error(
                f"generated stage name '{name}@{key}' cannot be addressed: "
                + ("the key is empty" if not key else "the key contains '@'"),
                keypath,
                stage=name,
                hint="use values without '@' (and not empty) to generate stages",
            )

    def _matrix_items(
        self, context: Context, name: str, data: dict[str, Any]
    ) -> Iterator[tuple[str, Any]]:
        keypath = ("stages", name, "matrix")
        try:
            resolved = context.resolve(data, field=None, unwrap=False)
        except TemplateError as exc:
            raise self.error(f"'matrix': {exc}", keypath, stage=name) from None
        dims: list[tuple[Any, list[Any]]] = []
        for dim, values in resolved.items():
            if isinstance(values, Ref):
                inner = values.value
                if isinstance(inner, list):
                    values = [Ref(v) for v in inner]
                elif isinstance(inner, dict):
                    values = list(inner)  # DVC iterates a mapping's keys here
                else:
                    raise self.error(
                        f"'matrix.{dim}' must be a list, got {type(inner).__name__}",
                        keypath,
                        stage=name,
                    )
            dims.append((dim, list(values)))
        combos: dict[str, dict[str, Any]] = {}
        for combination in itertools.product(*(list(enumerate(v)) for _, v in dims)):
            fragments = []
            item: dict[str, Any] = {}
            for (dim, _), (i, v) in zip(dims, combination, strict=True):
                item[dim] = v
                fragments.append(f"{dim}{i}" if is_map_or_seq(v) else to_str(v))
            # as in DVC, combinations that render to the same key collapse (last wins)
            combos["-".join(fragments)] = item
        try:
            for key, item in combos.items():
                self._check_key(name, key, keypath)
                yield key, to_context(unref(item), f"stage '{name}@{key}'")
        except TemplateError as exc:
            raise self.error(str(exc), keypath, stage=name) from None

    def _resolve_stage(
        self,
        context: Context,
        name: str,
        definition: dict[str, Any],
        keypath: tuple[Any, ...],
        *,
        checked: bool,
    ) -> Stage:
        wdir = self.dir
        raw_wdir = definition.get("wdir")
        try:
            if raw_wdir:
                value = context.resolve_str(raw_wdir, field=None, checked=checked)
                wdir = posixpath.join(self.dir, to_str(value))
        except TemplateError as exc:
            raise self.error(f"'wdir': {exc}", (*keypath, "wdir"), stage=name) from None

        vars_ = definition.get("vars", [])
        if has_interpolation(vars_):
            raise self.error(
                "'vars' cannot use ${...} interpolation", (*keypath, "vars"), stage=name
            )
        ctx = context
        if vars_:
            ctx = context.clone()
            try:
                self._load_vars(ctx, vars_, posixpath.normpath(wdir), stage=name)
            except TemplateError as exc:
                raise self.error(str(exc), (*keypath, "vars"), stage=name) from None

        resolved: dict[str, Any] = {}
        for key, value in definition.items():
            if key == "vars":
                continue
            try:
                resolved[key] = ctx.resolve(value, field=key, checked=checked)
            except TemplateError as exc:
                raise self.error(f"'{key}': {exc}", (*keypath, key), stage=name) from None
        return self._build(name, resolved, keypath)

    def _build(self, name: str, d: dict[str, Any], keypath: tuple[Any, ...]) -> Stage:
        def fail(what: str, key: str) -> PipelineError:
            return self.error(what, (*keypath, key), stage=name)

        rwdir = d.get("wdir")
        if rwdir is not None and not isinstance(rwdir, str):
            raise fail(f"'wdir' must be a string, got {type(rwdir).__name__}", "wdir")
        wdir = posixpath.normpath(posixpath.join(self.dir, rwdir or "."))

        deps = []
        for dep in d.get("deps") or []:
            if not isinstance(dep, str):
                raise fail(f"dependency {dep!r} must be a string path", "deps")
            if problem := paths.url_problem(dep):
                raise fail(problem, "deps")
            deps.append(paths.join_rel(wdir, dep))

        params = merge_params(d.get("params") or [], wdir, fail)

        outs: dict[str, tuple[Out, ...]] = {}
        for section in ("outs", "metrics", "plots"):
            outs[section] = tuple(merge_outs(d.get(section) or [], wdir, section, fail))

        cmd = d["cmd"]  # kept as templating left it, as DVC does (``${n}`` may give a number)
        desc = d.get("desc")
        return Stage(
            dvcfile=self.relpath,
            name=name,
            cmd=cmd,
            wdir=wdir,
            deps=tuple(deps),
            outs=outs["outs"],
            metrics=outs["metrics"],
            plots=outs["plots"],
            params=params,
            frozen=bool(d.get("frozen", False)),
            always_changed=bool(d.get("always_changed", False)),
            desc=desc if isinstance(desc, str) else None,
        )
