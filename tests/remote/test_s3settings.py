"""Where an S3 remote's keys, endpoint and region come from (mlrepro/remote/s3.py, the
module's notes): each from the first place that has it, the secrets in use known so that
no message shows them. Files are written under tmp_path and HOME points there, so the
real ~/.aws is never read."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from mlrepro.remote.base import RemoteError
from mlrepro.remote.open import open_backend
from mlrepro.remote.s3 import _profile, s3_settings
from tests.s3server import FAKE_KEY, FAKE_SECRET, S3Server

OPT = {"access_key_id": "AKIAOPTIONS000000000", "secret_access_key": "option-secret"}
ENV_KEYS = {"AWS_ACCESS_KEY_ID": "AKIAENVIRON000000000", "AWS_SECRET_ACCESS_KEY": "env-secret"}


def ini(path: Path, sections: dict[str, dict[str, str]]) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(
        f"[{name}]\n" + "".join(f"{k} = {v}\n" for k, v in values.items()) + "\n"
        for name, values in sections.items()
    )
    path.write_text(text)
    return str(path)


def keys(name: str) -> dict[str, str]:
    """A profile's keys, named after it."""
    return {
        "aws_access_key_id": f"AKIA{name.upper():0<16}"[:20],
        "aws_secret_access_key": f"{name}-secret",
    }


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A home whose ~/.aws holds the profiles "default" and "named" (credentials) and
    "other" (config)."""
    ini(
        tmp_path / ".aws" / "credentials",
        {"default": keys("default"), "named": keys("named")},
    )
    ini(
        tmp_path / ".aws" / "config",
        {
            "default": {"region": "eu-west-1"},
            "profile named": {"region": "eu-north-1", "endpoint_url": "https://named.example"},
            "profile other": {**keys("other"), "region": "ap-south-1"},
        },
    )
    return tmp_path


def env_of(home: Path, **more: str) -> dict[str, str]:
    return {"HOME": str(home), **more}


def key_id(config: dict[str, Any]) -> str | None:
    value = config.get("access_key_id")
    return None if value is None else str(value)


# -- keys -------------------------------------------------------------------------------


def test_remote_keys_win_over_everything(home: Path) -> None:
    options = {**OPT, "session_token": "option-token", "profile": "named"}
    env = env_of(home, AWS_PROFILE="other", **ENV_KEYS)
    config, _, secrets = s3_settings(options, env)
    assert key_id(config) == OPT["access_key_id"]
    assert config["secret_access_key"] == "option-secret"
    assert config["session_token"] == "option-token"
    assert {"option-secret", "option-token"} <= set(secrets)


def test_named_profile_wins_over_environment_keys(home: Path) -> None:
    env = env_of(home, AWS_PROFILE="other", **ENV_KEYS)
    config, _, secrets = s3_settings({"profile": "named"}, env)
    assert key_id(config) == keys("named")["aws_access_key_id"]
    assert config["secret_access_key"] == "named-secret"
    assert "named-secret" in secrets


def test_environment_keys_win_over_aws_profile(home: Path) -> None:
    env = env_of(home, AWS_PROFILE="other", AWS_SESSION_TOKEN="env-token", **ENV_KEYS)
    config, _, secrets = s3_settings({}, env)
    # left to the client, which reads the environment itself
    assert "access_key_id" not in config
    assert "secret_access_key" not in config
    assert {"env-secret", "env-token"} <= set(secrets)
    assert "other-secret" not in secrets
    # the profile still gives what the environment does not: the region
    assert config["region"] == "ap-south-1"


def test_aws_profile_without_environment_keys(home: Path) -> None:
    config, _, secrets = s3_settings({}, env_of(home, AWS_PROFILE="other"))
    assert key_id(config) == keys("other")["aws_access_key_id"]
    assert "other-secret" in secrets


def test_default_profile_last(home: Path) -> None:
    config, _, secrets = s3_settings({}, env_of(home))
    assert key_id(config) == keys("default")["aws_access_key_id"]
    assert config["region"] == "eu-west-1"
    assert secrets == [keys("default")["aws_access_key_id"], "default-secret"]


def test_no_keys_anywhere(tmp_path: Path) -> None:
    config, client, secrets = s3_settings({}, env_of(tmp_path))
    assert config == {"region": "us-east-1"}
    assert client == {}
    assert secrets == []


def test_profile_session_token_is_used_and_secret(tmp_path: Path) -> None:
    ini(
        tmp_path / ".aws" / "credentials",
        {"p": {**keys("p"), "aws_session_token": "profile-token"}},
    )
    config, _, secrets = s3_settings({"profile": "p"}, env_of(tmp_path))
    assert config["session_token"] == "profile-token"
    assert {"p-secret", "profile-token"} <= set(secrets)


def test_a_named_profile_without_keys_leaves_them_to_the_environment(home: Path) -> None:
    ini(home / ".aws" / "config", {"profile bare": {"region": "sa-east-1"}})
    env = env_of(home, **ENV_KEYS)
    config, _, secrets = s3_settings({"profile": "bare"}, env)
    assert "access_key_id" not in config
    assert config["region"] == "sa-east-1"
    assert "env-secret" in secrets


# -- endpoint, region, http -------------------------------------------------------------

ENDPOINTS = [
    ("endpointurl", "http://option.example:9000"),
    ("AWS_ENDPOINT_URL_S3", "http://s3env.example"),
    ("AWS_ENDPOINT_URL", "https://env.example"),
    ("profile", "https://named.example"),
]


@pytest.mark.parametrize("first", range(len(ENDPOINTS)))
def test_endpoint_precedence(home: Path, first: int) -> None:
    """With every source from ``first`` on set, the endpoint is ``first``'s."""
    options: dict[str, Any] = {"profile": "named"}
    env = env_of(home)
    for source, value in ENDPOINTS[first:]:
        if source == "endpointurl":
            options[source] = value
        elif source != "profile":  # the profile "named" has one
            env[source] = value
    config, client, _ = s3_settings(options, env)
    expected = ENDPOINTS[first][1]
    assert config["endpoint"] == expected
    assert client.get("allow_http", False) is expected.startswith("http://")


