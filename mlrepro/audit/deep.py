"""``audit verify --deep``: the cache objects the log names, re-hashed.

The chain checks (:mod:`mlrepro.audit.verify`) prove the log was not edited; this proves
the bytes it vouches for are still those bytes: every output or artifact an entry
records with both digests, whose object is in the cache, is hashed again and compared
with its xxh3-128 address and its sha256.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from mlrepro.audit.chain import parse
from mlrepro.audit.store import AuditStore
from mlrepro.store.digest import bare, hash_file, is_tagged
from mlrepro.store.objects import ObjectStore


@dataclass
class DeepResult:
    checked: int = 0
    mismatches: list[tuple[str, str]] = field(default_factory=list)  # (digest, why)


def deep_check(store: AuditStore, objects: ObjectStore) -> DeepResult:
    """Every sha256 the log names whose xxh3-128 object is in the cache, re-hashed."""
    pairs: dict[str, str] = {}
    for s in store.all():
        entry = parse(s)
        if entry is None:
            continue
        _collect(entry.get("details"), pairs)
    out = DeepResult()
    for xxh, sha in sorted(pairs.items()):
        path = objects.path(bare(xxh))
        if not os.path.exists(path):
            continue
        out.checked += 1
        got = hash_file(path, sha=True)
        if got.tagged != xxh:
            out.mismatches.append((xxh, "the cached object's bytes do not match its address"))
        elif got.tagged_sha != sha:
            out.mismatches.append((sha, f"the object {xxh} hashes to {got.tagged_sha}"))
    return out


def _collect(value: object, pairs: dict[str, str]) -> None:
    if isinstance(value, dict):
        digest, sha = value.get("digest"), value.get("sha256")
        # the address must be an object's to be looked up; any sha256 beside it is
        # compared, so a malformed one is reported as a mismatch
        if is_tagged(digest) and isinstance(sha, str):
            pairs[digest] = sha
        for v in value.values():
            _collect(v, pairs)
    elif isinstance(value, list):
        for v in value:
            _collect(v, pairs)
