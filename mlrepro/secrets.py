"""The one credential detector: what the audit log masks, the lock file hashes and the
committed configuration refuses (issue 15: a value masked in one of them and kept in
another leaks).

What counts as a credential (docs/format.md, "Secrets"):

- the value of an option or assignment whose name's last word says credential
  (``--password=…``, ``--key …``, ``API_TOKEN=…``, ``"client_secret": "…"``,
  ``clientSecret: …``, ``AccountKey=…``), and whole values under such keys in params;
  a ``true``/``false`` flag is not one, nor an auth scheme (``auth: basic``), nor a
  key that names a data role (``sort_key``, ``label_key``, ``run_key``);
- ``Authorization:`` header values and ``Bearer …``;
- URL user information (``https://user:pass@host``) and signatures in a query
  (Azure SAS ``sig=``, ``X-Amz-Signature=``);
- PEM private key blocks, also inside a JSON string (``\\n`` escapes) or an option;
- well-known token shapes wherever they appear: AWS access key ids, GitHub, GitLab,
  Hugging Face, Slack (and its webhook URLs), Google API keys and OAuth tokens,
  OpenAI and Anthropic keys, JWTs.

Two ways to hide one: :func:`redact` writes ``***`` (the audit log: nothing of the
secret is kept), :func:`mask_for_lock` writes ``***sha256:<16 hex>***`` (committed
files that are compared: a changed secret gives a changed mask, so a lock comparison
stays exact). Both leave a value that already is a mask as it is, so masking twice
changes nothing.

The detector is on the audit hot path: :func:`may_hold_secret` answers "no" for most
text (digests, paths, plain commands) from a few substring searches, and only the
rest is scanned with the patterns (:func:`_scrub`, the reference the quick answer
is tested against).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from functools import cache
from typing import Any

MASK = "***"
# a lock mask: the first 16 hex digits of SHA-256 over this tag and the secret's UTF-8
# bytes (the tag keeps generic SHA-256 lookup tables of common passwords from applying;
# it cannot be a per-clone key: the lock must read the same in every clone)
LOCK_TAG = "mlrepro-secret-v1:"
_JSON_TAG = "mlrepro-secret-v1-json:"

# the last word of a name that says its value is a credential; `key` alone, or after a
# word that is not a data role (below). Not `tokens` (max_tokens), `tokenizer`, `keys`,
# `author`, or a path to a credential file (`keyfile`, `credentialpath`, `key_path`).
_WORD = (
    r"(?:secrets?|token|passwords?|passwd|pwd|passphrase|credentials?|creds"
    r"|auth|authorization|bearer|key|apikey|accesskey|privatekey|secretkey|accountkey"
    r"|customerkey|sas|sastoken|sharedaccesssignature|connection[_-]?string"
    r"|conn[_-]?str(?:ing)?|(?:keyfile|key|credentials?)[_-]?json)"
)
# words joined by `_`, `.` or `-`, or camelCase (`clientSecret`): the last one decides
_NAME = rf"[_.-]*(?:[A-Za-z0-9]+[_.-]+)*(?:[A-Za-z0-9]*?(?-i:[a-z0-9](?=[A-Z])))?{_WORD}"
# the word before a last word `key` that makes it a data role, not a credential
_DATA_ROLES = frozenset(
    (
        *("run", "sort", "primary", "partition", "foreign", "join", "group", "label", "labels"),
        *("text", "image", "img", "input", "output", "target", "column", "col", "feature"),
        *("index", "dict", "hash", "cache", "lookup", "sequence", "seq", "rng", "prng"),
        *("random", "metric", "monitor", "field", "row", "record", "audio", "video"),
        *("caption", "prompt", "answer", "question", "batch", "split", "sample", "class"),
        *("category", "object", "bucket", "id", "name", "range", "composite", "unique"),
        *("shard", "score"),
    )
)
# values under a credential name that are settings, not credentials
_FLAGS = frozenset(("true", "false"))
_AUTH_SCHEMES = frozenset(
    (*("basic", "digest", "custom", "bearer", "token", "ntlm", "negotiate"), "kerberos", "none")
)

# a value that is already masked: masks (plain or lock form), maybe quoted. As a value
# in text, a run of masks ends a value where a lock mask ends it (what follows is what
# followed the secret it replaced); a plain one only before the value's end (a secret
# may start with ***)
_PLAIN = r"\*\*\*"
_HASHED = r"\*\*\*sha256:[0-9a-f]{16}\*\*\*"
_IS_MASK = re.compile(rf"[\"']?(?:{_PLAIN}|{_HASHED})+[\"']?")


def _masked_value(end: str) -> str:
    return rf"[\"']?(?:{_PLAIN}|{_HASHED})*(?:{_HASHED}[\"']?|{_PLAIN}[\"']?(?={end}))"


_MASKED_OPTION = _masked_value(r"\s|$")
_MASKED_ASSIGN = _masked_value(r"[\s,;&|]|$")


@cache
def _patterns() -> tuple[re.Pattern[str], ...]:
    """The scanners, applied in this order. Each one's ``value`` group (or, without one,
    its whole match) is the secret; ``name``, when present, is the name it was under."""
    i = re.IGNORECASE
    return (
        # first: a block spans lines, and the patterns below would cut it up
        re.compile(
            r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----"
            r"(?:.*?-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----"
            r"|(?:[A-Za-z0-9+/=\s:,.-]|\\[nr])*)",  # cut short: everything that looks like it
            re.DOTALL,
        ),
        # up to the last @ before the path: a password may hold one (through no lock
        # mask: one that stands for a path must not join what came before its @)
        re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://(?P<value>(?:(?!\*\*\*sha256:)[^/\s])+)@"),
        # --password=x, --key x (not --no-auth --verbose: an option is no value; not
        # `train-key eval`: an option starts a word). A name never starts right after a
        # mask (`*`): masking must not reveal a name the first scan did not see
        re.compile(
            rf"(?<![A-Za-z0-9_.*])(?P<name>--?{_NAME})(?:=|\s+(?!--))"
            rf"(?P<value>{_MASKED_OPTION}|\"[^\"]*\"|'[^']*'|\S+)",
            i,
        ),
        # NAME=x, NAME: x, "NAME": "x"
        re.compile(
            rf"(?<![A-Za-z0-9_.*-])(?P<name>{_NAME})[\"']?\s*[=:]\s*"
            rf"(?P<value>{_MASKED_ASSIGN}|\"[^\"]*\"|'[^']*'|[^\s,;&|]+)",
            i,
        ),
        # after the assignments (which leave `Authorization: Bearer` alone: a scheme)
        re.compile(
            r"\b(?:proxy[_-])?authorization[\"']?\s*[:=]\s*[\"']?"
            r"(?:(?:bearer|basic|token|digest|negotiate|ntlm|apikey)\s+)?(?P<value>[^\s\"',;]+)",
            i,
        ),
        re.compile(r"\bbearer\s+(?P<value>[A-Za-z0-9._~+/=-]{8,})", i),
        # signed URLs: Azure SAS, S3 and GCS presigned
        re.compile(
            r"(?<=[?&])(?:sig|signature|x-amz-signature|x-goog-signature)=(?P<value>[^\s&#\"']+)",
            i,
        ),
        # a token takes the word characters glued to it: what follows the mask is then
        # no name that the scan missed before (idempotence)
        re.compile(
            r"(?:\b(?:AKIA[0-9A-Z]{16}|ASIA[0-9A-Z]{16}"
            r"|AIza[0-9A-Za-z_-]{35}|GOCSPX-[A-Za-z0-9_-]{28}"
            r"|gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,}"
            r"|gl(?:pat|dt|rt|ptt|cbt|oas|soat|imt)-[A-Za-z0-9_-]{20,}"
            r"|hf_[A-Za-z0-9]{30,}"
            r"|xox[abeoprs]-[A-Za-z0-9-]{10,}|xapp-[0-9]-[A-Za-z0-9-]{10,}"
            r"|ya29\.[0-9A-Za-z_-]{20,}"
            # OpenAI and Anthropic (not `sk-learn-random-forest`: no prefix, no dashes)
            r"|sk-(?:(?:proj|svcacct|admin|ant-[a-z]+[0-9]*)-[A-Za-z0-9_-]{20,}|[A-Za-z0-9]{20,})"
            r"|eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,})"
            r"|(?<=hooks\.slack\.com/)(?:services|workflows|triggers)/[A-Za-z0-9/_-]+)\w*"
        ),
    )


@cache
def _name_pattern() -> re.Pattern[str]:
    return re.compile(_NAME, re.IGNORECASE)


# pieces of text (in lower case) one of which every match of the patterns contains:
# ASCII text holding none is left as it is after these substring searches (digests,
# paths, plain commands). Non-ASCII text always takes the full scan: case-blind
# regexes match some non-ASCII letters with ASCII ones (the long s, the dotless i,
# the Kelvin sign).
_NEEDED = (
    *("secret", "token", "pass", "pwd", "cred", "auth", "bearer", "sas", "conn", "sig"),
    *("://", "akia", "asia", "hf_", "xox", "xapp-", "aiza", "gocspx-", "ya29.", "sk-", "eyj"),
    *("github_pat_", "hooks.slack.com/"),
)
# rarer prefixes behind a common first piece: one search where most text has neither
_NEEDED_AFTER = (
    ("gh", ("ghp_", "gho_", "ghu_", "ghs_", "ghr_")),
    ("gl", ("glpat-", "gldt-", "glrt-", "glptt-", "glcbt-", "gloas-", "glsoat-", "glimt-")),
)


def may_hold_secret(text: str) -> bool:
    """False when ``text`` surely holds nothing to mask (and no secret name); True
    when it must be scanned."""
    if not text.isascii():
        return True
    low = text.lower()
    # every name ending in `key` and the PEM header contain "key"; the key `"run_key"`
    # of the audit details (in every stage entry's JSON) is a data role
    if low.count("key") > low.count('"run_key"'):
        return True
    if any(piece in low for piece in _NEEDED):
        return True
    return any(first in low and any(p in low for p in rest) for first, rest in _NEEDED_AFTER)


def _words(name: str) -> list[str]:
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name)
    return [w for w in re.split(r"[_.-]+", spaced.lower()) if w]


def _is_data_role(name: str) -> bool:
    words = _words(name)
    return len(words) >= 2 and words[-1] == "key" and words[-2] in _DATA_ROLES


def _is_setting(name: str, value: Any) -> bool:
    """A value under a credential name that is a setting: a flag, an auth scheme, or
    nothing."""
    if value is None or isinstance(value, bool):
        return True
    if not isinstance(value, str):
        return False
    word = value.strip("\"'").lower()
    return word in _FLAGS or (
        word in _AUTH_SCHEMES and _words(name)[-1:] in (["auth"], ["authorization"])
    )


def is_secret_name(name: str) -> bool:
    """Whether a key or option name says its value is a credential (``api_token``,
    ``secret_access_key``, ``clientSecret``, ``key``; not ``max_tokens``, ``sort_key``)."""
    return (
        may_hold_secret(name)
        and _name_pattern().fullmatch(name) is not None
        and not _is_data_role(name)
    )


def is_mask(value: Any) -> bool:
    """Whether ``value`` is a mask already (``***`` or ``***sha256:…***``, maybe quoted)."""
    return isinstance(value, str) and _IS_MASK.fullmatch(value) is not None


def is_credential(name: str, value: Any) -> bool:
    """Whether ``value``, stored under ``name``, is a credential: the name says so and
    the value is not a setting (a flag, an auth scheme) or a mask."""
    return is_secret_name(name) and not _is_setting(name, value) and not is_mask(value)


def _scrub(text: str, hide: Callable[[str], str]) -> str:
    """``text`` with every credential replaced by ``hide(credential)``: every pattern,
    always (the reference :func:`redact` and :func:`mask_for_lock` skip for text
    :func:`may_hold_secret` clears)."""
    for pattern in _patterns():
        text = _sub(pattern, text, hide)
    return text


def _sub(pattern: re.Pattern[str], text: str, hide: Callable[[str], str]) -> str:
    """``pattern.sub``, except that a name that turns out to hold no credential (a data
    role, a flag) is passed over, not its value: the search goes on from the value, so
    a name inside it is found (`sort_key=password=x` hides x)."""
    pieces: list[str] = []
    done = 0  # text[:done] is in pieces
    at = 0  # where the next search starts
    has_value = "value" in pattern.groupindex
    has_name = "name" in pattern.groupindex
    while (m := pattern.search(text, at)) is not None:
        if not has_value:
            pieces += (text[done : m.start()], hide(m[0]))
            done = at = m.end()
            continue
        value = m["value"]
        if is_mask(value):
            at = m.end()
        elif has_name and not _secret_under(m["name"], value):
            at = m.start("value")
        else:
            pieces += (text[done : m.start("value")], hide(value))
            done = m.end("value")
            at = m.end()
        if at == m.start() == m.end():  # an empty match: step over it
            at += 1
    pieces.append(text[done:])
    return "".join(pieces)


def _secret_under(name: str, value: str) -> bool:
    return not _is_data_role(name) and not _is_setting(name, value)


def _redact_one(_secret: str) -> str:
    return MASK


def digest_mask(value: Any) -> str:
    """The lock mask of one whole value: ``***sha256:<16 hex>***``, the first 16 hex
    digits of SHA-256 over :data:`LOCK_TAG` and the text (other values: another tag
    and their sorted-keys JSON, so ``1`` and ``"1"`` differ)."""
    if isinstance(value, str):
        data = (LOCK_TAG + value).encode("utf-8", "surrogatepass")
    else:
        try:
            text = json.dumps(
                value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=repr
            )
        except TypeError:  # keys of mixed types cannot be sorted
            text = repr(value)
        data = (_JSON_TAG + text).encode("utf-8", "surrogatepass")
    return f"***sha256:{hashlib.sha256(data).hexdigest()[:16]}***"


def _quoted(value: str) -> bool:
    return len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'"


def _lock_one(secret: str) -> str:
    # a quoted value keeps its quotes: what follows the closing quote stays apart
    if _quoted(secret):
        return secret[0] + digest_mask(secret[1:-1]) + secret[0]
    return digest_mask(secret)


def redact(text: str) -> str:
    """``text`` with anything that looks like a credential replaced by ``***``."""
    if not may_hold_secret(text):
        return text
    return _scrub(text, _redact_one)


def _walk(value: Any, text: Callable[[str], str], whole: Callable[[Any], Any]) -> Any:
    if isinstance(value, str):
        return text(value)
    if isinstance(value, list | tuple):
        return [_walk(v, text, whole) for v in value]
    if isinstance(value, dict):
        return {
            k: whole(v) if isinstance(k, str) and is_credential(k, v) else _walk(v, text, whole)
            for k, v in value.items()
        }
    return value


def redact_value(value: Any) -> Any:
    """``value`` with credentials masked: in text, and whole values under keys whose
    name says secret (a param ``api_token: xyz`` is recorded as ``api_token: ***``)."""
    return _walk(value, redact, lambda _v: MASK)


def mask_for_lock(value: Any) -> Any:
    """``value`` as a committed file may hold it: each credential replaced by its
    :func:`digest_mask` (in text, the credential alone; under a credential key, the
    whole value). Deterministic, the same in every clone, and idempotent:
    ``mask_for_lock(mask_for_lock(v)) == mask_for_lock(v)``, so two values compare as
    ``mask_for_lock(a) == mask_for_lock(b)`` whether either was masked already. Two
    different secrets give different masks (but for a 64-bit hash collision)."""
    return _walk(value, _mask_text, digest_mask)


def _mask_text(text: str) -> str:
    if not may_hold_secret(text):
        return text
    return _scrub(text, _lock_one)


def holds_secret(value: Any) -> bool:
    """Whether :func:`redact_value` would mask anything in ``value`` (a mask is not a
    secret any more: ``holds_secret(mask_for_lock(v))`` is False)."""
    if isinstance(value, str):
        return may_hold_secret(value) and _scrub(value, _redact_one) != value
    if isinstance(value, list | tuple):
        return any(holds_secret(v) for v in value)
    if isinstance(value, dict):
        return any(
            (isinstance(k, str) and is_credential(k, v)) or holds_secret(v)
            for k, v in value.items()
        )
    return False
