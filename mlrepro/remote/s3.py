"""Remotes on object storage: S3 and S3-compatible stores, and (untested here) GCS and Azure.

The client is obstore (Rust's ``object_store``): every call releases the GIL, so a
pool of threads moves many objects at once. Measured against pyarrow.fs on the same
moto server, 4 KiB objects with 16 threads: 500 puts/s against 140, 530 gets/s
against 260; one 256 MiB object: 84 MiB/s up against 43, 480 MiB/s down against 61
(benchmarks/remote.py has the figures of record).

Uploads are single PUTs, or a multipart upload above 5 MB that S3 completes
atomically: an object is visible only once whole. Deletes are S3's bulk delete.

**Credentials and settings for S3**, as the AWS SDKs read them, each from the first
place that has it:

- keys: the remote's ``access_key_id``/``secret_access_key``/``session_token``
  (``config.local`` only: ``mlrepro remote modify --local``); the profile the remote
  names (``profile``), from ``credentialpath``/``configpath`` or the standard files;
  ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``/``AWS_SESSION_TOKEN``; the profile
  ``AWS_PROFILE`` (or the older ``AWS_DEFAULT_PROFILE``) names, or ``default``, in
  ``AWS_SHARED_CREDENTIALS_FILE`` and ``AWS_CONFIG_FILE`` (``~/.aws/credentials``,
  ``~/.aws/config``); then the instance's role;
- endpoint: the remote's ``endpointurl``; ``AWS_ENDPOINT_URL_S3``;
  ``AWS_ENDPOINT_URL``; the profile's ``endpoint_url``; AWS itself. An ``http://``
  endpoint (a local MinIO or moto) is allowed because it was asked for;
- region: the remote's ``region``; ``AWS_REGION``; ``AWS_DEFAULT_REGION``; the
  profile's ``region``; ``us-east-1``.

Other options: ``connect_timeout`` and ``read_timeout`` (seconds, as DVC's),
``retries`` (how many times a failed request is retried, default 10 within 3 minutes).
"""

from __future__ import annotations

import configparser
import contextlib
import os
from collections.abc import Callable, Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from obstore.exceptions import BaseError
from obstore.store import S3Store, from_url

from mlrepro.errors import MlreproError
from mlrepro.remote.base import Listed, RemoteError
from mlrepro.secrets import redact

if TYPE_CHECKING:
    from obstore.store import ClientConfig, S3Config

_CHUNK = 8 << 20  # bytes per read of a download
JOBS = 64  # transfers at once, by default
# the options that hold credentials, never shown
_SECRET_OPTIONS = ("access_key_id", "secret_access_key", "session_token")


def open_cloud(name: str, url: str, scheme: str, options: dict[str, Any]) -> ObjectBackend:
    try:
        if scheme == "s3":
            config, client, secrets = s3_settings(options, os.environ)
            # keys chosen here are given whole, token included (or none): obstore would
            # otherwise add the environment's AWS_SESSION_TOKEN to another identity's keys
            keys = {k: config.pop(k) for k in _SECRET_OPTIONS if k in config}
            store: Any = S3Store.from_url(
                url,
                config=cast("S3Config", config),
                client_options=cast("ClientConfig", client),
                retry_config=_retry(options),
                credential_provider=_fixed(keys) if keys else None,
            )
        else:
            store = from_url(url, retry_config=_retry(options))
            secrets = []
    except (BaseError, ValueError) as exc:
        raise MlreproError(
            f"remote '{name}': cannot open {redact(url)}: {_text(exc, [])}",
            hint="check the URL and the remote's options (`mlrepro remote list`, "
            "`mlrepro config --list`)",
        ) from None
    return ObjectBackend(name, redact(url), store, secrets)


def s3_settings(
    options: dict[str, Any], env: Any
) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    """The S3 client's settings from the remote's options and the environment (see the
    module's notes): (store config, client options, the secret values in use)."""
    config: dict[str, Any] = {}
    profile_name = options.get("profile")
    explicit = str(profile_name) if profile_name else None
    profile = _profile(
        explicit or env.get("AWS_PROFILE") or env.get("AWS_DEFAULT_PROFILE") or "default",
        options.get("credentialpath")
        or env.get("AWS_SHARED_CREDENTIALS_FILE")
        or "~/.aws/credentials",
        options.get("configpath") or env.get("AWS_CONFIG_FILE") or "~/.aws/config",
        env,
    )
    # keys: the remote's own; a profile it names; the environment (obstore reads it
    # itself); the profile of AWS_PROFILE or "default"
    if options.get("access_key_id"):
        keys = {k: str(options[k]) for k in _SECRET_OPTIONS if options.get(k)}
    elif explicit or not env.get("AWS_ACCESS_KEY_ID"):
        keys = {k: profile[f"aws_{k}"] for k in _SECRET_OPTIONS if profile.get(f"aws_{k}")}
    else:
        keys = {}
    config.update(keys)
    endpoint = (
        options.get("endpointurl")
        or env.get("AWS_ENDPOINT_URL_S3")
        or env.get("AWS_ENDPOINT_URL")
        or profile.get("endpoint_url")
    )
    if endpoint:
        config["endpoint"] = str(endpoint)
    region = (
        options.get("region")
        or env.get("AWS_REGION")
        or env.get("AWS_DEFAULT_REGION")
        or profile.get("region")
        or "us-east-1"
    )
    config["region"] = str(region)
    client: dict[str, Any] = {}
    if endpoint and str(endpoint).startswith("http://"):
        client["allow_http"] = True
    for option, key in (("connect_timeout", "connect_timeout"), ("read_timeout", "timeout")):
        if options.get(option) is not None:
            client[key] = timedelta(seconds=float(options[option]))
    secrets = [v for k, v in keys.items()] + [
        str(env[v]) for v in ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN") if env.get(v)
    ]
    return config, client, secrets


