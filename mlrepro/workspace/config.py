"""``.mlrepro/config.json`` and ``.mlrepro/config.local``: reading, validating, editing.

``config.json`` is committed and shared; ``config.local`` (same format, any subset of
it) is gitignored and overrides it key by key on this machine only: credentials and
personal choices go there. Settings are named as in DVC: ``cache.type``,
``core.remote`` (the default remote), ``remote.<name>.<option>`` (``url`` and any
options the storage client takes).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from typing import Any

from mlrepro.errors import MlreproError

CONFIG_VERSION = 1
LINK_TYPES = ("reflink", "hardlink", "symlink", "copy")
DEFAULT_LINK_TYPES = ("reflink", "copy")
REMOTE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
OPTION_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
HINT = "fix the file, or use `mlrepro config` / `mlrepro remote` to change it"


@dataclass(frozen=True, slots=True)
class Config:
    link_types: tuple[str, ...] = DEFAULT_LINK_TYPES
    remotes: dict[str, dict[str, Any]] = field(default_factory=dict)
    default_remote: str | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "version": CONFIG_VERSION,
            "cache": {"type": list(self.link_types)},
            "remotes": self.remotes,
        }
        if self.default_remote is not None:
            data["core"] = {"remote": self.default_remote}
        return data


def config_path(root: str, *, local: bool = False) -> str:
    return os.path.join(root, ".mlrepro", "config.local" if local else "config.json")


def read_raw(root: str, *, local: bool = False) -> dict[str, Any]:
    """One of the two files as written, validated (an absent file is empty)."""
    path = config_path(root, local=local)
    rel = os.path.relpath(path, root)
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        return {} if local else {"version": CONFIG_VERSION}
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise MlreproError(f"{rel}: invalid JSON: {exc}", hint=HINT) from None
    validate(data, rel, local=local)
    return data  # type: ignore[no-any-return]


def validate(data: Any, rel: str, *, local: bool) -> None:
    def bad(what: str) -> MlreproError:
        return MlreproError(f"{rel}: {what}", hint=HINT)

    if not isinstance(data, dict):
        raise bad("expected a JSON object")
    version = data.get("version", None if not local else CONFIG_VERSION)
    if version != CONFIG_VERSION:
        raise MlreproError(
            f"{rel}: unsupported config version {version!r} "
            f"(this mlrepro reads version {CONFIG_VERSION})",
            hint="upgrade mlrepro, or rerun `mlrepro init --force` to write a version it knows",
        )
    unknown = sorted(set(data) - {"version", "cache", "core", "remotes"})
    if unknown:
        raise bad(f"unknown key '{unknown[0]}'")
    cache = data.get("cache", {})
    if not isinstance(cache, dict) or set(cache) - {"type"}:
        raise bad("'cache' must be an object with only 'type'")
    if "type" in cache:
        types = cache["type"]
        if not isinstance(types, list) or not types or any(t not in LINK_TYPES for t in types):
            raise bad(f"'cache.type' must be a non-empty list drawn from {', '.join(LINK_TYPES)}")
    core = data.get("core", {})
    if not isinstance(core, dict) or set(core) - {"remote"}:
        raise bad("'core' must be an object with only 'remote'")
    if "remote" in core and not (
        isinstance(core["remote"], str) and REMOTE_NAME.match(core["remote"])
    ):
        raise bad("'core.remote' must be a remote's name")
    remotes = data.get("remotes", {})
    if not isinstance(remotes, dict):
        raise bad("'remotes' must be an object")
    for name, options in remotes.items():
        if not REMOTE_NAME.match(name):
            raise bad(f"invalid remote name '{name}' (letters, digits, '_', '.', '-')")
        if not isinstance(options, dict):
            raise bad(f"remote '{name}' must be an object of options")
        for option, value in options.items():
            if not OPTION_NAME.match(option):
                raise bad(f"remote '{name}': invalid option name '{option}'")
            if not isinstance(value, str | int | float | bool):
                raise bad(f"remote '{name}': option '{option}' must be a string, number or boolean")
        if not local and "url" not in options:
            raise bad(f"remote '{name}' has no 'url'")


def merged(project: dict[str, Any], local: dict[str, Any]) -> dict[str, Any]:
    """The project file with the local one laid over it, option by option."""
    out: dict[str, Any] = json.loads(json.dumps(project))
    for section in ("cache", "core"):
        if section in local:
            out.setdefault(section, {}).update(local[section])
    for name, options in local.get("remotes", {}).items():
        out.setdefault("remotes", {}).setdefault(name, {}).update(options)
    return out


def read_config(root: str) -> Config:
    """The configuration in force: defaults, then config.json, then config.local."""
    if not os.path.exists(config_path(root)) and not os.path.exists(config_path(root, local=True)):
        return Config()
    data = check_merged(read_raw(root), read_raw(root, local=True))
    return Config(
        link_types=tuple(data.get("cache", {}).get("type", DEFAULT_LINK_TYPES)),
        remotes=data.get("remotes", {}),
        default_remote=data.get("core", {}).get("remote"),
    )


def read_merged(root: str) -> dict[str, Any]:
    """Both files as read, config.local over config.json (not checked together)."""
    return merged(read_raw(root), read_raw(root, local=True))


def check_merged(project: dict[str, Any], local: dict[str, Any]) -> dict[str, Any]:
    """The two files merged, checked as a whole: every remote has a url, and each
    default names a remote where its file is in force (:func:`check_defaults`)."""
    data = merged(project, local)
    for name, options in data.get("remotes", {}).items():
        if "url" not in options:
            raise MlreproError(
                f".mlrepro/config.local: remote '{name}' has no 'url' in either file", hint=HINT
            )
    check_defaults(project, local)
    return data


def check_defaults(project: dict[str, Any], local: dict[str, Any]) -> None:
    """The default remote of each file must exist where that file is in force: the
    committed one among its own remotes (a clone has no config.local), the local one
    among both files' remotes."""
    for doc, rel, remotes in (
        (project, "config.json", project.get("remotes", {})),
        (local, "config.local", merged(project, local).get("remotes", {})),
    ):
        default = doc.get("core", {}).get("remote")
        if default is not None and default not in remotes:
            where = "config.json" if doc is project else "either file"
            raise MlreproError(
                f".mlrepro/{rel}: 'core.remote' names '{default}', "
                f"which is not a remote of {where}",
                hint="add that remote there first (`mlrepro remote add`), or unset the default"
                " (`mlrepro remote default --unset`)",
            )


