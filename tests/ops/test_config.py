"""``mlrepro config`` in real repositories: what each change writes (and to which file),
what is refused and leaves every file as it was, and what the audit log records (old and
new values, secrets masked, URLs redacted). The checks and the audit entries are shared
with ``mlrepro remote`` (tests/ops/test_remotes.py), so credentials are checked through
both commands here."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.ops.conftest import Proj, git_env, xxh_file

CONFIG = ".mlrepro/config.json"
LOCAL = ".mlrepro/config.local"
ACTIONS = (
    "config.set",
    "config.unset",
    "remote.add",
    "remote.modify",
    "remote.remove",
    "remote.default",
)


def entries(proj: Proj) -> list[dict[str, Any]]:
    doc = json.loads(proj.ok("audit", "log", "--json").stdout)
    assert doc["version"] == 1
    return doc["entries"]  # type: ignore[no-any-return]


def changes(proj: Proj) -> list[dict[str, Any]]:
    """The configuration entries, oldest first."""
    return [e for e in reversed(entries(proj)) if e["action"] in ACTIONS]


def project_json(proj: Proj) -> dict[str, Any]:
    doc = json.loads(proj.read(CONFIG))
    assert isinstance(doc, dict) and doc["version"] == 1
    return doc


def files(proj: Proj) -> tuple[bytes, bytes | None]:
    """The bytes of config.json and config.local (None when absent)."""
    local = proj.root / LOCAL
    return (proj.root / CONFIG).read_bytes(), local.read_bytes() if local.exists() else None


def refused(proj: Proj, *args: str) -> subprocess.CompletedProcess[str]:
    """``mlrepro ARGS`` fails (exit 1, one ``error:`` line), leaves both files byte for
    byte as they were, and records nothing."""
    before = files(proj)
    n = len(entries(proj))
    proc = proj.fails(*args)
    assert [line for line in proc.stderr.splitlines() if line.startswith("error:")], proc.stderr
    assert len([line for line in proc.stderr.splitlines() if line.startswith("error:")]) == 1
    assert files(proj) == before, args
    assert len(entries(proj)) == n, args
    return proc


def every_git_object(proj: Proj) -> bytes:
    """The contents of every object in the repository's object database (the audit
    ref's commits, trees and blobs among them)."""
    proc = subprocess.run(
        ["git", "cat-file", "--batch-all-objects", "--batch"],
        cwd=proj.root,
        capture_output=True,
        check=True,
        env=git_env(),
    )
    return proc.stdout


def audit_blobs(proj: Proj) -> list[str]:
    """Every entry blob under refs/mlrepro/audit, as ``git cat-file -p`` prints it."""
    names = proj.git("ls-tree", "-r", "--name-only", "refs/mlrepro/audit").split()
    assert names
    return [proj.git("cat-file", "-p", f"refs/mlrepro/audit:{n}") for n in names]


# -- credentials --------------------------------------------------------------------------


