"""What an entry may hold: credentials masked in text and under secret-looking keys."""

from __future__ import annotations

import hashlib
import json
import platform

from hypothesis import given
from hypothesis import strategies as st

from mlrepro.audit.entry import (
    MASK,
    EntryTemplate,
    clean,
    environment,
    is_secret_name,
    make_entry,
    platform_name,
    python_version,
    redact,
    redact_value,
)
from mlrepro.canonical import canonical_bytes, finite

SECRETS = st.text(st.sampled_from("abcdefXYZ0123456789"), min_size=6, max_size=20)


@given(SECRETS)
def test_credentials_in_commands_are_masked(secret: str) -> None:
    for text in (
        f"train.py --password={secret}",
        f"train.py --api-key {secret}",
        f"export AWS_SECRET_ACCESS_KEY={secret} && run",
        f"curl https://user:{secret}@example.com/data",
        f"client_secret: {secret}",
        f"DB_PASSWORD='{secret}' python x.py",
    ):
        masked = redact(text)
        assert secret not in masked, (text, masked)
        assert "***" in masked


def test_known_token_shapes_are_masked_anywhere() -> None:
    for token in (
        "AKIAIOSFODNN7EXAMPLE",
        "ghp_0123456789abcdefghijABCDEFGHIJ0123456789",
        "xoxb-1234567890-abcdefghij",
        "sk-ABCDEFGHIJKLMNOPQRSTUVWX",
    ):
        assert token not in redact(f"python run.py {token} done")


def test_ordinary_words_are_left_alone() -> None:
    for text in (
        "python train.py --tokenizer bert --max_tokens 512",
        "https://example.com/data.csv",
        "author=alice keyframes=10",
        "python evaluate.py forest",
    ):
        assert redact(text) == text


FRAGMENTS = st.sampled_from(
    [
        "--password=",
        "--API-Key ",
        "AWS_SECRET_ACCESS_KEY=",
        "https://u:",
        "@host/",
        "token: ",
        "AKIAIOSFODNN7EXAMPLE",
        "ghp_0123456789abcdefghijABCDEFGHIJ0123456789",
        "sk-ABCDEFGHIJKLMNOPQRSTUVWX",
        "eyJhbGciOiJIUzI1.eyJzdWIiOiIxMjM0.SflKxwRJSMeKKF2QT4",
        "xxh3-128:0123456789abcdef",
        "data/raw.csv",
        "PASSWORD=",
        "\u017fecret=",  # the long s: a case-blind regex matches it with "s"
        "credent\u0131al: ",  # the dotless i likewise
        " ",
        "=",
    ]
)


def test_values_under_secret_keys_are_masked() -> None:
    params = {"params.yaml": {"api_token": "xyz", "lr": 0.1, "db": {"password": "p", "host": "h"}}}
    assert redact_value(params) == {
        "params.yaml": {"api_token": "***", "lr": 0.1, "db": {"password": "***", "host": "h"}}
    }


def test_entries_mask_the_forms_of_issue_15_and_keep_the_run_key() -> None:
    # the detector of the lock file and the configuration, reached through this module
    hf = "hf_aBcDeFgHiJkLmNoPqRsTuVwXyZaBcDeFgH"
    pem = (
        "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n"
    )
    details = {
        "stage": "train",
        "cmd": f"python train.py --key k3y-value --auth=s3cr3t-auth --hf {hf} --lr 0.1",
        "run_key": "ab" * 32,
        "params": {
            "params.yaml": {"lr": 0.1, "max_tokens": 512, "tokenizer": "bert"},
            "secrets.yaml": {"sort_key": "id", "clientSecret": "c1ient-s3cret", "sa": pem},
        },
        "outs": [{"path": "models/model.pkl", "digest": "xxh3-128:" + "0" * 32}],
    }
    cleaned, data = clean(details)
    for secret in ("k3y-value", "s3cr3t-auth", hf, "c1ient-s3cret", "MIIEvQIBADANBgkqhkiG9w0B"):
        assert secret.encode() not in data, secret
    entry = json.loads(data)
    assert entry == cleaned
    assert entry["cmd"] == f"python train.py --key {MASK} --auth={MASK} --hf {MASK} --lr 0.1"
    assert entry["run_key"] == "ab" * 32
    assert entry["params"]["params.yaml"] == details["params"]["params.yaml"]  # type: ignore[index]
    assert entry["params"]["secrets.yaml"]["sort_key"] == "id"
    assert is_secret_name("clientSecret") and is_secret_name("key")
    assert not is_secret_name("sort_key") and not is_secret_name("max_tokens")
    assert (
        redact(f"curl -H 'Authorization: Bearer {hf[3:]}'")
        == f"curl -H 'Authorization: Bearer {MASK}'"
    )