# -- settings by name ----------------------------------------------------------------


def split_name(name: str) -> tuple[str, ...]:
    """``cache.type`` -> ("cache", "type"); ``remote.<name>.<option>`` -> ("remotes",
    name, option); an unknown name is an error."""
    if name in ("cache.type", "core.remote"):
        return tuple(name.split("."))
    if name.startswith("remote."):
        rest = name[len("remote.") :]
        remote, dot, option = rest.rpartition(".")
        if dot and REMOTE_NAME.match(remote) and OPTION_NAME.match(option):
            return ("remotes", remote, option)
    raise MlreproError(
        f"unknown setting '{name}'",
        hint="settings are cache.type, core.remote and remote.<name>.<option>",
    )


def parse_value(path: tuple[str, ...], value: str) -> Any:
    if path == ("cache", "type"):
        types = [t.strip() for t in value.split(",") if t.strip()]
        if not types or any(t not in LINK_TYPES for t in types):
            raise MlreproError(
                f"invalid cache.type '{value}'",
                hint=f"a comma-separated list drawn from {', '.join(LINK_TYPES)}",
            )
        return types
    return value


def get_path(data: dict[str, Any], path: tuple[str, ...]) -> Any:
    node: Any = data
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def set_path(data: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    node = data
    for part in path[:-1]:
        node = node.setdefault(part, {})
    node[path[-1]] = value


def unset_path(data: dict[str, Any], path: tuple[str, ...]) -> bool:
    """Remove the setting (and sections it leaves empty); whether it was there."""
    parents = [data]
    for part in path[:-1]:
        child = parents[-1].get(part)
        if not isinstance(child, dict):
            return False
        parents.append(child)
    if path[-1] not in parents[-1]:
        return False
    del parents[-1][path[-1]]
    for depth in range(len(path) - 1, 0, -1):
        if parents[depth] or path[:depth] == ("remotes",):
            break
        del parents[depth - 1][path[depth - 1]]
    return True


def flatten(data: dict[str, Any]) -> dict[str, Any]:
    """Every setting of a config document by its name."""
    out: dict[str, Any] = {}
    if "type" in data.get("cache", {}):
        out["cache.type"] = ",".join(data["cache"]["type"])
    if "remote" in data.get("core", {}):
        out["core.remote"] = data["core"]["remote"]
    for name, options in sorted(data.get("remotes", {}).items()):
        for option, value in sorted(options.items()):
            out[f"remote.{name}.{option}"] = value
    return out
