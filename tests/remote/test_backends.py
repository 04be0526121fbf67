"""One conformance suite for every remote backend (a folder, and S3 on moto's server):
round trips, large files, missing keys, listings, deletes, threads, and errors that
never show a credential."""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlrepro.remote.base import OBJECTS, Backend, RemoteError, key_object, object_key
from mlrepro.remote.local import LocalBackend
from mlrepro.remote.open import NO_EPOCH, open_backend, read_epoch
from tests.s3server import FAKE_SECRET, S3Server, free_port

KINDS = ["local", "s3"]
BIG = (6 << 20) + 12_345  # above S3's 5 MB part: a multipart upload there
HEX = "0123456789abcdef"
_spaces = itertools.count()

Factory = Callable[[], Backend]


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def new_backend(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Factory]:
    """A maker of empty remotes of this kind, each in a namespace of its own (a folder,
    or a prefix of a fresh bucket)."""
    made: list[Backend] = []
    if kind == "local":

        def make() -> Backend:
            root = str(tmp_path / f"remote{next(_spaces)}")
            made.append(LocalBackend("r", root, root))
            return made[-1]

    else:
        server: S3Server = request.getfixturevalue("s3_server")
        request.getfixturevalue("s3_env")
        bucket = server.new_bucket()

        def make() -> Backend:
            url = f"s3://{bucket}/some/prefix/{next(_spaces)}"
            made.append(open_backend("r", {"url": url}, str(tmp_path)))
            return made[-1]

    yield make
    for backend in made:
        backend.close()


@pytest.fixture
def backend(new_backend: Factory) -> Backend:
    return new_backend()


def names_of(backend: Backend, prefix: str) -> list[str]:
    return sorted(backend.list(prefix))


# -- every backend ----------------------------------------------------------------------


def test_write_read_round_trip(backend: Backend) -> None:
    backend.write("runs/ab/cd", b"hello")
    backend.write("files/xxh3-128/00/empty", b"")
    assert backend.read("runs/ab/cd") == b"hello"
    assert backend.read("files/xxh3-128/00/empty") == b""


