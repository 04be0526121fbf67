"""``audit verify``: the chain checked, and the head this clone verified remembered.

The remembered head (``.mlrepro/audit/verified``, the newest entry id verified
here) lets a later verification notice a log that was cut short or replaced: a
set of entries cannot show that by itself. It is only moved forward when a
verification passes.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

from mlrepro.audit.chain import Verdict, parse, verify
from mlrepro.audit.store import AuditStore
from mlrepro.fsutil import atomic_write
from mlrepro.store.digest import hash_file
from mlrepro.store.objects import ObjectStore


@dataclass
class DeepResult:
    checked: int = 0
    mismatches: list[tuple[str, str]] = field(default_factory=list)  # (digest, why)


def _known_path(store: AuditStore) -> str:
    return os.path.join(store.dir, "verified")


def known_head(store: AuditStore) -> str | None:
    try:
        with open(_known_path(store), encoding="utf-8") as f:
            head = json.load(f).get("head")
    except (FileNotFoundError, ValueError, AttributeError):
        return None
    return head if isinstance(head, str) else None


def verify_log(store: AuditStore) -> Verdict:
    verdict = verify(store.all(), known_head(store))
    if verdict.ok and len(verdict.heads) == 1:
        os.makedirs(store.dir, exist_ok=True)
        atomic_write(_known_path(store), json.dumps({"head": verdict.heads[0]}).encode() + b"\n")
    return verdict


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
        path = objects.path(xxh.split(":", 1)[1])
        if not os.path.exists(path):
            continue
        out.checked += 1
        got = hash_file(path, sha=True)
        if f"xxh3-128:{got.xxh}" != xxh:
            out.mismatches.append((xxh, "the cached object's bytes do not match its address"))
        elif f"sha256:{got.sha}" != sha:
            out.mismatches.append((sha, f"the object {xxh} hashes to sha256:{got.sha}"))
    return out


def _collect(value: object, pairs: dict[str, str]) -> None:
    if isinstance(value, dict):
        digest, sha = value.get("digest"), value.get("sha256")
        if isinstance(digest, str) and isinstance(sha, str) and digest.startswith("xxh3-128:"):
            pairs[digest] = sha
        for v in value.values():
            _collect(v, pairs)
    elif isinstance(value, list):
        for v in value:
            _collect(v, pairs)
