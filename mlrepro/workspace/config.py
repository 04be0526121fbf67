"""``.mlrepro/config.json``: reading and validating the project configuration."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

from mlrepro.errors import MlreproError

CONFIG_VERSION = 1
LINK_TYPES = ("reflink", "hardlink", "symlink", "copy")
DEFAULT_LINK_TYPES = ("reflink", "copy")


@dataclass(frozen=True, slots=True)
class Config:
    link_types: tuple[str, ...] = DEFAULT_LINK_TYPES
    remotes: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "version": CONFIG_VERSION,
            "cache": {"type": list(self.link_types)},
            "remotes": self.remotes,
        }


def config_path(root: str) -> str:
    return os.path.join(root, ".mlrepro", "config.json")


def read_config(root: str) -> Config:
    """The project's configuration; defaults when the project was never initialised."""
    path = config_path(root)
    rel = os.path.relpath(path, root)
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        return Config()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise MlreproError(
            f"{rel}: invalid JSON: {exc}", hint="fix the file or rerun `mlrepro init --force`"
        ) from None

    def bad(what: str) -> MlreproError:
        return MlreproError(f"{rel}: {what}", hint="fix the file or rerun `mlrepro init --force`")

    if not isinstance(data, dict):
        raise bad("expected a JSON object")
    version = data.get("version")
    if version != CONFIG_VERSION:
        raise MlreproError(
            f"{rel}: unsupported config version {version!r} "
            f"(this mlrepro reads version {CONFIG_VERSION})",
            hint="upgrade mlrepro, or rerun `mlrepro init --force` to write a version it knows",
        )
    unknown = sorted(set(data) - {"version", "cache", "remotes"})
    if unknown:
        raise bad(f"unknown key '{unknown[0]}'")
    cache = data.get("cache", {})
    if not isinstance(cache, dict) or set(cache) - {"type"}:
        raise bad("'cache' must be an object with only 'type'")
    types = cache.get("type", list(DEFAULT_LINK_TYPES))
    if not isinstance(types, list) or not types or any(t not in LINK_TYPES for t in types):
        raise bad(f"'cache.type' must be a non-empty list drawn from {', '.join(LINK_TYPES)}")
    remotes = data.get("remotes", {})
    if not isinstance(remotes, dict):
        raise bad("'remotes' must be an object")
    return Config(link_types=tuple(types), remotes=remotes)
