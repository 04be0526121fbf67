"""``mlrepro.lock``: what each stage's outputs were made from (docs/format.md).

Committed with the code. Deterministic (stages and keys sorted, no times,
hosts or users), so the same inputs give byte-identical files anywhere, and
one block per stage, so branches that touch different stages merge cleanly.

The layout is YAML whose every value is written as JSON (valid YAML 1.2), one
item per line. :func:`parse_lock` chooses how to read it: a line parser for that
layout, :func:`parse_layout` (a ``json.loads`` per value), whose result is taken when
:func:`dump_lock` writes exactly the file's text for it; otherwise the reference,
:func:`parse_lock_yaml` (ruamel, YAML 1.2, as DVC reads its files), which reads a file
edited by hand. On ``mlrepro status`` of a 1,000-stage pipeline the line parser saves
253 ms of 0.42 s, 60% (benchmarks/RESULTS.md, "fastpaths"). It also reads names that are
not UTF-8, written as ``\\udcNN`` escapes, which ruamel refuses.
``tests/workspace/test_lockfile.py`` checks that the two read every file dump_lock
writes alike, and that an edited file is read as the reference reads it.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from typing import Any

from mlrepro.errors import MlreproError
from mlrepro.fsutil import atomic_write
from mlrepro.spec.yamlio import parse_yaml
from mlrepro.store.digest import SHA, is_tagged
from mlrepro.store.tree import is_name

LOCK_FILE = "mlrepro.lock"
LOCK_VERSION = 1
HEADER = (
    "# mlrepro.lock: what each output was made from (see docs/format.md). Written by mlrepro.\n"
)


@dataclass(frozen=True, slots=True)
class Artifact:
    """A dependency, output or data input as recorded: path and content digests."""

    path: str
    digest: str | None  # "xxh3-128:<hex>", None for a dependency that did not exist
    size: int = 0
    nfiles: int = 0
    sha256: str | None = None  # "sha256:<hex>", always set for outputs and data
    isdir: bool = False

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {"path": self.path, "digest": self.digest}
        if self.sha256:
            d["sha256"] = self.sha256
        d["size"] = self.size
        d["nfiles"] = self.nfiles
        if self.isdir:
            d["isdir"] = True
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Artifact:
        if (
            not isinstance(d.get("path"), str)
            or not is_name(d["path"])  # bytes that are not UTF-8 come as \\udcNN escapes
            or not isinstance(d.get("digest"), str | None)
        ):
            raise ValueError(f"bad artifact {str(d)[:80]}")
        digest, sha = d.get("digest"), d.get("sha256")
        if not (digest is None or is_tagged(digest)) or not (sha is None or is_tagged(sha, SHA)):
            raise ValueError(f"bad digest for '{d['path']}'")
        return cls(
            path=d["path"],
            digest=digest,
            size=int(d.get("size", 0)),
            nfiles=int(d.get("nfiles", 0)),
            sha256=sha,
            isdir=bool(d.get("isdir", False)),
        )


@dataclass(frozen=True, slots=True)
class StageRecord:
    cmd: Any
    deps: tuple[Artifact, ...] = ()
    params: dict[str, dict[str, Any]] = field(default_factory=dict)  # file -> key -> value
    outs: tuple[Artifact, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "cmd": self.cmd,
            "deps": [a.to_json() for a in sorted(self.deps, key=lambda a: a.path)],
            "params": {f: dict(sorted(v.items())) for f, v in sorted(self.params.items())},
            "outs": [a.to_json() for a in sorted(self.outs, key=lambda a: a.path)],
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> StageRecord:
        if not isinstance(d, dict) or not all(isinstance(f, str) for f in d.get("params") or {}):
            raise ValueError("bad stage record")
        return cls(
            cmd=d.get("cmd"),
            deps=tuple(Artifact.from_json(a) for a in d.get("deps") or []),
            params={str(f): dict(v or {}) for f, v in (d.get("params") or {}).items()},
            outs=tuple(Artifact.from_json(a) for a in d.get("outs") or []),
        )


@dataclass(frozen=True, slots=True)
class Lock:
    stages: dict[str, StageRecord] = field(default_factory=dict)
    data: dict[str, Artifact] = field(default_factory=dict)  # data inputs by path
    # each stage's block of the file as dump_lock wrote it: a repro that records stages
    # one by one formats each of them once, not the whole file every time
    blocks: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def with_stage(self, stage_id: str, record: StageRecord | None) -> Lock:
        stages = dict(self.stages)
        if record is None:
            stages.pop(stage_id, None)
        else:
            stages[stage_id] = record
        blocks = {k: v for k, v in self.blocks.items() if k != stage_id}
        return Lock(stages=stages, data=self.data, blocks=blocks)

    def with_data(self, artifact: Artifact) -> Lock:
        data = {**self.data, artifact.path: artifact}
        return Lock(stages=self.stages, data=data, blocks=self.blocks)


# Characters JSON may leave raw but YAML cannot carry in a double-quoted scalar:
# DEL and C1 controls, NEL/LS/PS (YAML line breaks), non-characters, surrogates.
_YAML_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff]")
# A JSON string, or one of the non-standard number tokens json.dumps writes.
_TOKENS = re.compile(r'"(?:\\.|[^"\\])*"|-?Infinity|NaN')
_TO_YAML = {"Infinity": ".inf", "-Infinity": "-.inf", "NaN": ".nan"}
_FROM_YAML = re.compile(r'"(?:\\.|[^"\\])*"|-?\.inf|\.nan')
_TO_JSON = {".inf": "Infinity", "-.inf": "-Infinity", ".nan": "NaN"}


# one encoder and one decoder for every value (json.dumps and json.loads with options
# build a new one each call)
_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(", ", ": "))
_DECODER = json.JSONDecoder()
_encode_str = json.encoder.encode_basestring  # what _ENCODER does with a str


def _j(value: Any) -> str:
    """A value as JSON that YAML 1.2 reads back as the same value."""
    kind = type(value)
    if kind is int:  # what _ENCODER writes for these, without its generic path
        return int.__repr__(value)
    if value is None or kind is bool:
        return "null" if value is None else ("true" if value else "false")
    text = _encode_str(value) if kind is str else _ENCODER.encode(value)
    text = _YAML_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    if kind is not str and ("Infinity" in text or "NaN" in text):
        text = _TOKENS.sub(lambda m: _TO_YAML.get(m.group(), m.group()), text)
    return text


def _loads(text: str) -> Any:
    """A value :func:`_j` wrote; ValueError for text with anything before or after it."""
    if ".inf" in text or ".nan" in text:
        text = _FROM_YAML.sub(lambda m: _TO_JSON.get(m.group(), m.group()), text)
    value, end = _DECODER.raw_decode(text)
    if end != len(text):
        raise ValueError(text)
    return value


def _artifact_lines(a: Artifact, indent: str) -> list[str]:
    items = list(a.to_json().items())
    first_key, first_value = items[0]
    lines = [f"{indent}- {first_key}: {_j(first_value)}"]
    lines += [f"{indent}  {k}: {_j(v)}" for k, v in items[1:]]
    return lines


def dump_lock(lock: Lock) -> str:
    out = [HEADER.rstrip("\n"), f"version: {LOCK_VERSION}", "stages:"]
    if not lock.stages:
        out[-1] = "stages: {}"
    for stage_id in sorted(lock.stages):
        block = lock.blocks.get(stage_id)
        if block is None:
            block = lock.blocks[stage_id] = _stage_block(stage_id, lock.stages[stage_id])
        out.append(block)
    out.append("")
    out.append("data:" + (" []" if not lock.data else ""))
    for path in sorted(lock.data):
        out += _artifact_lines(lock.data[path], "  ")
    return "\n".join(out) + "\n"


def _stage_block(stage_id: str, rec: StageRecord) -> str:
    """One stage's block of the lock file (after a blank line)."""
    out = [""]
    out.append(f"  {_j(stage_id)}:")
    out.append(f"    cmd: {_j(rec.cmd)}")
    out.append("    deps:" + (" []" if not rec.deps else ""))
    for a in sorted(rec.deps, key=lambda a: a.path):
        out += _artifact_lines(a, "      ")
    out.append("    params:" + (" {}" if not rec.params else ""))
    for f in sorted(rec.params):
        values = rec.params[f]
        out.append(f"      {_j(f)}:" + (" {}" if not values else ""))
        out += [f"        {_j(k)}: {_j(values[k])}" for k in sorted(values)]
    out.append("    outs:" + (" []" if not rec.outs else ""))
    for a in sorted(rec.outs, key=lambda a: a.path):
        out += _artifact_lines(a, "      ")
    return "\n".join(out)


