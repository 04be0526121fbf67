"""``mlrepro remote`` in real repositories: adding, modifying, removing remotes and
choosing the default; what each change writes, what is refused and leaves every file as
it was, and what the audit log records. Credentials: tests/ops/test_config.py."""

from __future__ import annotations

import dataclasses
import json

import pytest

from mlrepro.ops.config import SettingChange
from mlrepro.ops.remotes import (
    Remote,
    RemoteAdded,
    RemoteRemoved,
    add_remote,
    remotes,
    remove_remote,
    set_default,
)
from mlrepro.workspace.project import Project
from tests.ops.conftest import Proj
from tests.ops.test_config import LOCAL, changes, files, project_json, refused

# -- remotes ------------------------------------------------------------------------------


def test_remote_add_list_and_default(proj: Proj) -> None:
    proj.ok("remote", "add", "-d", "store", "/mnt/shared/cache")
    doc = project_json(proj)
    assert doc["remotes"] == {"store": {"url": "/mnt/shared/cache"}}
    assert doc["core"] == {"remote": "store"}
    assert not (proj.root / LOCAL).exists()
    proj.ok("remote", "add", "backup", "s3://bucket/path")
    assert project_json(proj)["remotes"]["backup"] == {"url": "s3://bucket/path"}
    assert project_json(proj)["core"] == {"remote": "store"}
    listing = proj.ok("remote", "list").stdout.splitlines()
    assert listing == ["backup\ts3://bucket/path", "store\t/mnt/shared/cache\t(default)"]
    assert proj.ok("remote", "default").stdout == "store\n"
    assert proj.ok("config", "core.remote").stdout == "store\n"
    assert proj.ok("config", "remote.backup.url").stdout == "s3://bucket/path\n"
    # the default moves
    proj.ok("remote", "default", "backup")
    assert project_json(proj)["core"] == {"remote": "backup"}
    assert proj.ok("remote", "default").stdout == "backup\n"
    log = changes(proj)
    assert [(e["action"], e["details"]["name"]) for e in log] == [
        ("remote.add", "store"),
        ("remote.add", "backup"),
        ("remote.default", "core.remote"),
    ]
    assert log[0]["details"] == {
        "name": "store",
        "scope": "project",
        "url": "/mnt/shared/cache",
        "default": True,
    }
    assert log[1]["details"]["default"] is False
    assert log[2]["details"] == {
        "name": "core.remote",
        "scope": "project",
        "old": "store",
        "new": "backup",
    }


@pytest.mark.slow
def test_remote_add_of_an_existing_name_needs_force_and_names_are_checked(proj: Proj) -> None:
    proj.ok("remote", "add", "-d", "store", "/mnt/a")
    proj.ok("remote", "modify", "store", "region", "eu")
    proc = refused(proj, "remote", "add", "store", "/mnt/b")
    assert "already exists" in proc.stderr
    for name in ("../x", "a b", "-x", ".hidden", "x/y", ""):
        proc = refused(proj, "remote", "add", "--", name, "/mnt/c")
        assert "invalid remote name" in proc.stderr
    assert proj.ok("remote", "list").stdout == "store\t/mnt/a\t(default)\n"
    # --force replaces the remote whole (its options go with it)
    proj.ok("remote", "add", "-f", "store", "/mnt/b")
    assert project_json(proj)["remotes"] == {"store": {"url": "/mnt/b"}}
    assert project_json(proj)["core"] == {"remote": "store"}
    last = changes(proj)[-1]
    assert last["action"] == "remote.add"
    assert last["details"]["replaced"] == {"url": "/mnt/a", "region": "eu"}
    assert last["details"]["url"] == "/mnt/b"
    assert len(changes(proj)) == 3  # add, modify, add -f: the refusals left nothing


@pytest.mark.slow
def test_remote_modify_and_unset_an_option(proj: Proj) -> None:
    proj.ok("remote", "add", "store", "s3://bucket/p")
    proj.ok("remote", "modify", "store", "region", "eu-west-1")
    proj.ok("remote", "modify", "store", "endpointurl", "https://minio.local:9000")
    assert project_json(proj)["remotes"]["store"] == {
        "url": "s3://bucket/p",
        "region": "eu-west-1",
        "endpointurl": "https://minio.local:9000",
    }
    assert proj.ok("config", "remote.store.region").stdout == "eu-west-1\n"
    proj.ok("remote", "modify", "store", "region", "us-east-1")
    proj.ok("remote", "modify", "--unset", "store", "endpointurl")
    assert project_json(proj)["remotes"]["store"] == {"url": "s3://bucket/p", "region": "us-east-1"}
    proj.ok("remote", "modify", "store", "url", "s3://bucket/q")
    assert proj.ok("remote", "list").stdout == "store\ts3://bucket/q\n"
    # refusals
    proc = refused(proj, "remote", "modify", "nosuch", "region", "eu")
    assert "nosuch" in proc.stderr
    refused(proj, "remote", "modify", "--unset", "store", "endpointurl")  # not set
    refused(proj, "remote", "modify", "--unset", "store", "url")  # a remote needs one
    refused(proj, "remote", "modify", "store", "Bad-Option", "1")
    assert [
        (e["details"]["name"], e["details"]["old"], e["details"]["new"]) for e in changes(proj)[1:]
    ] == [
        ("remote.store.region", None, "eu-west-1"),
        ("remote.store.endpointurl", None, "https://minio.local:9000"),
        ("remote.store.region", "eu-west-1", "us-east-1"),
        ("remote.store.endpointurl", "https://minio.local:9000", None),
        ("remote.store.url", "s3://bucket/p", "s3://bucket/q"),
    ]
    assert {e["action"] for e in changes(proj)[1:]} == {"remote.modify"}
    assert {e["details"]["scope"] for e in changes(proj)} == {"project"}


