"""``mlrepro config`` and ``mlrepro remote``."""

from __future__ import annotations

import json
from typing import Any

import click

from mlrepro.cli.common import project_at
from mlrepro.cli.group import Group
from mlrepro.errors import MlreproError
from mlrepro.ops import config as config_ops
from mlrepro.ops import remotes as remote_ops

LOCAL_HELP = "Change .mlrepro/config.local (this machine only, not committed)."


def _show(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    if isinstance(value, bool | int) or value is None:
        return json.dumps(value)
    return str(value)


@click.command()
@click.argument("name", required=False)
@click.argument("value", required=False)
@click.option("-u", "--unset", is_flag=True, help="Remove the setting.")
@click.option("-l", "--list", "list_", is_flag=True, help="Show every setting in force.")
@click.option("--local", is_flag=True, help=LOCAL_HELP)
@click.option("--project", "project_only", is_flag=True, help="With --list: config.json only.")
def config(
    name: str | None, value: str | None, unset: bool, list_: bool, local: bool, project_only: bool
) -> None:
    """Show or change a setting: cache.type, core.remote, remote.NAME.OPTION."""
    with project_at() as project:
        if list_:
            if name or value or unset:
                raise click.UsageError("--list takes no NAME, VALUE or --unset")
            scope = True if local else False if project_only else None
            for key, val in config_ops.listing(project, local=scope).settings:
                click.echo(f"{key}={_show(val)}")
            return
        if name is None:
            raise click.UsageError("name a setting, or use --list")
        if unset:
            if value is not None:
                raise click.UsageError("--unset takes no VALUE")
            config_ops.unset_value(project, name, local=local)
        elif value is None:
            found = config_ops.get(project, name)
            if found is None:
                raise MlreproError(f"'{name}' is not set", hint="see `mlrepro config --list`")
            click.echo(_show(found))
        else:
            config_ops.set_value(project, name, value, local=local)


@click.group(cls=Group)
def remote() -> None:
    """Name the remote caches this project pushes to and pulls from."""


@remote.command("add")
@click.argument("name")
@click.argument("url")
@click.option("-d", "--default", "default", is_flag=True, help="Make it the default remote.")
@click.option("-f", "--force", is_flag=True, help="Replace a remote of that name.")
@click.option("--local", is_flag=True, help=LOCAL_HELP)
def remote_add(name: str, url: str, default: bool, force: bool, local: bool) -> None:
    """Add a remote: a URL such as s3://bucket/path or /mnt/shared/cache."""
    with project_at() as project:
        remote_ops.add_remote(project, name, url, default=default, local=local, force=force)


@remote.command("modify")
@click.argument("name")
@click.argument("option")
@click.argument("value", required=False)
@click.option("-u", "--unset", is_flag=True, help="Remove the option.")
@click.option("--local", is_flag=True, help=LOCAL_HELP)
def remote_modify(name: str, option: str, value: str | None, unset: bool, local: bool) -> None:
    """Set (or --unset) one option of a remote, e.g. `endpointurl`, `region`."""
    with project_at() as project:
        if config_ops.get(project, f"remote.{name}.url") is None:
            raise MlreproError(f"no remote '{name}'", hint="see `mlrepro remote list`")
        setting = f"remote.{name}.{option}"
        if unset:
            config_ops.unset_value(project, setting, local=local, action="remote.modify")
        elif value is None:
            raise click.UsageError("give a VALUE, or --unset")
        else:
            config_ops.set_value(project, setting, value, local=local, action="remote.modify")


@remote.command("remove")
@click.argument("name")
@click.option("--local", is_flag=True, help=LOCAL_HELP)
def remote_remove(name: str, local: bool) -> None:
    """Remove a remote (and the default, if it was the default)."""
    with project_at() as project:
        remote_ops.remove_remote(project, name, local=local)


@remote.command("default")
@click.argument("name", required=False)
@click.option("--unset", is_flag=True, help="Have no default remote.")
@click.option("--local", is_flag=True, help=LOCAL_HELP)
def remote_default(name: str | None, unset: bool, local: bool) -> None:
    """Show, set or --unset the default remote."""
    with project_at() as project:
        if unset:
            remote_ops.set_default(project, None, local=local)
        elif name is None:
            found = remote_ops.remotes(project).default
            if found is None:
                raise MlreproError("no default remote", hint="mlrepro remote default NAME")
            click.echo(found)
        else:
            remote_ops.set_default(project, name, local=local)


@remote.command("list")
def remote_list() -> None:
    """List the remotes in force (config.json with config.local over it)."""
    with project_at() as project:
        for r in remote_ops.remotes(project).remotes:
            click.echo(f"{r.name}\t{r.url}" + ("\t(default)" if r.default else ""))
