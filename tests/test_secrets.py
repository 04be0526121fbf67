"""The one credential detector (issue 15): every known token format, generated, is hidden
wherever it sits (a command, an option, an assignment, YAML, JSON, a URL); lock masks
are deterministic, idempotent and tell different secrets apart; text with no secret
(digests, paths, ``max_tokens=5``, ``tokenizer=bert``) comes back as it was; and the
quick pre-check never changes an answer of the full scan."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import string
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlrepro import secrets
from mlrepro.secrets import (
    LOCK_TAG,
    MASK,
    digest_mask,
    holds_secret,
    is_credential,
    is_secret_name,
    mask_for_lock,
    redact,
    redact_value,
)

LOCK_MASK = re.compile(r"\*\*\*sha256:[0-9a-f]{16}\*\*\*")
UPPER = string.ascii_uppercase
ALNUM = string.ascii_letters + string.digits
B64 = ALNUM + "+/"
B64URL = ALNUM + "-_"


def chars(alphabet: str, n: int, m: int | None = None) -> st.SearchStrategy[str]:
    return st.text(st.sampled_from(alphabet), min_size=n, max_size=n if m is None else m)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt(claims: dict[str, Any], sig: bytes) -> str:
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    return f"{header}.{b64url(json.dumps(claims).encode())}.{b64url(sig)}"


def pem(label: str, body: bytes) -> str:
    text = base64.b64encode(body).decode()
    lines = [text[i : i + 64] for i in range(0, len(text), 64)]
    return "\n".join([f"-----BEGIN {label}-----", *lines, f"-----END {label}-----"])


# -- every known token format, as its issuer writes it -------------------------------------

TOKENS: dict[str, st.SearchStrategy[str]] = {
    "aws access key id": st.builds(
        lambda p, s: p + s, st.sampled_from(["AKIA", "ASIA"]), chars(UPPER + "234567", 16)
    ),
    "github": st.builds(
        lambda p, s: p + s,
        st.sampled_from(["ghp_", "gho_", "ghu_", "ghs_", "ghr_"]),
        chars(ALNUM, 36),
    ),
    "github fine-grained": st.builds(
        lambda a, b: f"github_pat_{a}_{b}", chars(ALNUM, 22), chars(ALNUM, 59)
    ),
    "gitlab": st.builds(
        lambda p, s: p + s,
        st.sampled_from(["glpat-", "gldt-", "glrt-", "glptt-", "glcbt-", "gloas-"]),
        chars(ALNUM + "_-", 20, 40),
    ),
    "hugging face": st.builds(lambda s: "hf_" + s, chars(string.ascii_letters, 34)),
    "slack": st.builds(
        lambda p, a, b, c: f"{p}-{a}-{b}-{c}",
        st.sampled_from(["xoxb", "xoxp", "xoxa", "xoxr", "xoxs", "xoxe"]),
        chars(string.digits, 10, 13),
        chars(string.digits, 10, 13),
        chars(ALNUM, 24, 32),
    ),
    "slack app": st.builds(
        lambda a, b: f"xapp-1-{a}-{b}", chars(UPPER + string.digits, 11), chars(ALNUM, 20, 64)
    ),
    "google api key": st.builds(lambda s: "AIza" + s, chars(B64URL, 35)),
    "google oauth client secret": st.builds(lambda s: "GOCSPX-" + s, chars(B64URL, 28)),
    "google oauth access token": st.builds(lambda s: "ya29." + s, chars(B64URL, 40, 120)),
    "openai": st.builds(lambda s: "sk-" + s, chars(ALNUM, 48)),
    "openai project": st.builds(
        lambda p, s: f"sk-{p}-{s}",
        st.sampled_from(["proj", "svcacct", "admin"]),
        chars(B64URL, 40, 160),
    ),
    "anthropic": st.builds(lambda s: "sk-ant-api03-" + s, chars(B64URL, 93)),
    "jwt": st.builds(
        jwt,
        st.fixed_dictionaries({"sub": chars(ALNUM, 1, 12), "iat": st.integers(0, 2**31)}),
        st.binary(min_size=32, max_size=64),
    ),
}

# where a standalone token turns up
TOKEN_PLACES: list[Callable[[str], str]] = [
    lambda t: t,
    lambda t: f"python train.py --model bert {t} --epochs 3",
    lambda t: f"export UPLOAD={t} && python push.py",
    lambda t: f"hub:\n  value: {t}\n  retries: 3\n",
    lambda t: json.dumps({"value": t, "retries": 3}),
    lambda t: f"https://api.example.com/v1/items?q={t}&limit=5",
    lambda t: f"curl -H 'X-Custom: {t}' https://api.example.com",
    lambda t: f"'{t}'",
    lambda t: f"[{t}, other]",
]


@settings(max_examples=60)
@given(st.data())
@pytest.mark.parametrize("kind", sorted(TOKENS))
def test_every_known_token_format_is_hidden_wherever_it_is(kind: str, data: st.DataObject) -> None:
    token = data.draw(TOKENS[kind], label="token")
    place = data.draw(st.sampled_from(TOKEN_PLACES), label="place")
    text = place(token)
    assert token not in redact(text), (kind, text)
    assert holds_secret(text)
    locked = mask_for_lock(text)
    assert token not in locked and LOCK_MASK.search(locked)
    assert mask_for_lock(locked) == locked
    assert not holds_secret(locked)
    # the same token in another place gets the same mask (a command and a param agree)
    assert digest_mask(token) in mask_for_lock(f"{token} x")


SECRET = st.builds(
    lambda a, b: a + "Q7x" + b, chars(ALNUM, 1, 12), chars(ALNUM + "+/=_.~!%^*", 4, 30)
)


@settings(max_examples=80)
@given(
    st.sampled_from(
        [
            "https://{u}:{s}@example.com/data.csv",
            "s3://{u}:{s}@bucket/prefix",
            "postgresql://{u}:{s}@db.internal:5432/ml",
            "mongodb+srv://{u}:{s}@cluster0.example.net/x?retryWrites=true",
            "redis://:{s}@cache:6379/0",
            "git clone https://{u}:{s}@github.com/org/repo.git",
            "--db-url=https://{u}:{s}@host",
        ]
    ),
    chars(string.ascii_lowercase, 1, 10),
    # what user information may hold unescaped (RFC 3986), and an @ some clients let through
    st.builds(
        lambda a, b: a + "Q7x" + b, chars(ALNUM, 1, 8), chars(ALNUM + "-._~!$&'()*+,;=%:@", 4, 30)
    ),
)
def test_url_user_information_is_hidden(form: str, user: str, secret: str) -> None:
    text = form.format(u=user, s=secret)
    assert secret not in redact(text) and "@" in redact(text)
    assert secret not in mask_for_lock(text)
    assert mask_for_lock(mask_for_lock(text)) == mask_for_lock(text)


# names whose last word says credential, as people spell them
SECRET_NAMES = st.builds(
    lambda prefix, word, style: style([*prefix, word]),
    st.lists(
        st.sampled_from(
            ["api", "hf", "openai", "db", "aws", "wandb", "my", "client", "azure", "s3"]
        ),
        max_size=2,
    ),
    st.sampled_from(
        [
            *("key", "secret", "token", "password", "passwd", "passphrase", "auth", "credentials"),
            *("creds", "apikey", "sas", "sastoken", "secrets"),
        ]
    ),
    st.sampled_from(
        [
            lambda ws: "_".join(ws),
            lambda ws: "-".join(ws),
            lambda ws: ".".join(ws),
            lambda ws: "_".join(ws).upper(),
            lambda ws: ws[0] + "".join(w.capitalize() for w in ws[1:]),  # camelCase
            lambda ws: "".join(w.capitalize() for w in ws),  # PascalCase
        ]
    ),
)

NAMED_FORMS: list[Callable[[str, str], str]] = [
    lambda n, s: f"python train.py --{n}={s} --epochs 3",
    lambda n, s: f"python train.py --{n} {s} --epochs 3",
    lambda n, s: f"python train.py -{n} '{s}'",
    lambda n, s: f"{n}={s} python train.py",
    lambda n, s: f'export {n}="{s}"',
    lambda n, s: f"{n}: {s}\nlr: 0.1\n",
    lambda n, s: json.dumps({n: s, "lr": 0.1}),
    lambda n, s: json.dumps({"cmd": f"train --{n}={s}"}),
    lambda n, s: f"https://example.com/export?{n}={s}&format=csv",
    lambda n, s: f"train.py --config '{n}={s},lr=0.1'",
]


@settings(max_examples=200)
@given(SECRET_NAMES, SECRET, st.sampled_from(NAMED_FORMS))
def test_values_under_credential_names_are_hidden(name: str, secret: str, form: Any) -> None:
    assert is_secret_name(name), name
    text = form(name, secret)
    assert secret not in redact(text), text
    locked = mask_for_lock(text)
    assert secret not in locked, text
    assert mask_for_lock(locked) == locked
    assert not holds_secret(locked)
    assert redact_value({name: secret}) == {name: MASK}
    assert mask_for_lock({name: secret}) == {name: digest_mask(secret)}


@settings(max_examples=60)
@given(SECRET)
def test_the_forms_the_issue_names(secret: str) -> None:
    for text in (
        f"train.py --key={secret}",
        f"train.py --key {secret} --epochs 3",
        f"train.py --auth {secret}",
        f"train.py --auth={secret}",
        f"train.py --token {secret}",
        f"train.py --api-token={secret}",
        f"curl -H 'Authorization: Bearer {secret}' https://x",
        f'curl -H "Authorization: token {secret}" https://x',
        f"Authorization: Basic {secret}",
        f"--header 'Proxy-Authorization: Bearer {secret}'",
        f"aws_secret_access_key = {secret}",
        f'{{"SecretAccessKey": "{secret}", "AccessKeyId": "AKIAIOSFODNN7EXAMPLE"}}',
        f"DefaultEndpointsProtocol=https;AccountName=acct;AccountKey={secret};EndpointSuffix=x",
        f"Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=all;SharedAccessKey={secret}",
        f"https://acct.blob.core.windows.net/c/b.csv?sv=2022-11-02&sp=r&sig={secret}&se=2030",
        f"--sas-token 'sv=2022-11-02&ss=b&sig={secret}'",
        f"https://bucket.s3.amazonaws.com/k?X-Amz-Credential=x&X-Amz-Signature={secret}",
        f"clientSecret: {secret}",
        f'{{"client_secret": "{secret}"}}',
        f"--keyfile-json '{secret}'",
    ):
        assert secret not in redact(text), text
        assert secret not in mask_for_lock(text), text
        assert holds_secret(text), text


def test_slack_webhook_urls_are_hidden() -> None:
    url = "https://hooks.slack.com/services/T0123ABCD/B0123ABCD/abcdefghijklmnopqrstuvwx"
    assert redact(f"notify.py --to {url}") == "notify.py --to https://hooks.slack.com/***"
    assert "abcdefghijklmnopqrstuvwx" not in mask_for_lock(url)


PEM_LABELS = [
    "PRIVATE KEY",
    "RSA PRIVATE KEY",
    "EC PRIVATE KEY",
    "OPENSSH PRIVATE KEY",
    "ENCRYPTED PRIVATE KEY",
    "PGP PRIVATE KEY BLOCK",
]


@settings(max_examples=60)
@given(st.sampled_from(PEM_LABELS), st.binary(min_size=48, max_size=400))
def test_private_key_blocks_are_hidden_raw_in_options_and_in_json(label: str, body: bytes) -> None:
    block = pem(label, body)
    lines = block.splitlines()[1:-1]
    account = {
        "type": "service_account",
        "project_id": "ml-project",
        "private_key_id": "0123abcd",
        "private_key": block + "\n",
        "client_email": "trainer@ml-project.iam.gserviceaccount.com",
    }
    for text in (
        block,
        f"key: |\n  {block.replace(chr(10), chr(10) + '  ')}\n",
        f'python sign.py --signing-material "{block}" --out sig.bin',
        f"python sign.py --key='{block}'",
        json.dumps(account),  # the newlines are \n escapes
        f"python upload.py --service-account '{json.dumps(account)}'",
        block.split("-----END")[0],  # cut short: no END line
    ):
        for hidden in (redact(text), mask_for_lock(text)):
            assert not any(line in hidden for line in lines if len(line) > 8), text
        assert "client_email" not in text or "trainer@ml-project" in redact(text)
        assert mask_for_lock(mask_for_lock(text)) == mask_for_lock(text)


# -- lock masks ---------------------------------------------------------------------------


def test_the_lock_mask_is_the_documented_hash() -> None:
    secret = "tok_live_abc123"
    expected = hashlib.sha256(f"{LOCK_TAG}{secret}".encode()).hexdigest()[:16]
    assert LOCK_TAG == "mlrepro-secret-v1:"
    assert digest_mask(secret) == f"***sha256:{expected}***"
    assert mask_for_lock(f"python train.py --api-token={secret}") == (
        f"python train.py --api-token=***sha256:{expected}***"
    )
    # a whole param value under a credential name: the same mask as in the command
    assert mask_for_lock({"api_token": secret}) == {"api_token": f"***sha256:{expected}***"}
    # other values are hashed from their JSON under another tag: 12345 is not "12345"
    assert mask_for_lock({"password": 12345}) != mask_for_lock({"password": "12345"})
    assert LOCK_MASK.fullmatch(mask_for_lock({"password": [1, 2]})["password"])


def test_issue_15_a_secret_from_vars_in_cmd_and_params() -> None:
    """`--api-token=${api_token}` with api_token tracked as a param: the lock holds
    neither, a changed token changes both, the same token gives the same record."""

    def record(token: str) -> Any:
        return mask_for_lock(
            {
                "cmd": f"python train.py --api-token={token} --lr 0.1",
                "params": {"secrets.yaml": {"api_token": token}, "params.yaml": {"lr": 0.1}},
            }
        )

    first = record("tok-0001-aaaa")
    assert "tok-0001-aaaa" not in json.dumps(first)
    assert first == record("tok-0001-aaaa")
    assert first != record("tok-0002-aaaa")
    assert first["params"]["params.yaml"] == {"lr": 0.1}
    assert mask_for_lock(first) == first
    assert not holds_secret(first)


@settings(max_examples=200)
@given(SECRET_NAMES, SECRET, SECRET, st.sampled_from(NAMED_FORMS))
def test_different_secrets_give_different_masks(name: str, a: str, b: str, form: Any) -> None:
    if a == b:
        return
    assert mask_for_lock(form(name, a)) != mask_for_lock(form(name, b))
    assert mask_for_lock({name: a}) != mask_for_lock({name: b})
    assert mask_for_lock(form(name, a)) == mask_for_lock(form(name, a))


# fragments that meet in awkward ways: names, separators, quotes, tokens, masks
FRAGMENTS = st.sampled_from(
    [
        *("--password=", "--API-Key ", "--key ", "--auth=", "AWS_SECRET_ACCESS_KEY=", "token: "),
        *("https://u:", "@host/", "PASSWORD=", "client_secret: ", "clientSecret", "sort_key="),
        *("DB_PASSWORD='", "passphrase=", "credentials:", "bearer ", "Bearer ", "Authorization: "),
        *("sas=", "?sv=1&sig=", "&", "-----BEGIN PRIVATE KEY-----", "-----END PRIVATE KEY-----"),
        *("MIIEabc+/=", "\\n", "\n", "AKIAIOSFODNN7EXAMPLE", "xoxb-1234567890-abcdefghij"),
        "ghp_0123456789abcdefghijABCDEFGHIJ0123456789",
        "github_pat_0123456789abcdefghijABCDEFGHIJ0123456789",
        "sk-ABCDEFGHIJKLMNOPQRSTUVWX",
        "eyJhbGciOiJIUzI1.eyJzdWIiOiIxMjM0.SflKxwRJSMeKKF2QT4",
        "hf_abcdefghijklmnopqrstuvwxyzABCDEFGH",
        "glpat-abcdefghij0123456789",
        "AIzaSyA1234567890abcdefghijklmnopqrstu",
        "hooks.slack.com/services/T0/B0/XX",
        *("***", "***sha256:0123456789abcdef***", '"run_key"', "run_key", "keyfile_json"),
        *(".key=", "_sort", "Key: ", "-auth ", "x-api-key: ", "%3D", "\t"),
        *("xxh3-128:0123456789abcdef", "data/raw.csv", "true", "basic", "--verbose"),
        *(" ", "=", ":", "-", "_", "/", "@", ",", '"', "'", "{", "}", "abc", "x y"),
        "\u017fecret=",  # the long s: a case-blind regex matches it with "s"
        "credent\u0131al: ",  # the dotless i likewise
        "\u212aey=",  # the Kelvin sign: "k"
    ]
)
SOUP = st.lists(st.one_of(FRAGMENTS, st.text(max_size=6)), max_size=8).map("".join)


@settings(max_examples=500)
@given(SOUP)
def test_lock_masks_are_idempotent_and_hold_no_secret(text: str) -> None:
    locked = mask_for_lock(text)
    assert mask_for_lock(locked) == locked
    assert not holds_secret(locked)
    assert mask_for_lock(text) == locked  # deterministic


@settings(max_examples=500)
@given(SOUP)
def test_the_quick_pre_check_never_changes_an_answer(text: str) -> None:
    full_redact = secrets._scrub(text, lambda _s: MASK)
    assert redact(text) == full_redact
    assert mask_for_lock(text) == secrets._scrub(text, secrets._lock_one)
    assert holds_secret(text) == (full_redact != text)
    full_name = secrets._name_pattern().fullmatch(text) is not None
    assert is_secret_name(text) == (full_name and not secrets._is_data_role(text))


# -- what is not a secret -----------------------------------------------------------------

NOT_SECRET_NAMES = [
    *("max_tokens", "num_tokens", "tokens", "tokenizer", "tokenizer_name", "token_count"),
    *("sort_key", "label_key", "run_key", "primary_key", "text_key", "labelKey", "rng_key"),
    *("key_column", "keys", "keyframes", "author", "authors", "auth_type", "secret_name"),
    *("keyfile", "key_path", "credentialpath", "password_file", "gdrive_user_credentials_file"),
    *("access_key_id", "sse_kms_key_id", "custom_auth_header", "monkey", "passage", "epochs"),
]


@pytest.mark.parametrize("name", NOT_SECRET_NAMES)
def test_names_that_are_not_credentials(name: str) -> None:
    assert not is_secret_name(name)
    for text in (
        f"{name}=date",
        f"--{name} 5",
        f"{name}: bert-base-uncased",
        f"--{name}=/data/x.csv",
    ):
        assert redact(text) == text and mask_for_lock(text) == text
    assert redact_value({name: "date"}) == {name: "date"}


def test_settings_under_credential_names_are_not_credentials() -> None:
    for name, value in (
        ("ask_password", "true"),
        ("ask_passphrase", False),
        ("use_auth_token", True),
        ("auth", "basic"),
        ("auth", "digest"),
        ("http_auth", "custom"),
        ("password", None),
    ):
        assert not is_credential(name, value)
        assert redact_value({name: value}) == {name: value}
        assert mask_for_lock({name: value}) == {name: value}
    assert is_credential("auth", "s3cr3t-value")
    assert is_credential("password", "basic")  # a scheme only under an auth name
    for text in ("train.py --auth basic", "--no-auth --verbose", "ask_password=true"):
        assert redact(text) == text


WORDS = ["data", "raw", "train", "models", "metrics", "eval", "features", "v1", "out", "model"]
HEX = "0123456789abcdef"
PLAIN = st.one_of(
    st.builds(lambda h: "xxh3-128:" + h, chars(HEX, 32)),
    st.builds(lambda h: "sha256:" + h, chars(HEX, 64)),
    st.builds(
        lambda ws, ext: "/".join(ws) + ext,
        st.lists(st.sampled_from(WORDS), min_size=1, max_size=4),
        st.sampled_from([".csv", ".json", ".pkl", "", "/"]),
    ),
    st.sampled_from(
        [
            "python train.py --tokenizer bert --max_tokens 512",
            "max_tokens=5 tokenizer=bert",
            "python evaluate.py --sort-key date --label-key target",
            "https://example.com/data.csv",
            "s3://bucket/prefix/data.parquet",
            "git@github.com:org/repo.git",
            "author=alice keyframes=10",
            "python sk-learn-random-forest-v2-extra.py",
            "echo ${v} > out/003.txt",
            "python train.py --lr 0.01 --epochs 3 --seed 42",
        ]
    ),
)


@given(st.lists(PLAIN, min_size=1, max_size=4).map(" ".join))
def test_text_without_secrets_is_left_as_it_is(text: str) -> None:
    assert redact(text) == text
    assert mask_for_lock(text) == text
    assert not holds_secret(text)
    params = {"params.yaml": {"lr": 0.1, "path": text, "max_tokens": 5, "sort_key": "id"}}
    assert redact_value(params) == params
    assert mask_for_lock(params) == params


def test_the_audit_details_key_run_key_stays_on_the_quick_path() -> None:
    details = json.dumps({"run_key": "a" * 64, "cmd": "echo 1 > out/1.txt", "outs": []})
    assert not secrets.may_hold_secret(details)
    assert secrets.may_hold_secret(details + " api_key=x")