@pytest.mark.slow
def test_remote_remove_clears_the_default(proj: Proj) -> None:
    proj.ok("remote", "add", "-d", "store", "/mnt/a")
    proj.ok("remote", "add", "backup", "/mnt/b")
    proj.ok("remote", "modify", "--local", "store", "secret_access_key", "k3y-of-store")
    proj.ok("remote", "remove", "store")
    doc = project_json(proj)
    assert doc["remotes"] == {"backup": {"url": "/mnt/b"}}
    assert "core" not in doc
    # the local options of the removed remote went with it
    assert "store" not in json.loads(proj.read(LOCAL)).get("remotes", {})
    assert proj.ok("remote", "list").stdout == "backup\t/mnt/b\n"
    proc = proj.fails("remote", "default")
    assert "no default remote" in proc.stderr
    proj.fails("config", "core.remote")
    refused(proj, "remote", "remove", "store")
    refused(proj, "remote", "remove", "nosuch")
    # removing a remote that is not the default leaves the default alone
    proj.ok("remote", "default", "backup")
    proj.ok("remote", "add", "third", "/mnt/c")
    proj.ok("remote", "remove", "third")
    assert project_json(proj)["core"] == {"remote": "backup"}
    removals = [e["details"] for e in changes(proj) if e["action"] == "remote.remove"]
    assert removals == [
        {"name": "store", "scope": "project", "url": "/mnt/a", "was_default": True},
        {"name": "third", "scope": "project", "url": "/mnt/c", "was_default": False},
    ]


@pytest.mark.slow
def test_default_remote_must_be_a_remote(proj: Proj) -> None:
    proj.ok("remote", "add", "store", "/mnt/a")
    proc = refused(proj, "config", "core.remote", "nosuch")
    assert "nosuch" in proc.stderr and "not a remote" in proc.stderr
    refused(proj, "remote", "default", "nosuch")
    refused(proj, "config", "--local", "core.remote", "nosuch")
    refused(proj, "remote", "add", "-d", "bad name", "/mnt/b")
    assert "core" not in project_json(proj)
    proj.ok("config", "core.remote", "store")
    assert proj.ok("remote", "default").stdout == "store\n"
    proj.ok("remote", "default", "--unset")
    assert "core" not in project_json(proj)
    refused(proj, "remote", "default", "--unset")  # nothing to unset
    assert [(e["action"], e["details"]["old"], e["details"]["new"]) for e in changes(proj)[1:]] == [
        ("config.set", None, "store"),
        ("remote.default", "store", None),
    ]


def test_a_local_default_does_not_let_config_json_name_a_missing_remote(proj: Proj) -> None:
    proj.ok("remote", "add", "store", "/mnt/a")
    proj.ok("remote", "add", "--local", "-d", "mine", "/mnt/m")
    assert proj.ok("remote", "default").stdout == "mine\n"
    # config.json is committed: on a clone without this config.local its default is
    # the one in force, so it must name a remote of config.json's own
    before = files(proj)
    proj.fails("config", "core.remote", "nosuch")
    proj.fails("remote", "default", "nosuch")
    assert files(proj) == before
    assert "core" not in project_json(proj)


def test_the_use_cases_return_frozen_results(proj: Proj) -> None:
    project = Project.find(str(proj.root))
    try:
        added = add_remote(project, "store", "/mnt/a", default=True)
        assert added == RemoteAdded("store", "/mnt/a", False, True, False)
        with pytest.raises(dataclasses.FrozenInstanceError):
            added.url = "/mnt/b"  # type: ignore[misc]
        again = add_remote(project, "store", "/mnt/b", force=True)
        assert again == RemoteAdded("store", "/mnt/b", False, False, True)
        assert add_remote(project, "mine", "/mnt/m", local=True).local
        assert remotes(project).remotes == (
            Remote("mine", "/mnt/m", False),
            Remote("store", "/mnt/b", True),
        )
        assert remotes(project).default == "store"
        assert set_default(project, "mine", local=True) == SettingChange(
            "core.remote", None, "mine", True
        )
        assert remotes(project).default == "mine"
        assert remove_remote(project, "mine", local=True) == RemoteRemoved(
            "mine", "/mnt/m", True, True
        )
        assert remove_remote(project, "store") == RemoteRemoved("store", "/mnt/b", False, True)
        assert remotes(project).remotes == () and remotes(project).default is None
    finally:
        project.close()
    assert [e["action"] for e in changes(proj)] == [
        "remote.add",
        "remote.add",
        "remote.add",
        "remote.default",
        "remote.remove",
        "remote.remove",
    ]
