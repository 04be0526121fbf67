"""``mlrepro config``: read and change the configuration, and record each change.

Every change is checked as a whole first (a change that would leave the
configuration invalid is refused and writes nothing), recorded in the audit log
(``config.set``, ``config.unset``; ``remote.modify`` and ``remote.default`` when
``mlrepro remote`` changes a setting through here; the entry is durable before the
change, as for every action), then written atomically. Entries hold the old and new values;
values of options whose names say secret are recorded as ``***``, and URLs lose their user
information. Credentials are refused in the committed ``config.json``: they go in
``config.local`` (``--local``). What counts as one is :mod:`mlrepro.secrets`'s call, the
detector the audit log masks with: nothing config.json may hold is masked in the log.

:class:`ConfigEdit` is the one way to change either file; :mod:`mlrepro.ops.remotes`
edits the remotes through it too.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from mlrepro.audit.recorder import Recorder
from mlrepro.errors import MlreproError
from mlrepro.fsutil import atomic_write
from mlrepro.secrets import MASK, holds_secret, is_credential, redact_value
from mlrepro.workspace import config as cfg
from mlrepro.workspace.project import Project
from mlrepro.workspace.repolock import RepoLock


@dataclass(frozen=True, slots=True)
class SettingChange:
    name: str
    old: Any
    new: Any
    local: bool


def scope_name(local: bool) -> str:
    return "local" if local else "project"


def logged_value(path: tuple[str, ...], value: Any) -> Any:
    """A value as the audit log may hold it."""
    if value is None:
        return None
    if is_credential(path[-1], value):
        return MASK
    return redact_value(value)


def _display(path: tuple[str, ...]) -> str:
    return ".".join(("remote", *path[1:]) if path[0] == "remotes" else path)


def _local_hint(path: tuple[str, ...], action: str) -> str:
    """The command that stores the same setting in config.local."""
    if action == "remote.modify" and path[0] == "remotes":
        command = f"mlrepro remote modify --local {path[1]} {path[2]} VALUE"
    elif action == "remote.add" and path[0] == "remotes":
        command = f"mlrepro remote add --local {path[1]} URL"
    else:
        command = f"mlrepro config --local {_display(path)} VALUE"
    return (
        f"store it on this machine only: `{command}` (.mlrepro/config.local is gitignored), "
        "or in the storage client's own configuration or environment"
    )


def check_committable(path: tuple[str, ...], value: Any, local: bool, action: str) -> None:
    """Refuse a credential bound for config.json: by its option's name (a flag such as
    ``ask_password true`` or a scheme such as ``auth basic`` is none) or in the value
    itself (URL user information, a signed URL, a token, a private key)."""
    if local:
        return
    name = _display(path)
    if is_credential(path[-1], value):
        raise MlreproError(
            f"'{name}' looks like a credential, and .mlrepro/config.json is committed",
            hint=_local_hint(path, action),
        )
    if holds_secret(value):
        raise MlreproError(
            f"the value of '{name}' holds a credential (URL user information, a signature, "
            "a token or a private key), and .mlrepro/config.json is committed",
            hint=_local_hint(path, action),
        )


def _committed_credentials(doc: dict[str, Any]) -> list[str]:
    """The settings of config.json that hold a credential: put there by hand, or by an
    mlrepro that let them through."""
    return [
        name
        for name, value in cfg.flatten(doc).items()
        if is_credential(cfg.split_name(name)[-1], value) or holds_secret(value)
    ]


def _move_hint(name: str) -> str:
    if name.endswith(".url"):
        first = f"`mlrepro config {name} URL` with a URL that holds no credential"
    else:
        first = f"`mlrepro config --unset {name}`"
    return (
        f"take it out first: {first}, then `mlrepro config --local {name} VALUE` "
        "(and rotate the credential if that file was ever pushed)"
    )


class ConfigEdit:
    """One edit of one of the two files, under the repository lock."""

    def __init__(self, project: Project, local: bool) -> None:
        self.project = project
        self.local = local
        self.data = cfg.read_raw(project.root, local=local)  # the file being edited
        self.other = cfg.read_raw(project.root, local=not local)
        self._before = (
            json.dumps(self.data, sort_keys=True),
            json.dumps(self.other, sort_keys=True),
        )
        self._leaked = set(_committed_credentials(self.other if local else self.data))

    def save(self, action: str, details: dict[str, Any], *, removal: bool = False) -> None:
        """Check the two files together, record the change in the audit log (durable
        before the change, as for every action), then write each file that changed.
        A credential already in config.json blocks every change but a removal or one
        that takes a credential out (the way out, one setting at a time, in any order)."""
        project_doc = self.other if self.local else self.data
        local_doc = self.data if self.local else self.other
        for doc, is_local in ((project_doc, False), (local_doc, True)):
            rel = os.path.relpath(
                cfg.config_path(self.project.root, local=is_local), self.project.root
            )
            cfg.validate(doc, rel, local=is_local)
        cfg.check_merged(project_doc, local_doc)
        leaked = [] if self.local or removal else _committed_credentials(project_doc)
        if leaked and not set(leaked) < self._leaked:
            raise MlreproError(
                f".mlrepro/config.json holds a credential in '{leaked[0]}', and it is committed",
                hint=_move_hint(leaked[0]),
            )
        audit = Recorder(self.project.root, self.project.state_dir)
        try:
            audit.record(action, details, flush=True)
        finally:
            audit.close()
        for doc, is_local, before in (
            (self.data, self.local, self._before[0]),
            (self.other, not self.local, self._before[1]),
        ):
            if json.dumps(doc, sort_keys=True) != before:
                text = json.dumps(doc, indent=2, sort_keys=True) + "\n"
                path = cfg.config_path(self.project.root, local=is_local)
                atomic_write(path, text.encode("utf-8"))


def get(project: Project, name: str) -> Any:
    return cfg.get_path(cfg.read_merged(project.root), cfg.split_name(name))


@dataclass(frozen=True, slots=True)
class Listing:
    settings: tuple[tuple[str, Any], ...]  # (dotted name, value), in the file's order


def listing(project: Project, *, local: bool | None = None) -> Listing:
    """Every setting in force (or of one file: ``local`` True/False)."""
    if local is None:
        flat = cfg.flatten(cfg.read_merged(project.root))
    else:
        flat = cfg.flatten(cfg.read_raw(project.root, local=local))
    return Listing(tuple(flat.items()))


def set_value(
    project: Project, name: str, value: str, *, local: bool = False, action: str = "config.set"
) -> SettingChange:
    path = cfg.split_name(name)
    parsed = cfg.parse_value(path, value)
    check_committable(path, parsed, local, action)
    with RepoLock(project.state_dir):
        edit = ConfigEdit(project, local)
        old = cfg.get_path(edit.data, path)
        cfg.set_path(edit.data, path, parsed)
        details = {
            "name": name,
            "scope": scope_name(local),
            "old": logged_value(path, old),
            "new": logged_value(path, parsed),
        }
        edit.save(action, details)
    return SettingChange(name, old, parsed, local)


def unset_value(
    project: Project, name: str, *, local: bool = False, action: str = "config.unset"
) -> SettingChange:
    path = cfg.split_name(name)
    with RepoLock(project.state_dir):
        edit = ConfigEdit(project, local)
        old = cfg.get_path(edit.data, path)
        if not cfg.unset_path(edit.data, path):
            where = cfg.config_path(project.root, local=local)
            raise MlreproError(
                f"'{name}' is not set in {os.path.relpath(where, project.root)}",
                hint="see `mlrepro config --list`" + ("" if local else " (or try --local)"),
            )
        edit.save(
            action,
            {"name": name, "scope": scope_name(local), "old": logged_value(path, old), "new": None},
            removal=True,
        )
    return SettingChange(name, old, None, local)
