"""The ``dvc.yaml`` schema (DVC 3), checked on the raw file before templating.

A small combinator set: each validator takes a value and its key path and
raises :class:`SchemaViolation` naming the path, so the caller can point at
the exact line. Unknown keys are rejected at every level, as in DVC.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

Path = tuple[Any, ...]
Validator = Callable[[Any, Path], None]


class SchemaViolation(Exception):
    def __init__(self, path: Path, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message


def _type_name(value: Any) -> str:
    return {dict: "mapping", list: "list", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), type(value).__name__
    )


def is_str(value: Any, path: Path) -> None:
    if not isinstance(value, str):
        raise SchemaViolation(path, f"expected a string, got {_type_name(value)}")


def is_bool(value: Any, path: Path) -> None:
    if not isinstance(value, bool):
        raise SchemaViolation(path, f"expected true or false, got {_type_name(value)}")


def is_list(value: Any, path: Path) -> None:
    if not isinstance(value, list):
        raise SchemaViolation(path, f"expected a list, got {_type_name(value)}")


def is_dict(value: Any, path: Path) -> None:
    if not isinstance(value, dict):
        raise SchemaViolation(path, f"expected a mapping, got {_type_name(value)}")


def anything(value: Any, path: Path) -> None:
    return None


def is_null(value: Any, path: Path) -> None:
    if value is not None:
        raise SchemaViolation(path, f"expected null, got {_type_name(value)}")


def any_of(*alternatives: Validator, expected: str) -> Validator:
    def check(value: Any, path: Path) -> None:
        deepest: SchemaViolation | None = None
        for alt in alternatives:
            try:
                alt(value, path)
                return
            except SchemaViolation as exc:
                if deepest is None or len(exc.path) > len(deepest.path):
                    deepest = exc
        assert deepest is not None
        if len(deepest.path) > len(path):
            raise deepest
        raise SchemaViolation(path, f"expected {expected}, got {_type_name(value)}")

    return check


def list_of(item: Validator) -> Validator:
    def check(value: Any, path: Path) -> None:
        is_list(value, path)
        for i, v in enumerate(value):
            item(v, (*path, i))

    return check


def mapping(
    fields: Mapping[str, Validator],
    *,
    required: tuple[str, ...] = (),
    what: str = "",
) -> Validator:
    def check(value: Any, path: Path) -> None:
        is_dict(value, path)
        for k, v in value.items():
            validator = fields.get(k) if isinstance(k, str) else None
            if validator is None:
                allowed = ", ".join(sorted(fields))
                raise SchemaViolation((*path, k), f"unknown key '{k}'{what} (allowed: {allowed})")
            validator(v, (*path, k))
        for k in required:
            if k not in value:
                raise SchemaViolation(path, f"missing required key '{k}'{what}")

    return check


def str_keys(item: Validator, *, non_empty: bool = False) -> Validator:
    def check(value: Any, path: Path) -> None:
        is_dict(value, path)
        if non_empty and not value:
            raise SchemaViolation(path, "expected a non-empty mapping")
        for k, v in value.items():
            if not isinstance(k, str):
                raise SchemaViolation((*path, k), f"key {k!r} must be a string")
            item(v, (*path, k))

    return check


_ANNOTATION = {"desc": is_str, "type": is_str, "labels": list_of(is_str), "meta": anything}
_OUT_FLAGS = {
    **_ANNOTATION,
    "cache": is_bool,
    "persist": is_bool,
    "checkpoint": is_bool,
    "remote": is_str,
    "push": is_bool,
}
_PLOT_PROPS = {
    **_OUT_FLAGS,
    "template": is_str,
    "x": is_str,
    "y": is_str,
    "x_label": is_str,
    "y_label": is_str,
    "title": is_str,
    "header": is_bool,
}
_out_entry = any_of(is_str, str_keys(mapping(_OUT_FLAGS)), expected="a path or {path: flags}")
_plot_props = mapping(_PLOT_PROPS)
_plot_entry = any_of(
    is_str,
    str_keys(any_of(_plot_props, list_of(_plot_props), expected="plot properties")),
    expected="a path or {path: properties}",
)
_vars = list_of(any_of(is_str, is_dict, expected="a file name or a mapping"))

_STAGE_FIELDS: dict[str, Validator] = {
    "matrix": str_keys(any_of(is_str, is_list, expected="a list or a ${...} reference")),
    "cmd": any_of(is_str, is_list, expected="a string or a list of strings"),
    "wdir": is_str,
    "deps": list_of(is_str),
    "params": list_of(any_of(is_str, is_dict, expected="a key or {file: [keys]}")),
    "vars": _vars,
    "frozen": is_bool,
    "meta": anything,
    "desc": is_str,
    "always_changed": is_bool,
    "outs": list_of(_out_entry),
    "metrics": list_of(_out_entry),
    "plots": list_of(_plot_entry),
}
stage_definition = mapping(_STAGE_FIELDS, required=("cmd",))
foreach_definition = mapping(
    {
        "foreach": any_of(
            is_dict, is_list, is_str, expected="a list, a mapping or a ${...} reference"
        ),
        "do": stage_definition,
    },
    required=("foreach", "do"),
    what=" in a foreach stage",
)


def _stage(value: Any, path: Path) -> None:
    # Same switch as DVC: a mapping with `foreach` or `do` is a foreach group.
    if isinstance(value, dict) and ("foreach" in value or "do" in value):
        foreach_definition(value, path)
    else:
        stage_definition(value, path)


_x_axis = any_of(is_str, str_keys(is_str), expected="a string or {file: field}")
_y_axis = any_of(
    is_str,
    list_of(is_str),
    str_keys(any_of(is_str, list_of(is_str), expected="a field or list of fields")),
    expected="a field, a list or {file: fields}",
)
_plot_definition = mapping(
    {
        "x": _x_axis,
        "y": _y_axis,
        "x_label": is_str,
        "y_label": is_str,
        "title": is_str,
        "template": is_str,
    }
)
_top_plot = any_of(
    is_str,
    str_keys(any_of(_plot_definition, is_null, expected="plot properties or null"), non_empty=True),
    expected="a path or {id: properties}",
)
_artifact = mapping({"path": is_str, **_ANNOTATION}, required=("path",))

dvcyaml = mapping(
    {
        "datasets": anything,
        "plots": list_of(_top_plot),
        "stages": str_keys(_stage),
        "vars": _vars,
        "params": list_of(is_str),
        "metrics": list_of(is_str),
        "artifacts": str_keys(_artifact),
    }
)


def validate_dvcyaml(data: Any) -> None:
    """Raise SchemaViolation for the first problem in a raw dvc.yaml mapping."""
    dvcyaml(data, ())