def test_large_upload_download_byte_identical(
    backend: Backend, kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    data = os.urandom(BIG)
    src = tmp_path / "src.bin"
    src.write_bytes(data)
    backend.upload("files/big", str(src))
    assert backend.size("files/big") == BIG
    dest = tmp_path / "dest.bin"
    assert backend.download("files/big", str(dest)) == BIG
    assert dest.read_bytes() == data
    if kind == "s3":  # it went up in parts: S3 gives such an object an ETag "<md5>-<parts>"
        server: S3Server = request.getfixturevalue("s3_server")
        bucket, prefix = _bucket_and_prefix(backend)
        etag = server.client().head_object(Bucket=bucket, Key=f"{prefix}/files/big")["ETag"]
        assert "-" in etag


def test_download_refuses_an_existing_dest(backend: Backend, tmp_path: Path) -> None:
    backend.write("k", b"remote bytes")
    dest = tmp_path / "dest"
    dest.write_bytes(b"mine")
    with pytest.raises(FileExistsError):
        backend.download("k", str(dest))
    assert dest.read_bytes() == b"mine"


def test_exists_and_size(backend: Backend) -> None:
    assert not backend.exists("files/a")
    backend.write("files/a", b"12345")
    assert backend.exists("files/a")
    assert backend.size("files/a") == 5
    assert not backend.exists("files/b")
    assert not backend.exists("files")  # a folder is not a key
    with pytest.raises(FileNotFoundError):
        backend.size("files/b")


def test_missing_key_is_file_not_found(backend: Backend, tmp_path: Path) -> None:
    backend.write("files/other", b"x")  # the remote exists; only the key is missing
    with pytest.raises(FileNotFoundError) as info:
        backend.read("files/missing")
    assert not isinstance(info.value, RemoteError)
    dest = tmp_path / "dest"
    with pytest.raises(FileNotFoundError) as info2:
        backend.download("files/missing", str(dest))
    assert not isinstance(info2.value, RemoteError)
    assert not dest.exists()


def test_missing_key_of_an_empty_remote_is_file_not_found(backend: Backend) -> None:
    with pytest.raises(FileNotFoundError):
        backend.read("runs/00/00")
    assert read_epoch(backend) == NO_EPOCH


def test_list_is_recursive_relative_and_exact(backend: Backend) -> None:
    keys = [
        "files/ab/1",
        "files/ab/2",
        "files/ab/deep/er/3",
        "files/abc/4",  # a sibling whose name starts with "ab"
        "files/ab.x/5",
        "files/a",
        "runs/ab/6",
    ]
    for k in keys:
        backend.write(k, k.encode())
    assert names_of(backend, "files/ab") == ["files/ab/1", "files/ab/2", "files/ab/deep/er/3"]
    assert names_of(backend, "files/abc") == ["files/abc/4"]
    assert names_of(backend, "files") == sorted(k for k in keys if k.startswith("files/"))
    assert names_of(backend, "runs") == ["runs/ab/6"]


def test_scan_is_list_with_sizes_and_times(backend: Backend) -> None:
    before = time.time()
    sizes = {"files/ab/1": 0, "files/ab/deep/2": 5, "files/abc/3": 7}
    for k, n in sizes.items():
        backend.write(k, b"x" * n)
    scanned = sorted(backend.scan("files/ab"))
    assert [s.key for s in scanned] == names_of(backend, "files/ab")
    assert [(s.key, s.size) for s in scanned] == [("files/ab/1", 0), ("files/ab/deep/2", 5)]
    for s in scanned:  # (S3 keeps whole seconds)
        assert before - 2 <= s.mtime <= time.time() + 2
    assert list(backend.scan("files/none")) == []


def test_list_of_a_missing_or_emptied_folder_is_empty(backend: Backend) -> None:
    assert names_of(backend, "files") == []
    assert names_of(backend, "files/xxh3-128/00") == []
    backend.write("files/xxh3-128/00/a", b"a")
    backend.delete(["files/xxh3-128/00/a"])
    assert names_of(backend, "files/xxh3-128/00") == []
    assert names_of(backend, "nothing/here") == []


def test_delete_present_and_missing(backend: Backend) -> None:
    for k in ("files/a", "files/b", "files/c"):
        backend.write(k, b"x")
    backend.delete(["files/a", "files/missing", "files/c", "never/was"])
    assert names_of(backend, "files") == ["files/b"]
    assert not backend.exists("files/a")
    backend.delete([])
    backend.delete(["files/a"])  # twice: still not an error
    assert names_of(backend, "files") == ["files/b"]


def test_write_replaces(backend: Backend, tmp_path: Path) -> None:
    backend.write("k/v", b"first version, longer")
    backend.write("k/v", b"second")
    assert backend.read("k/v") == b"second"
    assert backend.size("k/v") == 6
    src = tmp_path / "src"
    src.write_bytes(b"third, from a file")
    backend.upload("k/v", str(src))
    assert backend.read("k/v") == b"third, from a file"
    assert names_of(backend, "k") == ["k/v"]


def test_threads(backend: Backend) -> None:
    keys = [f"files/{i % 7:02d}/{i:04d}" for i in range(200)]

    def data(key: str) -> bytes:
        return f"payload of {key}".encode() * (1 + len(key) % 5)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda k: backend.write(k, data(k)), keys))
        got = dict(zip(keys, pool.map(backend.read, keys), strict=True))
    assert got == {k: data(k) for k in keys}
    assert names_of(backend, "files") == sorted(keys)
    backend.flush()