@pytest.mark.slow
def test_credentials_go_to_config_local_and_never_into_the_audit_log(proj: Proj) -> None:
    secret = "wJalrXUtnFEMI-K7MDENG-bPxRfiCY"
    password = "hunter2pw"
    proj.ok("remote", "add", "-d", "store", "s3://bucket/path")
    # refused in the committed file: nothing written, nothing recorded
    proc = refused(proj, "remote", "modify", "store", "secret_access_key", secret)
    assert "credential" in proc.stderr and "--local" in proc.stderr
    refused(proj, "config", "remote.store.password", password)
    proc = refused(proj, "remote", "add", "x", f"s3://user:{password}@bucket/p")
    assert "credential" in proc.stderr
    refused(proj, "remote", "modify", "store", "url", f"https://bob:{password}@host/p")
    assert secret not in proj.read(CONFIG) and password not in proj.read(CONFIG)
    # with --local they go to config.local
    proj.ok("remote", "modify", "--local", "store", "secret_access_key", secret)
    proj.ok("remote", "add", "--local", "x", f"s3://user:{password}@bucket/p")
    assert json.loads(proj.read(LOCAL)) == {
        "remotes": {
            "store": {"secret_access_key": secret},
            "x": {"url": f"s3://user:{password}@bucket/p"},
        }
    }
    assert secret not in proj.read(CONFIG) and password not in proj.read(CONFIG)
    assert project_json(proj)["remotes"] == {"store": {"url": "s3://bucket/path"}}
    # config --list shows both files merged; --project only config.json
    listing = proj.ok("config", "--list").stdout.splitlines()
    assert f"remote.store.secret_access_key={secret}" in listing
    assert "remote.store.url=s3://bucket/path" in listing
    assert f"remote.x.url=s3://user:{password}@bucket/p" in listing
    assert "core.remote=store" in listing
    project_only = proj.ok("config", "--list", "--project").stdout
    assert secret not in project_only and password not in project_only
    local_only = proj.ok("config", "--list", "--local").stdout.splitlines()
    assert sorted(local_only) == sorted(
        [f"remote.store.secret_access_key={secret}", f"remote.x.url=s3://user:{password}@bucket/p"]
    )
    # config.local is never committed
    proj.commit("config")
    assert LOCAL not in proj.git("ls-files").split()
    # unsetting the secret is recorded masked too
    proj.ok("config", "--local", "--unset", "remote.store.secret_access_key")
    assert secret not in proj.read(LOCAL)

    log = changes(proj)
    assert [e["action"] for e in log] == [
        "remote.add",
        "remote.modify",
        "remote.add",
        "config.unset",
    ]
    assert log[1]["details"] == {
        "name": "remote.store.secret_access_key",
        "scope": "local",
        "old": None,
        "new": "***",
    }
    assert log[2]["details"]["url"] == "s3://***@bucket/p"
    assert log[2]["details"]["scope"] == "local"
    assert log[3]["details"]["old"] == "***" and log[3]["details"]["new"] is None
    # nowhere in the log: not in its JSON, its blobs, any git object, the pending file
    whole = proj.ok("audit", "log", "--json").stdout + proj.ok("audit", "log").stdout
    for blob in audit_blobs(proj):
        assert secret not in blob and password not in blob
    pending = proj.root / ".mlrepro/audit/pending.jsonl"
    everything = every_git_object(proj) + (pending.read_bytes() if pending.exists() else b"")
    for value in (secret, password):
        assert value not in whole
        assert value.encode() not in everything
    assert f"user:{password}@".encode() not in everything
    proj.ok("audit", "verify")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("option", "value", "secret"),
    [
        ("account_key", "c2VjcmV0QXp1cmVBY2NvdW50S2V5", "c2VjcmV0QXp1cmVBY2NvdW50S2V5"),
        (
            "sse_customer_key",
            "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3",
            "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3",
        ),
        (
            "connection_string",
            "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=c2VjcmV0QXp1cmVLZXk=",
            "c2VjcmV0QXp1cmVLZXk",
        ),
    ],
    ids=["account_key", "sse_customer_key", "connection_string"],
)
def test_dvc_credential_options_are_treated_as_credentials(
    proj: Proj, option: str, value: str, secret: str
) -> None:
    proj.ok("remote", "add", "store", "azure://container/path")
    proc = refused(proj, "remote", "modify", "store", option, value)  # config.json is committed
    assert "credential" in proc.stderr
    proj.ok("remote", "modify", "--local", "store", option, value)
    assert json.loads(proj.read(LOCAL))["remotes"]["store"][option] == value
    entry = changes(proj)[-1]
    assert entry["action"] == "remote.modify" and entry["details"]["scope"] == "local"
    assert secret not in json.dumps(entry["details"])


PEM = (
    "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcw\n-----END PRIVATE KEY-----\n"
)
SAS_SIG = "AbCdEf0123456789abcdef%2FGhIj%3D"
HF_TOKEN = "hf_aBcDeFgHiJkLmNoPqRsTuVwXyZaBcDeFgH"


