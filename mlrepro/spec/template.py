"""DVC's ``${...}`` templating: the variable context and interpolation.

Semantics follow DVC 3 (``dvc/parsing``), including its corners:

* a string that is exactly ``${x}`` takes x's value whatever its type;
  inside a larger string only scalars may appear, except in ``cmd`` where a
  mapping becomes ``--key value`` arguments;
* ``\\${`` escapes interpolation;
* context mappings keep only string keys;
* values referenced for ``foreach``/``matrix`` keep the identity of context
  values (:class:`Ref`), because DVC names their generated stages with
  Python's ``str()`` of the value (``True``), where literal values in the
  file are named with ``to_str`` (``true``).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

KEYCRE = re.compile(r"(?<!\\)\$\{(?P<inner>.*?)\}")
_WORD = re.compile(r"[^.\[\]]+")
_WS = " \t\r\n"
_SCALARS = (int, float, str, bytes, bool)


class TemplateError(Exception):
    """A templating failure; the resolver adds file, line and stage."""


class UnsupportedValue(TemplateError):
    def __init__(self, message: str, keypath: tuple[Any, ...]) -> None:
        super().__init__(message)
        self.keypath = keypath


class KeyNotFound(TemplateError):
    def __init__(self, expr: str) -> None:
        super().__init__(f"undefined variable '${{{expr}}}'")
        self.expr = expr


@dataclass(frozen=True, slots=True)
class Ref:
    """A value taken from the context by an exact ``${...}`` without unwrapping."""

    value: Any


def unref(value: Any) -> Any:
    """Replace every :class:`Ref` inside ``value`` with its value."""
    if isinstance(value, Ref):
        return value.value
    if isinstance(value, dict):
        return {k: unref(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unref(v) for v in value]
    return value


def is_map_or_seq(value: Any) -> bool:
    if isinstance(value, Ref):
        value = value.value
    return isinstance(value, dict | list | tuple)


def to_str(value: Any) -> str:
    """Render a scalar as DVC does inside strings and generated names."""
    if isinstance(value, Ref):
        # DVC's context nodes print with str(): True, not true.
        return str(value.value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return _dict_to_args(value)
    return str(value)


def to_context(value: Any, where: str, keypath: tuple[Any, ...] = ()) -> Any:
    """Convert loaded data into context data (string keys only, plain types)."""
    if isinstance(value, Ref):
        return value.value
    if value is None or isinstance(value, _SCALARS):
        return value
    if isinstance(value, dict):
        return {
            k: to_context(v, where, (*keypath, k)) for k, v in value.items() if isinstance(k, str)
        }
    if isinstance(value, list):
        return [to_context(v, where, (*keypath, i)) for i, v in enumerate(value)]
    at = f" at '{'.'.join(map(str, keypath))}'" if keypath else ""
    raise UnsupportedValue(
        f"{where}: a value of type '{type(value).__name__}'{at} cannot be used as a variable "
        "(DVC refuses it too); quote it to make it a string",
        keypath,
    )


def parse_expr(inner: str) -> str:
    """Check the syntax of ``inner`` (the text between ``${`` and ``}``).

    Grammar (DVC's): ``word ( "." word | "[" word "]" )*`` where a word is any
    run of characters other than ``.[]``. Returns the dotted form.
    """
    s = inner.expandtabs()
    m = _WORD.match(s)
    if not m:
        raise TemplateError(f"invalid expression '${{{inner}}}'")
    parts = [m.group()]
    i = m.end()
    n = len(s)
    while i < n:
        c = s[i]
        m = _WORD.match(s, i + 1)
        if c == "." and m:
            parts.append(m.group())
            i = m.end()
        elif c == "[" and m and m.end() < n and s[m.end()] == "]":
            parts.append(m.group())
            i = m.end() + 1
            while i < n and s[i] in _WS:
                i += 1
        else:
            raise TemplateError(f"invalid expression '${{{inner}}}'")
    return ".".join(parts)


def check_syntax(data: Any) -> None:
    """Raise TemplateError for the first malformed ``${...}`` anywhere in data."""
    if isinstance(data, str):
        for m in KEYCRE.finditer(data):
            parse_expr(m["inner"])
    elif isinstance(data, dict):
        for k, v in data.items():
            check_syntax(k)
            check_syntax(v)
    elif isinstance(data, list):
        for v in data:
            check_syntax(v)


def has_interpolation(data: Any) -> bool:
    if isinstance(data, str):
        return KEYCRE.search(data) is not None
    if isinstance(data, dict):
        return any(has_interpolation(k) or has_interpolation(v) for k, v in data.items())
    if isinstance(data, list):
        return any(has_interpolation(v) for v in data)
    return False


def _flatten(d: Mapping[str, Any], prefix: str, out: dict[str, Any]) -> None:
    for k, v in d.items():
        key = f"{prefix}.{k}" if prefix else str(k)
        if isinstance(v, Mapping) and v:
            _flatten(v, key, out)
        elif isinstance(v, Mapping):
            continue  # an empty mapping contributes nothing, as in DVC
        else:
            out[key] = v


def _dict_to_args(d: Mapping[str, Any]) -> str:
    # Same rendering as DVC's dict unpacking in `cmd` (default parsing config):
    # nested keys joined with dots, true -> bare flag, false -> nothing,
    # lists -> `--k a b`, strings shell-quoted.
    flat: dict[str, Any] = {}
    _flatten(d, "", flat)
    result = ""
    for k, v in flat.items():
        if isinstance(v, bool):
            if v:
                result += f"--{k} "
        elif isinstance(v, str):
            result += f"--{k} {shlex.quote(v)} "
        elif isinstance(v, list | tuple):
            for n, item in enumerate(v):
                if isinstance(item, str):
                    item = shlex.quote(item)
                elif isinstance(item, list | tuple | dict):
                    raise TemplateError(f"cannot interpolate nested iterable in '{k}'")
                result += f"{item} " if n > 0 else f"--{k} {item} "
        else:
            result += f"--{k} {to_str(v)} "
    return result.rstrip()


class Context:
    """The variables visible to a stage: params.yaml, ``vars`` and foreach items."""

    __slots__ = ("data", "imports", "reserved")

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}
        # path -> None (whole file) or the list of top-level keys imported
        self.imports: dict[str, list[str] | None] = {}
        self.reserved: set[str] = set()

    def clone(self) -> Context:
        new = Context()
        new.data = _copy(self.data)
        new.imports = {k: (list(v) if v is not None else None) for k, v in self.imports.items()}
        new.reserved = set(self.reserved)
        return new

    def merge(self, other: Mapping[str, Any], source: str) -> None:
        """Deep-merge ``other`` in; redefining an existing leaf is an error."""
        clash = sorted(k for k in self.reserved if k in other)
        if clash:
            raise TemplateError(
                f"attempted to modify reserved key{'s' if len(clash) > 1 else ''} "
                f"{', '.join(repr(k) for k in clash)} in {source}"
            )
        _merge(self.data, other, source, ())

    def select(self, expr: str) -> Any:
        """The value at a dotted path (``a.b.0``); KeyNotFound when absent."""
        key = expr.replace("[", ".").replace("]", "")
        node: Any = self.data
        for raw in key.split("."):
            part = raw.strip()
            if isinstance(node, dict):
                if part not in node:
                    raise KeyNotFound(expr)
                node = node[part]
            elif isinstance(node, list):
                try:
                    node = node[int(part)]
                except (ValueError, IndexError):
                    raise KeyNotFound(expr) from None
            else:
                raise KeyNotFound(expr)
        return node

    @contextmanager
    def temporarily(self, values: dict[str, Any]) -> Iterator[None]:
        """Set ``item``/``key`` for one generated stage, reserved against vars."""
        saved = {k: self.data[k] for k in values if k in self.data}
        added = [k for k in values if k not in self.reserved]
        self.data.update(values)
        self.reserved.update(added)
        try:
            yield
        finally:
            for k in values:
                self.data.pop(k, None)
            self.data.update(saved)
            self.reserved.difference_update(added)

    # -- interpolation -------------------------------------------------

    def resolve(
        self, value: Any, *, field: str | None, unwrap: bool = True, checked: bool = True
    ) -> Any:
        """Interpolate every string in ``value`` (keys too), recursively.

        ``field`` is the stage key being resolved (``cmd``, ``outs``...),
        which decides what non-scalar values may be interpolated.
        ``checked`` means the syntax was validated already (templates of
        foreach/matrix): expressions are then looked up as written.
        """
        if isinstance(value, str):
            return self.resolve_str(value, field=field, unwrap=unwrap, checked=checked)
        if isinstance(value, dict):
            return {
                self.resolve(k, field=field, unwrap=unwrap, checked=checked): self.resolve(
                    v, field=field, unwrap=unwrap, checked=checked
                )
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [self.resolve(v, field=field, unwrap=unwrap, checked=checked) for v in value]
        return value

    def _lookup(self, inner: str, checked: bool) -> Any:
        expr = inner if checked else parse_expr(inner)
        return self.select(expr)

    def resolve_str(
        self, src: str, *, field: str | None, unwrap: bool = True, checked: bool = False
    ) -> Any:
        if "${" not in src:
            return src
        exact, pieces = _split(src)
        if exact is not None:
            value = self._lookup(exact, checked)
            _validate(value, field)
            return value if unwrap else Ref(value)
        buf: list[str] = []
        for i, piece in enumerate(pieces):
            if i % 2 == 0:
                buf.append(piece)
            else:
                value = self._lookup(piece, checked)
                _validate(value, field)
                buf.append(to_str(value))
        return "".join(buf).replace("\\${", "${")


_SPLIT_CACHE: dict[str, tuple[str | None, list[str]]] = {}


def _split(src: str) -> tuple[str | None, list[str]]:
    """``src`` as (the inner expression if ``src`` is exactly one ``${...}``,
    alternating literal text and inner expressions).

    Cached: a foreach/matrix template resolves the same strings once per
    generated stage.
    """
    cached = _SPLIT_CACHE.get(src)
    if cached is None:
        matches = list(KEYCRE.finditer(src))
        exact = matches[0]["inner"] if len(matches) == 1 and matches[0].group(0) == src else None
        pieces: list[str] = []
        index = 0
        for m in matches:
            pieces.append(src[index : m.start()])
            pieces.append(m["inner"])
            index = m.end()
        pieces.append(src[index:])
        cached = (exact, pieces)
        if len(_SPLIT_CACHE) < 100_000:
            _SPLIT_CACHE[src] = cached
    return cached


def _validate(value: Any, field: str | None) -> None:
    # Same rule as DVC: outside `foreach` (and `matrix`, resolved with no
    # field), only scalars and null may be interpolated, and mappings in cmd.
    if value is None or isinstance(value, _SCALARS) or field is None or "foreach" in field:
        return
    if isinstance(value, dict) and field == "cmd":
        return
    raise TemplateError(f"cannot interpolate data of type '{type(value).__name__}'")


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return list(value)  # lists are never merged into, so a shallow copy suffices
    return value


def _merge(
    into: dict[str, Any], update: Mapping[str, Any], source: str, path: tuple[str, ...]
) -> None:
    for key, val in update.items():
        cur = into.get(key)
        if isinstance(cur, dict) and isinstance(val, dict):
            _merge(cur, val, source, (*path, key))
        elif key in into:
            dotted = ".".join((*path, key))
            raise TemplateError(f"cannot redefine '{dotted}' from {source}: it is already defined")
        else:
            into[key] = _copy(val)