NAMES = st.lists(
    st.one_of(
        st.text(HEX, min_size=32, max_size=32),
        # crowd a few prefix folders, so listings hold many names each
        st.builds(
            lambda p, r: p + r,
            st.sampled_from(["00", "0a", "a0", "ff"]),
            st.text(HEX, min_size=30, max_size=30),
        ),
    ),
    unique=True,
    max_size=30,
)


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=NAMES)
def test_object_names_list_back_exactly(new_backend: Factory, names: list[str]) -> None:
    backend = new_backend()  # a fresh namespace for each example
    for n in names:
        backend.write(object_key(n), n.encode())
    backend.write("runs/00/" + "1" * 62, b"not an object")
    keys = list(backend.list(OBJECTS))
    assert sorted(keys) == sorted(object_key(n) for n in names)
    assert sorted(key_object(k) or "" for k in keys) == sorted(names)
    for n in names[:3]:  # each prefix folder alone
        folder = f"{OBJECTS}/{n[:2]}"
        assert sorted(backend.list(folder)) == sorted(
            object_key(m) for m in names if m[:2] == n[:2]
        )


def test_read_epoch(backend: Backend) -> None:
    backend.write("mlrepro/epoch", b"0123456789abcdef0123456789abcdef\n")
    assert read_epoch(backend) == "0123456789abcdef0123456789abcdef"
    backend.write("mlrepro/epoch", b"not hex")
    other = read_epoch(backend)
    assert other != NO_EPOCH
    assert len(other) == 32


# -- a folder ---------------------------------------------------------------------------


def _files_below(root: Path) -> list[str]:
    return sorted(
        os.path.relpath(os.path.join(d, f), root) for d, _, fs in os.walk(root) for f in fs
    )


def test_local_leaves_no_temporary_files(tmp_path: Path) -> None:
    root = tmp_path / "remote"
    backend = LocalBackend("r", str(root), str(root))
    src = tmp_path / "src"
    src.write_bytes(b"from a file")
    backend.write(object_key("ab" * 16), b"x")
    backend.write(object_key("ab" * 16), b"y")
    backend.upload(object_key("cd" * 16), str(src))
    with pytest.raises(FileNotFoundError):
        backend.upload(object_key("ef" * 16), str(tmp_path / "no such file"))
    backend.flush()
    assert not any(".tmp-" in f for f in _files_below(root))
    assert not backend.exists(object_key("ef" * 16))
    assert _files_below(root) == [
        os.path.join("files", "xxh3-128", "ab", "ab" * 15),
        os.path.join("files", "xxh3-128", "cd", "cd" * 15),
    ]


def test_local_partial_temporary_file_is_no_object(tmp_path: Path) -> None:
    root = tmp_path / "remote"
    backend = LocalBackend("r", str(root), str(root))
    name = "ab" * 16
    backend.write(object_key(name), b"whole")
    (root / "files" / "xxh3-128" / "ab" / ".tmp-xyz").write_bytes(b"half of somethi")
    listed = list(backend.list(f"{OBJECTS}/ab"))
    assert [key_object(k) for k in sorted(listed)] == [None, name]
    assert key_object(f"{OBJECTS}/ab/.tmp-xyz") is None


def test_key_object_refuses_other_keys() -> None:
    name = "0123456789abcdef" * 2
    assert key_object(object_key(name)) == name
    for key in (
        f"{OBJECTS}/01/{name[2:]}x",
        f"{OBJECTS}/012/{name[3:]}",
        f"{OBJECTS}/{name}",
        f"runs/01/{name[2:]}",
        f"x/{OBJECTS}/01/{name[2:]}",
        f"{OBJECTS}/01/{name[2:].upper()}",
        f"{OBJECTS}/01/sub/{name[2:]}",
    ):
        assert key_object(key) is None, key


# -- S3 ---------------------------------------------------------------------------------


def _bucket_and_prefix(backend: Backend) -> tuple[str, str]:
    bucket, _, prefix = backend.url.removeprefix("s3://").partition("/")
    return bucket, prefix