@pytest.mark.slow
def test_the_detector_decides_what_config_json_refuses(proj: Proj) -> None:
    """Issue 15: `remote modify NAME key|sas|keyfile_json ...`, signed URLs, Hugging Face
    tokens and private keys were accepted into the committed config; settings that are
    no credential (a scheme, a flag, a path to a key file) still are."""
    proj.ok("remote", "add", "store", "azure://container/path")
    account = json.dumps({"type": "service_account", "private_key": PEM})
    signed = f"https://acct.blob.core.windows.net/c?sv=2022-11-02&sp=rl&sig={SAS_SIG}"
    for option, value, secret in (
        ("key", "k3y-0f-the-store-42", "k3y-0f-the-store-42"),
        ("sas", f"sv=2022-11-02&ss=b&sig={SAS_SIG}", SAS_SIG),
        ("keyfile_json", account, "MIIEvQIBADANBgkqhkiG9w0B"),
        ("endpointurl", signed, SAS_SIG),
        ("user", HF_TOKEN, HF_TOKEN),
        (
            "notify",
            "https://hooks.slack.com/services/T0AB/B0CD/abcdefghijklmnopqrstuvwx",
            "abcdefgh",
        ),
    ):
        proc = refused(proj, "remote", "modify", "store", option, value)
        assert "credential" in proc.stderr and ".mlrepro/config.json" in proc.stderr, option
        # the hint is the command that keeps it on this machine; the value is never echoed
        assert f"mlrepro remote modify --local store {option} VALUE" in proc.stderr, option
        assert secret not in proc.stderr and secret not in proc.stdout, option
        proj.ok("remote", "modify", "--local", "store", option, value)
        assert json.loads(proj.read(LOCAL))["remotes"]["store"][option] == value
        entry = changes(proj)[-1]
        assert entry["details"]["scope"] == "local"
        assert secret not in json.dumps(entry), option
    proc = refused(proj, "remote", "add", "signed", signed)
    assert "mlrepro remote add --local signed URL" in proc.stderr and SAS_SIG not in proc.stderr
    proc = refused(proj, "config", "remote.store.key", "another-k3y-value")
    assert "mlrepro config --local remote.store.key VALUE" in proc.stderr
    # DVC's settings that are no credential stay committable
    for option, value in (
        ("auth", "basic"),
        ("ask_password", "true"),
        ("keyfile", "~/.ssh/id_ed25519"),
        ("credentialpath", "~/.aws/credentials"),
        ("sse_kms_key_id", "alias/ml-cache"),
        ("custom_auth_header", "X-Api-Key"),
    ):
        proj.ok("remote", "modify", "store", option, value)
        assert project_json(proj)["remotes"]["store"][option] == value
    assert SAS_SIG not in proj.read(CONFIG) and HF_TOKEN not in proj.read(CONFIG)
    proj.ok("audit", "verify")


@pytest.mark.slow
def test_a_credential_already_in_config_json_blocks_changes_until_taken_out(proj: Proj) -> None:
    secret, password = "k3y-written-by-hand", "hunter2pw"
    proj.write(
        CONFIG,
        json.dumps(
            {
                "version": 1,
                "remotes": {
                    "store": {"url": "s3://bucket/p", "key": secret},
                    "mirror": {"url": f"https://al:{password}@example.org/c"},
                },
            }
        ),
    )
    proc = refused(proj, "remote", "modify", "store", "region", "eu-west-1")
    assert "config.json holds a credential in 'remote.mirror.url'" in proc.stderr
    assert "mlrepro config remote.mirror.url URL" in proc.stderr
    assert secret not in proc.stderr and password not in proc.stderr
    refused(proj, "config", "cache.type", "copy")
    # the way out: one removal or clean value at a time, in any order, each recorded masked
    proj.ok("config", "remote.mirror.url", "https://example.org/c")
    proc = refused(proj, "remote", "modify", "mirror", "region", "eu")
    assert "'remote.store.key'" in proc.stderr
    assert "mlrepro config --unset remote.store.key" in proc.stderr
    proj.ok("config", "--unset", "remote.store.key")
    proj.ok("remote", "modify", "--local", "store", "key", secret)
    proj.ok("remote", "modify", "store", "region", "eu-west-1")
    assert project_json(proj)["remotes"] == {
        "store": {"url": "s3://bucket/p", "region": "eu-west-1"},
        "mirror": {"url": "https://example.org/c"},
    }
    log = changes(proj)
    assert [e["details"]["name"] for e in log] == [
        "remote.mirror.url",
        "remote.store.key",
        "remote.store.key",
        "remote.store.region",
    ]
    assert log[0]["details"]["old"] == "https://***@example.org/c"
    assert log[1]["details"]["old"] == "***" and log[2]["details"]["new"] == "***"
    whole = json.dumps(entries(proj))
    assert secret not in whole and password not in whole


