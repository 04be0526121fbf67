"""Reading params and vars files: YAML, JSON, TOML and Python, chosen by extension.

Same dispatch as DVC: ``.json``, ``.toml`` and ``.py`` by their extension,
anything else as YAML. Python files are read statically with ``ast`` (module
level assignments, classes as nested mappings, ``self.x`` in ``__init__``),
never executed.
"""

from __future__ import annotations

import ast
import json
import os
from typing import Any

import xxhash

from mlrepro.errors import PipelineError
from mlrepro.spec.yamlio import parse_yaml

# parsed files by (path, digest of their bytes): the pipeline loader reads params.yaml
# for its variables and the params reader for the tracked values, and a large file
# (tens of MB) costs seconds to parse; keyed by content, never by a stat that a
# rewrite within one clock tick could leave unchanged (issue 15)
_parsed: dict[tuple[str, str, str], Any] = {}


def load_params_file(abspath: str, relpath: str) -> Any:
    """Parse the file at ``abspath`` (reported as ``relpath``) into Python data. The
    result is shared by every caller that reads the same bytes: never change it."""
    with open(abspath, "rb") as f:
        data = f.read()
    key = (abspath, relpath, xxhash.xxh3_128_hexdigest(data))
    if key not in _parsed:
        _parsed[key] = parse_params_bytes(data, relpath)
    return _parsed[key]


def parse_params_bytes(data: bytes, relpath: str, *, raw: bool = False) -> Any:
    """Parse a params, vars or metrics file's bytes by the extension of ``relpath``.

    An empty or false document reads as an empty mapping, unless ``raw`` (metrics
    files may hold a bare value, 0 included)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise PipelineError("is not valid UTF-8 text", path=relpath) from None
    ext = os.path.splitext(relpath)[1].lower()
    if ext == ".json":
        try:
            value = json.loads(text)
            return value if value or raw else {}
        except json.JSONDecodeError as exc:
            raise PipelineError(f"invalid JSON: {exc.msg}", path=relpath, line=exc.lineno) from None
    if ext == ".toml":
        import tomllib

        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise PipelineError(f"invalid TOML: {exc}", path=relpath) from None
    if ext == ".py":
        try:
            tree = ast.parse(text, filename=relpath)
        except SyntaxError as exc:
            raise PipelineError(
                f"invalid Python: {exc.msg}", path=relpath, line=exc.lineno
            ) from None
        return _py_body(tree.body, self_only=False)
    value = parse_yaml(text, relpath)
    return value if value or raw else {}


def _py_body(body: list[ast.stmt], *, self_only: bool) -> dict[str, Any]:
    # Same reading as DVC's params.py support: assignments whose value is a
    # literal, classes as nested mappings, `self.x = ...` inside __init__.
    # Anything that is not a literal is skipped, not an error.
    result: dict[str, Any] = {}
    for node in body:
        if isinstance(node, ast.Assign | ast.AnnAssign):
            target = (
                node.target
                if isinstance(node, ast.AnnAssign)
                else (node.targets[0] if len(node.targets) == 1 else None)
            )
            name = _py_name(target, self_only)
            if name is None or node.value is None:
                continue
            try:
                result[name] = _py_value(node.value)
            except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                continue
        elif isinstance(node, ast.ClassDef) and not self_only:
            result[node.name] = _py_body(node.body, self_only=False)
        elif isinstance(node, ast.FunctionDef) and node.name == "__init__":
            result.update(_py_body(node.body, self_only=True))
    return result


def _py_name(target: ast.expr | None, self_only: bool) -> str | None:
    if isinstance(target, ast.Name) and not self_only:
        return target.id
    if (
        isinstance(target, ast.Attribute)
        and isinstance(target.value, ast.Name)
        and target.value.id == "self"
    ):
        return target.attr
    return None


def _py_value(value: ast.expr) -> Any:
    if isinstance(value, ast.Dict):
        return {
            ast.literal_eval(k): ast.literal_eval(v)  # type: ignore[arg-type]
            for k, v in zip(value.keys, value.values, strict=True)
        }
    if isinstance(value, ast.List):
        return [ast.literal_eval(v) for v in value.elts]
    if isinstance(value, ast.Set):
        return {ast.literal_eval(v) for v in value.elts}
    if isinstance(value, ast.Tuple):
        return tuple(ast.literal_eval(v) for v in value.elts)
    return ast.literal_eval(value)