def test_s3_keys_land_under_the_url(
    s3_server: S3Server, s3_env: dict[str, str], tmp_path: Path
) -> None:
    bucket = s3_server.new_bucket()
    prefixed = open_backend("r", {"url": f"s3://{bucket}/some/prefix"}, str(tmp_path))
    root = open_backend("r", {"url": f"s3://{bucket}"}, str(tmp_path))
    prefixed.write(object_key("ab" * 16), b"in the prefix")
    root.write(object_key("cd" * 16), b"at the root")
    client = s3_server.client()
    stored = sorted(o["Key"] for o in client.list_objects_v2(Bucket=bucket)["Contents"])
    assert stored == [object_key("cd" * 16), "some/prefix/" + object_key("ab" * 16)]
    # the bucket's root sees everything, keys relative to it
    assert sorted(root.list("files")) == [object_key("cd" * 16)]
    assert sorted(root.list("some")) == ["some/prefix/" + object_key("ab" * 16)]
    assert sorted(prefixed.list("files")) == [object_key("ab" * 16)]
    assert root.read(object_key("cd" * 16)) == b"at the root"
    assert root.exists(object_key("cd" * 16))
    assert root.size(object_key("cd" * 16)) == len(b"at the root")
    assert [key_object(k) for k in root.list(OBJECTS)] == ["cd" * 16]
    with pytest.raises(FileNotFoundError):
        root.read(object_key("ef" * 16))
    root.delete([object_key("cd" * 16)])
    assert list(root.list("files")) == []


def test_s3_missing_bucket_is_a_remote_error(s3_env: dict[str, str], tmp_path: Path) -> None:
    backend = open_backend("r", {"url": "s3://no-such-bucket-mlrepro/p"}, str(tmp_path))
    with pytest.raises(RemoteError) as info:
        backend.write("k", b"x")
    assert FAKE_SECRET not in str(info.value)


def test_s3_missing_bucket_error_never_holds_the_secret(
    s3_env: dict[str, str], tmp_path: Path
) -> None:
    backend = open_backend("r", {"url": "s3://no-such-bucket-mlrepro/p"}, str(tmp_path))
    for call in (lambda: backend.write("k", b"x"), lambda: backend.read("k")):
        with pytest.raises((FileNotFoundError, RemoteError)) as info:
            call()
        assert FAKE_SECRET not in str(info.value)
        assert FAKE_SECRET not in repr(info.value)


def test_s3_unreachable_endpoint_is_a_remote_error(s3_env: dict[str, str], tmp_path: Path) -> None:
    options = {
        "url": "s3://bucket/p",
        "endpointurl": f"http://127.0.0.1:{free_port()}",
        "retries": 0,
        "connect_timeout": 1,
    }
    backend = open_backend("r", options, str(tmp_path))
    for call in (
        lambda: backend.write("k", b"x"),
        lambda: backend.read("k"),
        lambda: backend.exists("k"),
        lambda: list(backend.list("files")),
        lambda: backend.download("k", str(tmp_path / "dest")),
    ):
        with pytest.raises(RemoteError) as info:
            call()
        text = str(info.value)
        assert "remote 'r'" in text
        assert FAKE_SECRET not in text
    assert not (tmp_path / "dest").exists()


def test_s3_planted_credentials_never_in_the_error(s3_env: dict[str, str], tmp_path: Path) -> None:
    key_id, secret = "AKIAPLANTED000000000", "planted-secret-value-123456"
    options = {
        "url": "s3://bucket/p",
        "endpointurl": f"http://127.0.0.1:{free_port()}",
        "access_key_id": key_id,
        "secret_access_key": secret,
        "retries": 0,
        "connect_timeout": 1,
    }
    backend = open_backend("r", options, str(tmp_path))
    assert key_id not in backend.url and secret not in backend.url
    with pytest.raises(RemoteError) as info:
        backend.write("k", b"x")
    for text in (str(info.value), repr(info.value), info.value.message):
        assert key_id not in text
        assert secret not in text
        assert FAKE_SECRET not in text
