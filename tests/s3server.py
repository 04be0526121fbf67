"""A real S3 endpoint for the tests: moto's standalone server on 127.0.0.1, and a proxy.

``s3_server`` (session-scoped) starts ``python -m moto.server`` as a process of its own
on a free loopback port, so a test can kill it like a real server going away, and
stops it at the end. ``s3_env`` is what a process talking to it needs: fake
credentials, the endpoint, and no instance-metadata lookups (nothing here may leave
the machine). ``new_bucket`` makes an empty bucket with a name of its own.
:class:`Proxy` stands in front of it to make it slow (a network's round trip) or make
it go away mid-transfer without losing what it stored (benchmarks/remote.py uses both).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

FAKE_KEY = "AKIAMLREPROTESTKEY01"
FAKE_SECRET = "mlrepro-test-secret-0123456789abcdefXYZ"
_names = itertools.count()


@dataclass
class S3Server:
    endpoint: str
    process: subprocess.Popen[bytes]

    def env(self) -> dict[str, str]:
        return {
            "AWS_ACCESS_KEY_ID": FAKE_KEY,
            "AWS_SECRET_ACCESS_KEY": FAKE_SECRET,
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1",
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_ENDPOINT_URL": self.endpoint,
        }

    def client(self):  # type: ignore[no-untyped-def]
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=FAKE_KEY,
            aws_secret_access_key=FAKE_SECRET,
            region_name="us-east-1",
        )

    def new_bucket(self) -> str:
        name = f"mlrepro-{os.getpid()}-{next(_names)}"
        self.client().create_bucket(Bucket=name)
        return name


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(port: int | None = None) -> S3Server:
    port = port or free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError("moto's server did not start") from None
            time.sleep(0.05)
    return S3Server(f"http://127.0.0.1:{port}", proc)


def stop(server: S3Server) -> None:
    server.process.kill()
    server.process.wait()


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    server = start()
    yield server
    stop(server)


@pytest.fixture
def s3_env(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The server's settings in this process's environment (and for its children)."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL_S3", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    env = s3_server.env()
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


class Proxy:
    """A loopback TCP proxy in front of a server. ``delay``: seconds added to every HTTP
    request (a round trip to a distant region); ``cut_after``: after that many uploads
    have started, it stops answering (its socket closed, every connection dropped), a
    server gone mid-push that still holds what it stored; :meth:`resume` listens again
    on the same port."""

    def __init__(self, target_port: int, *, delay: float = 0.0) -> None:
        self.target = target_port
        self.delay = delay
        self.port = 0
        self.conns: set[socket.socket] = set()
        self.lock = threading.Lock()
        self.uploads = 0  # PUT requests started
        self.cut_after: int | None = None
        self._listen()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _listen(self) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", self.port))
        self.port = self.sock.getsockname()[1]
        self.sock.listen(256)
        threading.Thread(target=self._accept, args=(self.sock,), daemon=True).start()

    def _accept(self, sock: socket.socket) -> None:
        while True:
            try:
                client, _ = sock.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target))
            with self.lock:
                self.conns |= {client, upstream}
            threading.Thread(target=self._pipe, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, False), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket, requests: bool) -> None:
        try:
            while data := src.recv(65536):
                if requests and data[:4] in (b"PUT ", b"GET ", b"HEAD", b"POST", b"DELE"):
                    if self.delay:
                        time.sleep(self.delay)  # (a request's body follows its head unslowed)
                    if data[:4] == b"PUT ":
                        with self.lock:
                            self.uploads += 1
                            cut = self.cut_after is not None and self.uploads > self.cut_after
                        if cut:
                            threading.Thread(target=self.cut, daemon=True).start()
                            return
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):  # the other direction's pipe ends too, and closes its own
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
            with self.lock:
                self.conns.discard(src)
            src.close()

    def cut(self) -> None:
        self.sock.close()
        with self.lock:
            conns, self.conns = self.conns, set()
        for c in conns:
            with contextlib.suppress(OSError):
                c.shutdown(socket.SHUT_RDWR)
                c.close()

    def resume(self) -> None:
        self.cut_after = None
        self._listen()