def test_environment_holds_packages_not_variables(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("SUPER_SECRET_TOKEN", "value-that-must-not-leak")
    environment.cache_clear()
    env = environment()
    assert "value-that-must-not-leak" not in repr(env)
    assert set(env) == {"python", "implementation", "platform", "packages", "packages_sha256"}
    assert any(p.startswith("xxhash==") for p in env["packages"])


def test_platform_name_is_what_platform_says() -> None:
    assert platform_name() == platform.platform()
    assert environment()["platform"] == platform.platform()
    assert python_version() == platform.python_version() == environment()["python"]
    for version in (
        "3.11.7 (main, Dec  8 2023, 18:56:58) [GCC 12.2.0]",
        "3.13.0rc1 (main, Aug  1 2024, 10:00:00) [Clang 15.0.0 ]",
        "3.12.0a7+ (heads/main:abcdef, Apr  1 2023, 10:00:00) [GCC 11.3.0]",
    ):
        assert python_version(version) == platform._sys_version(version)[1]


DETAIL_TEXT = st.one_of(FRAGMENTS, st.text(max_size=6))
DETAILS = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(),  # NaN and infinities included: they must come out tagged
        st.lists(DETAIL_TEXT, max_size=3).map("".join),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.one_of(FRAGMENTS, st.text(max_size=6)), inner, max_size=3),
    ),
    max_leaves=12,
)


@given(st.dictionaries(st.text(max_size=6), DETAILS, max_size=4))
def test_details_that_need_nothing_are_recorded_as_the_full_walk_would(details: dict) -> None:  # type: ignore[type-arg]
    cleaned, data = clean(details)
    assert data == canonical_bytes(finite(redact_value(details)))
    assert canonical_bytes(cleaned) == data


@given(
    st.dictionaries(st.text(max_size=6), DETAILS, max_size=4),
    st.integers(1, 10**12),
    st.lists(st.text("0123456789abcdef", min_size=64, max_size=64), max_size=2),
    st.text(max_size=8),
    st.sampled_from(["x", "stage.run", "é"]),
)
def test_an_entry_built_from_fragments_is_the_canonical_entry(
    details: dict,  # type: ignore[type-arg]
    seq: int,
    prev: list[str],
    host: str,
    action: str,
) -> None:
    shared = {
        "actor": {"git_email": "a@example.com", "git_name": "ü", "os_user": None},
        "env": environment(),
        "git": {"branch": "main", "commit": "c" * 40, "dirty": False},
        "host": host,
    }
    fragments = {k: canonical_bytes(v) for k, v in shared.items()}
    data = EntryTemplate(fragments).build(seq=seq, prev=prev, action=action, details=details)
    entry = json.loads(data)
    assert data == canonical_bytes(entry)
    assert entry == {
        **make_entry(seq=seq, prev=prev, action=action, details=details, shared=shared),
        "time": entry["time"],
    }


@given(
    st.lists(
        st.tuples(
            st.dictionaries(st.text(max_size=6), DETAILS, max_size=3),
            st.sampled_from(["stage.run", "stage.restore", "add", "ü"]),
        ),
        min_size=1,
        max_size=5,
    ),
    st.text(max_size=8),
)
def test_one_template_builds_every_entry_of_a_command_canonically(
    entries: list[tuple[dict, str]],  # type: ignore[type-arg]
    host: str,
) -> None:
    # a command builds all its entries from one template, each chaining onto the last
    shared = {
        "actor": {"git_email": "a@example.com", "git_name": "ü", "os_user": "x"},
        "env": environment(),
        "git": {"branch": None, "commit": None, "dirty": None},
        "host": host,
    }
    template = EntryTemplate({k: canonical_bytes(v) for k, v in shared.items()})
    prev: list[str] = []
    for seq, (details, action) in enumerate(entries, start=1):
        data = template.build(seq=seq, prev=prev, action=action, details=details)
        entry = json.loads(data)
        assert data == canonical_bytes(entry)
        assert entry == {
            **make_entry(seq=seq, prev=prev, action=action, details=details, shared=shared),
            "time": entry["time"],
        }
        prev = [hashlib.sha256(data).hexdigest()]