# -- cache.type ----------------------------------------------------------------------------


@pytest.mark.slow
def test_cache_type_set_show_and_unset(proj: Proj) -> None:
    proj.write("raw/a.csv", "1,2\n")
    proj.ok("add", "raw")
    data = proj.root / "raw/a.csv"
    obj = proj.object_path(xxh_file(data))

    def checkout_fresh() -> Path:
        data.unlink()
        proj.ok("checkout")
        return data

    assert proj.ok("config", "cache.type").stdout == "reflink,copy\n"  # written by init
    proj.ok("config", "cache.type", "hardlink,copy")
    assert proj.ok("config", "cache.type").stdout == "hardlink,copy\n"
    assert project_json(proj)["cache"] == {"type": ["hardlink", "copy"]}
    assert "cache.type=hardlink,copy" in proj.ok("config", "--list").stdout.splitlines()
    assert checkout_fresh().stat().st_ino == obj.stat().st_ino  # a hard link to the object
    # refusals
    for bad in ("hardlink,bogus", "", "symlinks", ","):
        proc = refused(proj, "config", "cache.type", bad)
        assert "cache.type" in proc.stderr
    for name in ("foo.bar", "cache.typo", "core.remotes", "remote.x", "remote..url"):
        proc = refused(proj, "config", name, "1")
        assert "unknown setting" in proc.stderr
    # unset: back to the default link types (a copy, not a link to the object)
    proj.ok("config", "--unset", "cache.type")
    assert "cache" not in project_json(proj)
    assert not any(
        line.startswith("cache.type=") for line in proj.ok("config", "--list").stdout.splitlines()
    )
    fresh = checkout_fresh()
    assert fresh.stat().st_ino != obj.stat().st_ino and fresh.stat().st_nlink == 1
    assert fresh.read_text() == "1,2\n"
    proc = refused(proj, "config", "--unset", "cache.type")
    assert "not set" in proc.stderr
    refused(proj, "config", "--unset", "remote.nosuch.url")
    log = changes(proj)
    assert [(e["action"], e["details"]["old"], e["details"]["new"]) for e in log] == [
        ("config.set", ["reflink", "copy"], ["hardlink", "copy"]),
        ("config.unset", ["hardlink", "copy"], None),
    ]
    assert {e["details"]["name"] for e in log} == {"cache.type"}
    assert {e["details"]["scope"] for e in log} == {"project"}


def test_local_setting_overrides_the_project_one(proj: Proj) -> None:
    proj.ok("config", "--local", "cache.type", "copy")
    assert project_json(proj)["cache"] == {"type": ["reflink", "copy"]}
    assert json.loads(proj.read(LOCAL)) == {"cache": {"type": ["copy"]}}
    assert proj.ok("config", "cache.type").stdout == "copy\n"
    proj.ok("config", "--local", "--unset", "cache.type")
    assert proj.ok("config", "cache.type").stdout == "reflink,copy\n"
    refused(proj, "config", "--local", "--unset", "cache.type")
    log = changes(proj)
    assert [(e["action"], e["details"]["scope"]) for e in log] == [
        ("config.set", "local"),
        ("config.unset", "local"),
    ]
    assert log[0]["details"]["old"] is None and log[0]["details"]["new"] == ["copy"]


# -- the audit trail of a whole session ---------------------------------------------------------


