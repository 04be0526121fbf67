"""A remote's backend, chosen by its URL's scheme, and the remote's epoch.

``/path``, ``relative/path`` (to the project's root) and ``file:///path`` are folders
(:mod:`mlrepro.remote.local`); ``s3://bucket/prefix`` is S3 or any S3-compatible store
(:mod:`mlrepro.remote.s3`); ``gs://`` and ``azure://`` go through the same library,
untested here (docs/remote.md).
"""

from __future__ import annotations

import hashlib
import os
from typing import Any
from urllib.parse import unquote, urlsplit

from mlrepro.errors import MlreproError
from mlrepro.remote.base import Backend
from mlrepro.secrets import redact
from mlrepro.store.digest import is_hex

EPOCH_KEY = "mlrepro/epoch"  # rewritten by every remote gc (mlrepro.remote.known)
NO_EPOCH = "-"  # a remote no gc has run on
CLOUD = ("s3", "gs", "azure", "az")


def open_backend(name: str, options: dict[str, Any], root: str) -> Backend:
    url = str(options.get("url", ""))
    scheme = urlsplit(url).scheme.lower() if "://" in url else ""
    if scheme in CLOUD:
        from mlrepro.remote.s3 import open_cloud  # its library only when a cloud remote is used

        return open_cloud(name, url, scheme, options)
    if scheme == "file":
        path = unquote(urlsplit(url).path)
    elif scheme:
        raise MlreproError(
            f"remote '{name}': unsupported URL scheme '{scheme}://' in {redact(url)}",
            hint="use a folder path, file://, s3://, gs:// or azure://",
        )
    else:
        path = url
    if not path:
        raise MlreproError(
            f"remote '{name}' has an empty URL", hint="set one: `mlrepro remote add --force`"
        )
    from mlrepro.remote.local import LocalBackend

    return LocalBackend(name, os.path.join(root, os.path.expanduser(path)), url)


def read_epoch(backend: Backend) -> str:
    """The remote's epoch (:data:`NO_EPOCH` before its first gc)."""
    try:
        data = backend.read(EPOCH_KEY)
    except FileNotFoundError:
        return NO_EPOCH
    text = data.decode("ascii", "replace").strip()
    # anything else written there is still an epoch of its own, never "no gc yet"
    return text if is_hex(text) else hashlib.sha256(data).hexdigest()[:32]