class LockFileError(MlreproError):
    pass


_RESTORE = "restore it with `git checkout -- mlrepro.lock`"


def parse_lock(text: str, path: str = LOCK_FILE) -> Lock:
    """The lock file ``text`` (read from ``path``, named in errors): the one place that
    chooses how to read it (see the module's notes).

    The fast reader, :func:`parse_layout`, reads a file in the layout :func:`dump_lock`
    writes; its lock is taken when dump_lock writes exactly ``text`` for it, and a file
    whose entries it finds malformed is refused as such. Anything else (a hand edit,
    a damaged layout) is read by the reference, :func:`parse_lock_yaml`."""
    try:
        lock = _to_lock(parse_layout(text), path)
    except NotTheLayout:
        pass
    else:
        # the blocks dump_lock formats are kept in the lock: the next write_lock reuses them
        if dump_lock(lock) == text:
            return lock
    return _to_lock(parse_lock_yaml(text, path), path)


def parse_lock_yaml(text: str, path: str = LOCK_FILE) -> Any:
    """The lock file's document read as YAML 1.2 by ruamel, as DVC reads its files: the
    reference reader, for any text; LockFileError for text that is not YAML."""
    try:
        return parse_yaml(text, path)
    except MlreproError as exc:
        raise LockFileError(exc.message, hint=_RESTORE) from None
    except (RecursionError, TypeError, ValueError) as exc:
        raise LockFileError(f"{path}: unreadable ({type(exc).__name__})", hint=_RESTORE) from None