@pytest.mark.slow
def test_every_change_is_one_entry_and_refusals_record_nothing(proj: Proj) -> None:
    steps: list[tuple[bool, tuple[str, ...]]] = [
        (True, ("remote", "add", "origin", "https://cache.example.com/p")),
        (False, ("remote", "add", "origin", "/elsewhere")),
        (True, ("remote", "add", "--local", "mine", "https://al:pa55w0rd@example.org/c")),
        (False, ("remote", "add", "creds", "https://al:pa55w0rd@example.org/c")),
        (True, ("remote", "modify", "origin", "timeout", "30")),
        (False, ("remote", "modify", "ghost", "timeout", "30")),
        (True, ("config", "cache.type", "symlink,copy")),
        (False, ("config", "cache.type", "teleport")),
        (True, ("remote", "default", "origin")),
        (False, ("remote", "default", "ghost")),
        (True, ("remote", "modify", "--unset", "origin", "timeout")),
        (True, ("config", "--unset", "cache.type")),
        (False, ("config", "--unset", "cache.type")),
        (True, ("remote", "remove", "--local", "mine")),
        (False, ("remote", "remove", "mine")),
    ]
    for good, args in steps:
        if good:
            proj.ok(*args)
        else:
            refused(proj, *args)
    log = changes(proj)
    assert len(log) == sum(good for good, _ in steps)
    assert [e["action"] for e in log] == [
        "remote.add",
        "remote.add",
        "remote.modify",
        "config.set",
        "remote.default",
        "remote.modify",
        "config.unset",
        "remote.remove",
    ]
    assert [e["details"]["scope"] for e in log] == [
        "project",
        "local",
        "project",
        "project",
        "project",
        "project",
        "project",
        "local",
    ]
    assert log[1]["details"]["url"] == "https://***@example.org/c"
    assert log[1]["details"]["default"] is False
    assert log[2]["details"] == {
        "name": "remote.origin.timeout",
        "scope": "project",
        "old": None,
        "new": "30",
    }
    assert log[4]["details"]["old"] is None and log[4]["details"]["new"] == "origin"
    assert log[7]["details"]["url"] == "https://***@example.org/c"
    assert log[7]["details"]["was_default"] is False
    # seq numbers are consecutive: nothing was recorded in between
    seqs = [e["seq"] for e in log]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    raw = proj.git("log", "-p", "refs/mlrepro/audit") + proj.ok("audit", "log", "--json").stdout
    assert "pa55w0rd" not in raw and "al:" not in raw
    proj.ok("audit", "verify")
    # what is left: config.json with origin as the default, config.local empty of remotes
    assert project_json(proj)["remotes"] == {"origin": {"url": "https://cache.example.com/p"}}
    assert project_json(proj)["core"] == {"remote": "origin"}
    assert proj.ok("remote", "list").stdout == "origin\thttps://cache.example.com/p\t(default)\n"


# -- a hand-broken file -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rel", "text", "what"),
    [
        (CONFIG, "{not json", "invalid JSON"),
        (CONFIG, '{"version": 1, "cahce": {"type": ["copy"]}}', "unknown key 'cahce'"),
        (CONFIG, '{"version": 1, "cache": {"type": ["teleport"]}}', "cache.type"),
        (CONFIG, '{"version": 1, "remotes": {"a": {}}}', "no 'url'"),
        (CONFIG, "[1, 2]", "JSON object"),
        (LOCAL, '{"remotes": {"a b": {"url": "/x"}}}', "invalid remote name"),
    ],
)
def test_a_hand_broken_config_is_a_one_line_error(
    proj: Proj, rel: str, text: str, what: str
) -> None:
    proj.ok("remote", "add", "store", "/mnt/a")
    proj.write(rel, text)
    for args in (("config", "--list"), ("config", "cache.type"), ("remote", "list")):
        proc = proj.fails(*args)
        errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1, proc.stderr
        assert errors[0].startswith(f"error: {rel}: ") and what in errors[0], proc.stderr
        assert proc.stdout == ""
    # a change is refused too, and the broken file is left as it was
    proc = proj.fails("config", "core.remote", "store")
    assert rel in proc.stderr
    assert proj.read(rel) == text


def test_the_use_cases_return_frozen_results(proj: Proj) -> None:
    from mlrepro.ops.config import Listing, SettingChange, listing, set_value, unset_value
    from mlrepro.workspace.project import Project

    project = Project.find(str(proj.root))
    try:
        change = set_value(project, "cache.type", "copy")
        assert isinstance(change, SettingChange)
        assert (change.name, change.new, change.local) == ("cache.type", ["copy"], False)
        assert set_value(project, "cache.type", "symlink", local=True).local
        assert ("cache.type", "symlink") in listing(project).settings
        assert ("cache.type", "copy") in listing(project, local=False).settings
        assert isinstance(listing(project), Listing)
        assert unset_value(project, "cache.type", local=True) == SettingChange(
            "cache.type", ["symlink"], None, True
        )
        assert ("cache.type", "copy") in listing(project).settings
    finally:
        project.close()