def _fixed(keys: dict[str, str]) -> Any:
    """A credential provider that always gives ``keys`` (and no other token)."""
    credentials = {
        "access_key_id": keys.get("access_key_id", ""),
        "secret_access_key": keys.get("secret_access_key", ""),
        "token": keys.get("session_token"),
        "expires_at": None,
    }
    return lambda: credentials


def _profile(name: str, credentials: str, config: str, env: Any) -> dict[str, str]:
    """A profile's settings, from the shared config file and the credentials file
    (which wins), as the AWS SDKs read them: ``[profile NAME]`` or ``[default]`` in
    the config file, ``[NAME]`` in the credentials file."""
    found: dict[str, str] = {}
    home = env.get("HOME") or os.path.expanduser("~")
    for path, section in (
        (config, name if name == "default" else f"profile {name}"),
        (credentials, name),
    ):
        parser = configparser.RawConfigParser()
        full = os.path.join(home, str(path)[2:]) if str(path).startswith("~/") else str(path)
        with contextlib.suppress(OSError, configparser.Error):
            parser.read(full, encoding="utf-8")
        if parser.has_section(section):
            found.update({k: v.strip() for k, v in parser.items(section)})
    return found


def _retry(options: dict[str, Any]) -> Any:
    if options.get("retries") is None:
        return None
    retries = int(options["retries"])
    return {
        "max_retries": retries,
        "retry_timeout": timedelta(minutes=3),
        "backoff": {
            "init_backoff": timedelta(milliseconds=100),
            "max_backoff": timedelta(seconds=15),
            "base": 2,
        },
    }


def _text(exc: BaseException, secrets: Sequence[str]) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return redact(text)


class ObjectBackend:
    """A remote on object storage, through one obstore store (thread-safe)."""

    def __init__(self, name: str, url: str, store: Any, secrets: Sequence[str]) -> None:
        self.name = name
        self.url = url
        # a request to object storage mostly waits on the network (tens of ms to a
        # region): many at once. With 25 ms added to each request in front of moto, 2,000
        # small objects pushed in 7.4 s with 8 at once and 5.0 s with 64 (docs/remote.md)
        self.jobs = JOBS
        self._store = store
        self._secrets = list(secrets)

    @contextlib.contextmanager
    def _talking(self, key: str) -> Iterator[None]:
        """Errors of the store as :class:`RemoteError` (a missing key stays
        FileNotFoundError)."""
        try:
            yield
        except FileNotFoundError as exc:
            if "NoSuchBucket" not in str(exc):
                raise
            raise RemoteError(
                self.name,
                f"the bucket of {self.url} does not exist",
                key=key,
                hint="create it, or fix the remote's URL (`mlrepro remote modify NAME url ...`)",
            ) from None
        except (BaseError, OSError, ValueError) as exc:
            raise RemoteError(
                self.name, _text(exc, self._secrets), key=key, secrets=self._secrets
            ) from None

    def exists(self, key: str) -> bool:
        try:
            with self._talking(key):
                self._store.head(key)
        except FileNotFoundError:
            return False
        return True

    def size(self, key: str) -> int:
        with self._talking(key):
            return int(self._store.head(key)["size"])

    def list(self, prefix: str) -> Iterator[str]:
        with self._talking(prefix):
            for chunk in self._store.list(prefix, chunk_size=1000):
                for meta in chunk:
                    yield str(meta["path"])

    def scan(self, prefix: str) -> Iterator[Listed]:
        with self._talking(prefix):
            for chunk in self._store.list(prefix, chunk_size=1000):
                for meta in chunk:
                    modified = meta["last_modified"]
                    yield Listed(str(meta["path"]), int(meta["size"]), modified.timestamp())

    def read(self, key: str) -> bytes:
        with self._talking(key):
            return bytes(self._store.get(key).bytes())

    def download(
        self, key: str, dest: str, sink: Callable[[bytes | memoryview], object] | None = None
    ) -> int:
        with self._talking(key):
            chunks = iter(self._store.get(key).stream(min_chunk_size=_CHUNK))
        n = 0
        with open(dest, "xb") as f:  # (an error writing it is the local disk's, not the remote's)
            while True:
                with self._talking(key):
                    chunk = next(chunks, None)
                if chunk is None:
                    return n
                view = memoryview(chunk)
                n += f.write(view)
                if sink is not None:
                    sink(view)

    def write(self, key: str, data: bytes) -> None:
        with self._talking(key):
            self._store.put(key, data)

    def upload(self, key: str, src: str) -> None:
        with self._talking(key):
            self._store.put(key, Path(src))

    def delete(self, keys: Sequence[str]) -> None:
        if keys:
            with self._talking(keys[0]):
                self._store.delete(list(keys))

    def flush(self) -> None:
        pass  # a completed PUT is durable

    def close(self) -> None:
        pass
