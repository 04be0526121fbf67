"""What every remote cache is: a flat store of keys, and the errors it raises.

A remote holds the same objects as the local cache, under the same names, and the
run-cache's entries (docs/format.md, "Remote cache")::

    <url>/files/xxh3-128/<2 hex>/<30 hex>   an object (a file's bytes, or a tree)
    <url>/runs/<2 hex>/<62 hex>             a run-cache entry

A :class:`Backend` reads and writes keys (``/``-separated paths below the remote's
URL). Each backend makes two promises the transfers build on: a key written is
visible under its name only once complete (so a reader, or a rerun after a crash,
never sees half an object), and every method may be called from several threads at
once. A key that is not there raises :class:`FileNotFoundError`; anything else that
fails raises :class:`RemoteError`, whose text never holds a credential.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import NamedTuple, Protocol

from mlrepro.errors import MlreproError
from mlrepro.secrets import redact
from mlrepro.store.digest import SHA, XXH, is_hex

OBJECTS = f"files/{XXH}"  # where the objects are, below the remote's URL
RUNS = "runs"  # where the run-cache entries are


def object_key(xxh: str) -> str:
    """The key of the object whose xxh3-128 (bare hex) is ``xxh``."""
    return f"{OBJECTS}/{xxh[:2]}/{xxh[2:]}"


def key_object(key: str) -> str | None:
    """The object a key names (bare hex), None for any other key (a temporary
    upload, a stray file)."""
    head, _, rest = key.rpartition("/")
    prefix = head[len(OBJECTS) + 1 :]
    if not head.startswith(OBJECTS + "/") or len(prefix) != 2:
        return None
    xxh = prefix + rest
    return xxh if is_hex(xxh) else None


def prefix_key(prefix: str) -> str:
    """The folder of the objects whose names start with the two hex digits ``prefix``."""
    return f"{OBJECTS}/{prefix}"


def run_key(key: str) -> str:
    """The key of the run-cache entry whose key (64 hex) is ``key``."""
    return f"{RUNS}/{key[:2]}/{key[2:]}"


def key_run(key: str) -> str | None:
    """The run-cache entry a key names (64 hex), None for any other key."""
    head, _, rest = key.rpartition("/")
    prefix = head[len(RUNS) + 1 :]
    if not head.startswith(RUNS + "/") or len(prefix) != 2:
        return None
    name = prefix + rest
    return name if is_hex(name, SHA) else None


class RemoteError(MlreproError):
    """Talking to a remote failed: which remote, which key, and why (credentials
    masked, both the ones that look like credentials and the values the remote was
    configured with)."""

    def __init__(
        self,
        remote: str,
        what: str,
        *,
        key: str | None = None,
        hint: str | None = None,
        secrets: Iterable[str] = (),
    ) -> None:
        text = what
        for secret in secrets:
            if secret:
                text = text.replace(secret, "***")
        where = f" ({key})" if key else ""
        self.remote = remote
        self.key = key
        super().__init__(
            f"remote '{remote}'{where}: {redact(text)}",
            hint=hint or "check the remote's URL and credentials (`mlrepro remote list`)",
        )


class Listed(NamedTuple):
    """A key found by :meth:`Backend.scan`: its size, and when it was last written (Unix
    time)."""

    key: str
    size: int
    mtime: float


class Backend(Protocol):
    """A remote's storage. ``name`` is the remote's name in the config; ``url`` its URL
    as it may be shown (credentials masked); ``jobs`` how many transfers at once suit it
    when neither ``-j`` nor the remote's ``jobs`` option says."""

    name: str
    url: str
    jobs: int

    def exists(self, key: str) -> bool:
        """Whether ``key`` is there."""
        ...

    def size(self, key: str) -> int:
        """The size of ``key`` in bytes (FileNotFoundError when it is not there)."""
        ...

    def list(self, prefix: str) -> Iterator[str]:
        """Every key below the folder ``prefix`` (recursively), in no set order."""
        ...

    def scan(self, prefix: str) -> Iterator[Listed]:
        """As :meth:`list`, with each key's size and time of writing."""
        ...

    def read(self, key: str) -> bytes:
        """The whole of a small key."""
        ...

    def download(
        self, key: str, dest: str, sink: Callable[[bytes | memoryview], object] | None = None
    ) -> int:
        """Write ``key``'s bytes to the new local file ``dest``; how many were written.
        ``sink`` also gets each chunk, in order, once written (to hash it meanwhile)."""
        ...

    def write(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key``, replacing it, atomically."""
        ...

    def upload(self, key: str, src: str) -> None:
        """Store the local file ``src`` under ``key``, replacing it, atomically."""
        ...

    def delete(self, keys: Sequence[str]) -> None:
        """Remove ``keys``; one that is not there is not an error."""
        ...

    def flush(self) -> None:
        """Make every write so far durable (a no-op where a completed write already is)."""
        ...

    def close(self) -> None: ...