def _to_lock(raw: Any, path: str) -> Lock:
    """The lock a parsed document describes; LockFileError naming ``path`` if it is none."""
    if raw is None:
        return Lock()
    if not isinstance(raw, dict):
        raise LockFileError(f"{path}: expected a mapping at the top level")
    version = raw.get("version")
    if type(version) is not int or version != LOCK_VERSION:
        raise LockFileError(
            f"{path}: unsupported lock file version {version!r} "
            f"(this mlrepro reads version {LOCK_VERSION})",
            hint="upgrade mlrepro",
        )
    try:
        stages_raw = raw.get("stages") or {}
        if not isinstance(stages_raw, dict) or not all(isinstance(k, str) for k in stages_raw):
            raise ValueError("stage ids must be strings")
        stages = {k: StageRecord.from_json(v) for k, v in stages_raw.items()}
        data = {a.path: a for a in (Artifact.from_json(d) for d in raw.get("data") or [])}
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError, RecursionError) as exc:
        raise LockFileError(f"{path}: malformed entry ({exc})", hint=_RESTORE) from None
    return Lock(stages=stages, data=data)


class NotTheLayout(ValueError):
    """The text is not in the layout :func:`dump_lock` writes (:func:`parse_layout`)."""


def parse_layout(text: str) -> dict[str, Any]:
    """The document of a lock file in the layout :func:`dump_lock` writes, read line by
    line, each value with ``json.loads``; NotTheLayout for most other text. For what
    dump_lock writes it gives what :func:`parse_lock_yaml` gives
    (``tests/workspace/test_lockfile.py``); text it reads but dump_lock would not
    write is caught by :func:`parse_lock`."""
    try:
        return _parse_layout(text)
    except (ValueError, KeyError, IndexError, TypeError, RecursionError) as exc:
        raise NotTheLayout(str(exc)[:80]) from None