def test_no_endpoint_means_aws(home: Path) -> None:
    config, client, _ = s3_settings({}, env_of(home))
    assert "endpoint" not in config
    assert "allow_http" not in client


def test_allow_http_only_for_http(tmp_path: Path) -> None:
    for endpoint, allowed in (
        ("http://127.0.0.1:9000", True),
        ("https://127.0.0.1:9000", False),
        ("https://http.example", False),
    ):
        _, client, _ = s3_settings({"endpointurl": endpoint}, env_of(tmp_path))
        assert client.get("allow_http", False) is allowed, endpoint


REGIONS = [
    ("region", "ca-central-1"),
    ("AWS_REGION", "us-west-2"),
    ("AWS_DEFAULT_REGION", "us-west-1"),
    ("profile", "eu-north-1"),
    ("fallback", "us-east-1"),
]


@pytest.mark.parametrize("first", range(len(REGIONS)))
def test_region_precedence(home: Path, first: int) -> None:
    options: dict[str, Any] = {"profile": "none-such"}  # not "default", which has one
    env = env_of(home)
    for source, value in REGIONS[first:]:
        if source == "region":
            options[source] = value
        elif source == "profile":
            options["profile"] = "named"
        elif source != "fallback":
            env[source] = value
    config, _, _ = s3_settings(options, env)
    assert config["region"] == REGIONS[first][1]


def test_timeouts(tmp_path: Path) -> None:
    _, client, _ = s3_settings({"connect_timeout": 3, "read_timeout": "2.5"}, env_of(tmp_path))
    assert client == {"connect_timeout": timedelta(seconds=3), "timeout": timedelta(seconds=2.5)}


# -- the files --------------------------------------------------------------------------


def test_credentials_file_wins_over_config_file(tmp_path: Path) -> None:
    ini(
        tmp_path / ".aws" / "config",
        {
            "profile p": {
                "aws_access_key_id": "AKIAFROMCONFIG000000",
                "aws_secret_access_key": "config-secret",
                "region": "eu-south-1",
            }
        },
    )
    ini(
        tmp_path / ".aws" / "credentials",
        {"p": {"aws_secret_access_key": "credentials-secret", "region": "eu-south-2"}},
    )
    found = _profile("p", "~/.aws/credentials", "~/.aws/config", env_of(tmp_path))
    assert found == {
        "aws_access_key_id": "AKIAFROMCONFIG000000",  # only the config file has it
        "aws_secret_access_key": "credentials-secret",
        "region": "eu-south-2",
    }


