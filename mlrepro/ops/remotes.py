"""``mlrepro remote``: name the remote caches, choose the default, and record each change.

Changes go through :class:`mlrepro.ops.config.ConfigEdit`, with the same checks, audit
entries (``remote.add``, ``remote.modify``, ``remote.remove``, ``remote.default``) and
refusal of credentials bound for the committed ``config.json``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlrepro.errors import MlreproError
from mlrepro.ops.config import (
    ConfigEdit,
    SettingChange,
    check_committable,
    logged_value,
    scope_name,
    set_value,
    unset_value,
)
from mlrepro.secrets import redact_value
from mlrepro.workspace import config as cfg
from mlrepro.workspace.project import Project
from mlrepro.workspace.repolock import RepoLock


@dataclass(frozen=True, slots=True)
class RemoteAdded:
    name: str
    url: str
    local: bool
    default: bool  # it became the default remote
    replaced: bool  # a remote of that name was there (``force``)


@dataclass(frozen=True, slots=True)
class RemoteRemoved:
    name: str
    url: str | None
    local: bool
    was_default: bool  # the default named it, and no longer does


@dataclass(frozen=True, slots=True)
class Remote:
    name: str
    url: str
    default: bool


@dataclass(frozen=True, slots=True)
class Remotes:
    remotes: tuple[Remote, ...]  # sorted by name

    @property
    def default(self) -> str | None:
        return next((r.name for r in self.remotes if r.default), None)


def add_remote(
    project: Project,
    name: str,
    url: str,
    *,
    default: bool = False,
    local: bool = False,
    force: bool = False,
) -> RemoteAdded:
    if not cfg.REMOTE_NAME.match(name):
        raise MlreproError(
            f"invalid remote name '{name}'", hint="use letters, digits, '_', '.' and '-'"
        )
    check_committable(("remotes", name, "url"), url, local, "remote.add")
    with RepoLock(project.state_dir):
        edit = ConfigEdit(project, local)
        remotes = edit.data.setdefault("remotes", {})
        known = name in remotes or name in edit.other.get("remotes", {})
        if known and not force:
            raise MlreproError(
                f"remote '{name}' already exists",
                hint="use --force to replace it, or `mlrepro remote modify`",
            )
        old = remotes.get(name)
        remotes[name] = {"url": url}
        if default:
            edit.data.setdefault("core", {})["remote"] = name
        details: dict[str, Any] = {
            "name": name,
            "scope": scope_name(local),
            "url": redact_value(url),
            "default": default,
        }
        if old is not None:
            details["replaced"] = {k: logged_value(("remotes", name, k), v) for k, v in old.items()}
        edit.save("remote.add", details)
    return RemoteAdded(name, url, local, default, old is not None)


def remove_remote(project: Project, name: str, *, local: bool = False) -> RemoteRemoved:
    with RepoLock(project.state_dir):
        edit = ConfigEdit(project, local)
        remotes = edit.data.get("remotes", {})
        if name not in remotes:
            where = "config.local" if local else "config.json"
            raise MlreproError(
                f"remote '{name}' is not in .mlrepro/{where}",
                hint="see `mlrepro remote list`" + ("" if local else " (or try --local)"),
            )
        old = remotes.pop(name)
        # a default naming it goes too, and so do its options in config.local when the
        # project's remote is removed (unless config.local defines it whole, with a url)
        cleared = False
        for doc in (edit.data, edit.other):
            if doc.get("core", {}).get("remote") == name:
                cfg.unset_path(doc, ("core", "remote"))
                cleared = True
        if not local and "url" not in edit.other.get("remotes", {}).get(name, {"url": ""}):
            cfg.unset_path(edit.other, ("remotes", name))
        edit.save(
            "remote.remove",
            {
                "name": name,
                "scope": scope_name(local),
                "url": redact_value(old.get("url")),
                "was_default": cleared,
            },
            removal=True,
        )
    return RemoteRemoved(name, old.get("url"), local, cleared)


def set_default(project: Project, name: str | None, *, local: bool = False) -> SettingChange:
    if name is None:
        return unset_value(project, "core.remote", local=local, action="remote.default")
    return set_value(project, "core.remote", name, local=local, action="remote.default")


def remotes(project: Project) -> Remotes:
    """Every remote in force, by name."""
    config = cfg.read_config(project.root)
    return Remotes(
        tuple(
            Remote(name, str(options.get("url", "")), name == config.default_remote)
            for name, options in sorted(config.remotes.items())
        )
    )