def _parse_layout(text: str) -> dict[str, Any]:
    lines = [ln for ln in text.split("\n") if ln.strip() and not ln.startswith("#")]
    if not lines or not lines[0].startswith("version: "):
        raise ValueError("not the canonical layout")
    result: dict[str, Any] = {"version": _loads(lines[0][9:])}
    i = 1
    if lines[i] == "stages: {}":
        result["stages"] = {}
        i += 1
    elif lines[i] == "stages:":
        stages: dict[str, Any] = {}
        i += 1
        while i < len(lines) and lines[i].startswith("  ") and not lines[i].startswith("   "):
            name = _loads(lines[i].strip()[:-1])
            i += 1
            record: dict[str, Any] = {}
            while (
                i < len(lines) and lines[i].startswith("    ") and not lines[i].startswith("     ")
            ):
                key, _, rest = lines[i].strip().partition(":")
                rest = rest.strip()
                i += 1
                if key == "cmd":
                    record["cmd"] = _loads(rest)
                elif key in ("deps", "outs"):
                    items, i = _parse_items(lines, i, "      ", rest)
                    record[key] = items
                elif key == "params":
                    params: dict[str, Any] = {}
                    if rest != "{}":
                        if rest:
                            raise ValueError(rest)
                        while (
                            i < len(lines)
                            and lines[i].startswith("      ")
                            and not lines[i].startswith("       ")
                        ):
                            fname_part = lines[i].strip()
                            empty = fname_part.endswith(": {}")
                            fname = _loads(fname_part[:-4] if empty else fname_part[:-1])
                            i += 1
                            values: dict[str, Any] = {}
                            while not empty and i < len(lines) and lines[i].startswith("        "):
                                k, v = _split_kv(lines[i].strip())
                                values[k] = v
                                i += 1
                            params[fname] = values
                    record["params"] = params
                else:
                    raise ValueError(key)
            stages[name] = record
        result["stages"] = stages
    else:
        raise ValueError(lines[i])
    if i < len(lines):
        key, _, rest = lines[i].partition(":")
        if key != "data":
            raise ValueError(key)
        items, i = _parse_items(lines, i + 1, "  ", rest.strip())
        result["data"] = items
    if i != len(lines):
        raise ValueError("trailing content")
    return result


def _split_kv(s: str) -> tuple[str, Any]:
    # keys are JSON strings (quoted) in params, bare words elsewhere
    if s.startswith('"'):
        key, end = _DECODER.raw_decode(s)
        rest = s[end:]
        if not rest.startswith(": "):
            raise ValueError(s)
        return key, _loads(rest[2:])
    k, sep, v = s.partition(": ")
    if not sep:
        raise ValueError(s)
    return k, _loads(v)


def _parse_items(
    lines: list[str], i: int, indent: str, rest: str
) -> tuple[list[dict[str, Any]], int]:
    items: list[dict[str, Any]] = []
    if rest == "[]":
        return items, i
    if rest:
        raise ValueError(rest)
    while i < len(lines) and lines[i].startswith(indent + "- "):
        k, v = _split_kv(lines[i][len(indent) + 2 :])
        item = {k: v}
        i += 1
        while (
            i < len(lines)
            and lines[i].startswith(indent + "  ")
            and not lines[i].startswith(indent + "  -")
        ):
            k, v = _split_kv(lines[i][len(indent) + 2 :])
            item[k] = v
            i += 1
        items.append(item)
    return items, i


def read_lock(root: str) -> Lock:
    path = os.path.join(root, LOCK_FILE)
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        return Lock()
    return parse_lock(text, LOCK_FILE)


def write_lock(root: str, lock: Lock) -> None:
    atomic_write(os.path.join(root, LOCK_FILE), dump_lock(lock).encode("utf-8"))