def test_section_names(tmp_path: Path) -> None:
    """``[profile NAME]`` (or ``[default]``) in the config file, ``[NAME]`` in the
    credentials file; the other spellings are not the profile."""
    config = ini(
        tmp_path / "config",
        {
            "default": {"region": "r-default"},
            "p": {"region": "r-bare-in-config"},
            "profile q": {"region": "r-q"},
        },
    )
    credentials = ini(
        tmp_path / "credentials",
        {"profile p": {"aws_secret_access_key": "wrong"}, "q": {"aws_secret_access_key": "q-s"}},
    )
    env = env_of(tmp_path)
    assert _profile("p", credentials, config, env) == {}
    assert _profile("q", credentials, config, env) == {
        "region": "r-q",
        "aws_secret_access_key": "q-s",
    }
    assert _profile("default", credentials, config, env) == {"region": "r-default"}
    assert _profile("missing", credentials, config, env) == {}


def test_missing_and_unreadable_files(tmp_path: Path) -> None:
    env = env_of(tmp_path)
    assert _profile("default", str(tmp_path / "no"), str(tmp_path / "nope"), env) == {}
    bad = tmp_path / "bad"
    bad.write_text("this is not an ini file\n[unclosed\n")
    (tmp_path / "folder").mkdir()
    assert _profile("default", str(bad), str(tmp_path / "folder"), env) == {}
    config, _, secrets = s3_settings(
        {"credentialpath": str(bad), "configpath": str(tmp_path / "folder")}, env
    )
    assert config == {"region": "us-east-1"}
    assert secrets == []


def test_environment_file_paths(tmp_path: Path) -> None:
    credentials = ini(tmp_path / "elsewhere" / "creds", {"default": keys("envfile")})
    config = ini(tmp_path / "elsewhere" / "conf", {"default": {"region": "me-south-1"}})
    ini(tmp_path / ".aws" / "credentials", {"default": keys("home")})
    env = env_of(tmp_path, AWS_SHARED_CREDENTIALS_FILE=credentials, AWS_CONFIG_FILE=config)
    got, _, secrets = s3_settings({}, env)
    assert key_id(got) == keys("envfile")["aws_access_key_id"]
    assert got["region"] == "me-south-1"
    assert "envfile-secret" in secrets


def test_remote_file_paths_win_over_environment_paths(tmp_path: Path) -> None:
    mine = ini(tmp_path / "mine" / "creds", {"default": keys("mine")})
    my_config = ini(tmp_path / "mine" / "conf", {"default": {"region": "af-south-1"}})
    theirs = ini(tmp_path / "theirs" / "creds", {"default": keys("theirs")})
    their_config = ini(tmp_path / "theirs" / "conf", {"default": {"region": "il-central-1"}})
    env = env_of(tmp_path, AWS_SHARED_CREDENTIALS_FILE=theirs, AWS_CONFIG_FILE=their_config)
    got, _, _ = s3_settings({"credentialpath": mine, "configpath": my_config}, env)
    assert key_id(got) == keys("mine")["aws_access_key_id"]
    assert got["region"] == "af-south-1"


def test_tilde_paths_are_below_home(tmp_path: Path) -> None:
    ini(tmp_path / "my" / "creds", {"default": keys("tilde")})
    got, _, _ = s3_settings({"credentialpath": "~/my/creds"}, env_of(tmp_path))
    assert key_id(got) == keys("tilde")["aws_access_key_id"]


def test_secrets_list_every_secret_in_use(home: Path) -> None:
    env = env_of(home, AWS_SESSION_TOKEN="env-token", **ENV_KEYS)
    for options, expected in (
        ({**OPT, "session_token": "opt-token"}, {"option-secret", "opt-token"}),
        ({"profile": "named"}, {"named-secret"}),
        ({}, {"env-secret", "env-token"}),
    ):
        _, _, secrets = s3_settings(options, env)
        assert expected <= set(secrets), options
        assert "" not in secrets


# -- end to end -------------------------------------------------------------------------


def test_profile_credentials_against_moto(
    s3_server: S3Server,
    s3_env: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bucket = s3_server.new_bucket()  # (boto3, before its environment changes)
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("HOME", str(tmp_path))
    credentials = ini(
        tmp_path / "aws" / "credentials",
        {"moto": {"aws_access_key_id": FAKE_KEY, "aws_secret_access_key": FAKE_SECRET}},
    )
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", credentials)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws" / "no-config"))
    monkeypatch.setenv("AWS_PROFILE", "moto")
    options = {"url": f"s3://{bucket}/p", "retries": 0, "connect_timeout": 2}
    config, _, secrets = s3_settings(options, os.environ)
    assert key_id(config) == FAKE_KEY
    assert FAKE_SECRET in secrets
    backend = open_backend("r", options, str(tmp_path))
    backend.write("files/k", b"through the profile")
    assert backend.read("files/k") == b"through the profile"
    assert list(backend.list("files")) == ["files/k"]


# -- what the client sends (a stub endpoint that records each request's headers) -------


@dataclass
class Stub:
    endpoint: str
    seen: list[dict[str, str]]  # each request's headers (names in lower case)
    reply: list[tuple[int, bytes]]  # the status and body every request gets: reply[0]


class _Recorder(BaseHTTPRequestHandler):
    stub: Stub

    def do_PUT(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        self.stub.seen.append({k.lower(): v for k, v in self.headers.items()})
        status, body = self.stub.reply[0]
        self.send_response(status)
        self.send_header("ETag", '"0"')
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def stub(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Stub]:
    """An endpoint that answers every PUT as told (200 unless told otherwise) and records
    its headers; an environment with no AWS settings but a home of its own."""
    stub = Stub("", [], [(200, b"")])
    server = ThreadingHTTPServer(("127.0.0.1", 0), type("Recorder", (_Recorder,), {"stub": stub}))
    stub.endpoint = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    for name in (
        *("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"),
        *("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"),
        *("AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE", "AWS_REGION"),
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    try:
        yield stub
    finally:
        server.shutdown()
        server.server_close()


def _put(endpoint: str, tmp_path: Path, **options: Any) -> None:
    all_options = {"url": "s3://bucket/p", "endpointurl": endpoint, "retries": 0, **options}
    open_backend("r", all_options, str(tmp_path)).write("k", b"x")


def test_an_error_echoing_the_credentials_never_shows_them(
    stub: Stub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server whose error repeats the keys it was sent (as S3's SignatureDoesNotMatch
    repeats the key id): the remote's own keys, and the environment's."""
    planted = {"access_key_id": "AKIAPLANTED000000000", "secret_access_key": "planted-secret-9"}
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "env-secret-value-42")
    echo = " ".join([*planted.values(), "env-secret-value-42"])
    stub.reply[0] = (403, f"<Error><Code>SignatureDoesNotMatch</Code>{echo}</Error>".encode())
    with pytest.raises(RemoteError) as info:
        _put(stub.endpoint, tmp_path, **planted)
    text = str(info.value)
    assert "403" in text
    assert "***" in text  # the body was shown, masked
    for secret in (*planted.values(), "env-secret-value-42"):
        assert secret not in text
        assert secret not in repr(info.value)


def test_requests_are_signed_with_the_chosen_keys(
    stub: Stub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoint, seen = stub.endpoint, stub.seen
    ini(tmp_path / ".aws" / "credentials", {"default": keys("default"), "named": keys("named")})
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ENV_KEYS["AWS_ACCESS_KEY_ID"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", ENV_KEYS["AWS_SECRET_ACCESS_KEY"])
    _put(endpoint, tmp_path)  # the environment's keys
    _put(endpoint, tmp_path, profile="named")
    _put(endpoint, tmp_path, **OPT)
    signers = [h["authorization"].split("Credential=")[1].split("/")[0] for h in seen]
    assert signers == [
        ENV_KEYS["AWS_ACCESS_KEY_ID"],
        keys("named")["aws_access_key_id"],
        OPT["access_key_id"],
    ]


@pytest.mark.parametrize("source", ["options", "profile"])
def test_environment_token_not_mixed_with_other_keys(
    stub: Stub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str
) -> None:
    endpoint, seen = stub.endpoint, stub.seen
    ini(tmp_path / ".aws" / "credentials", {"named": keys("named")})
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ENV_KEYS["AWS_ACCESS_KEY_ID"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", ENV_KEYS["AWS_SECRET_ACCESS_KEY"])
    monkeypatch.setenv("AWS_SESSION_TOKEN", "token-of-the-environment-keys")
    if source == "options":
        _put(endpoint, tmp_path, **OPT)
    else:
        _put(endpoint, tmp_path, profile="named")
    assert len(seen) == 1
    assert "x-amz-security-token" not in seen[0]
