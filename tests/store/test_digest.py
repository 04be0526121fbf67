"""Streaming digests equal the one-shot digests of the whole bytes, whatever the chunking."""

from __future__ import annotations

import errno
import hashlib
import io
import os
from pathlib import Path

import pytest
import xxhash
from hypothesis import given, settings
from hypothesis import strategies as st

from mlrepro.store.digest import (
    CHUNK,
    FIRST_READ,
    SHA,
    SMALL,
    XXH,
    Digest,
    bare,
    digest_bytes,
    hash_file,
    hash_mapped,
    hash_stream,
    is_hex,
    is_tagged,
    read_fd,
    read_small,
    sha_bytes,
    tag_sha,
    tag_xxh,
    xxh_bytes,
)

DATA = st.binary(max_size=4096)


def expected(data: bytes) -> tuple[str, str]:
    return xxhash.xxh3_128_hexdigest(data), hashlib.sha256(data).hexdigest()


def check(digest: Digest, data: bytes, *, sha: bool) -> None:
    xxh, sha256 = expected(data)
    assert digest.xxh == xxh
    assert digest.size == len(data)
    assert digest.sha == (sha256 if sha else None)


@given(data=DATA, chunk=st.integers(1, 64), sha=st.booleans())
def test_chunks_smaller_than_the_data(data: bytes, chunk: int, sha: bool) -> None:
    check(hash_stream(io.BytesIO(data), sha=sha, chunk=chunk), data, sha=sha)


@given(data=DATA, extra=st.integers(1, 10_000), sha=st.booleans())
def test_chunk_larger_than_the_data(data: bytes, extra: int, sha: bool) -> None:
    check(hash_stream(io.BytesIO(data), sha=sha, chunk=len(data) + extra), data, sha=sha)


@given(chunk=st.integers(1, 512), count=st.integers(1, 12), seed=st.binary(min_size=1, max_size=8))
def test_data_an_exact_multiple_of_the_chunk(chunk: int, count: int, seed: bytes) -> None:
    data = (seed * (chunk * count))[: chunk * count]
    assert len(data) % chunk == 0
    for sha in (False, True):
        check(hash_stream(io.BytesIO(data), sha=sha, chunk=chunk), data, sha=sha)


@given(data=DATA, chunk=st.integers(1, 100), sha=st.booleans())
def test_sink_receives_exactly_the_bytes_in_order(data: bytes, chunk: int, sha: bool) -> None:
    pieces: list[bytes] = []
    # the sink gets a view of a reused buffer: it must copy what it keeps
    digest = hash_stream(
        io.BytesIO(data), sha=sha, chunk=chunk, sink=lambda v: pieces.append(bytes(v))
    )
    assert b"".join(pieces) == data
    assert all(0 < len(p) <= chunk for p in pieces)
    check(digest, data, sha=sha)


@given(data=DATA, hint=st.one_of(st.none(), st.just("exact"), st.integers(0, 10_000)))
@settings(max_examples=50)
def test_hash_file_equals_whole_bytes(
    tmp_path_factory: pytest.TempPathFactory, data: bytes, hint: int | str | None
) -> None:
    # ``size`` is a hint that picks the read-whole path; a stale hint must not change the digest
    path = tmp_path_factory.mktemp("f") / "data.bin"
    path.write_bytes(data)
    size = len(data) if hint == "exact" else hint
    assert not isinstance(size, str)
    for sha in (False, True):
        check(hash_file(str(path), sha=sha, size=size), data, sha=sha)
    assert read_small(str(path)) == data
    check(digest_bytes(data, sha=True), data, sha=True)


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty"
    path.write_bytes(b"")
    digest = hash_file(str(path), sha=True)
    assert digest == Digest(
        xxh=xxhash.xxh3_128_hexdigest(b""), size=0, sha=hashlib.sha256().hexdigest()
    )
    assert (
        hash_stream(io.BytesIO(b""), sink=lambda v: pytest.fail("sink called for no data")).size
        == 0
    )


def test_file_larger_than_the_default_chunk(tmp_path: Path) -> None:
    # several default-sized chunks and a short tail: exercises the sha256 helper
    # thread's double buffering on real reads
    data = hashlib.shake_256(b"mlrepro").digest(2 * CHUNK + 12345)
    path = tmp_path / "big.bin"
    path.write_bytes(data)
    for size in (None, len(data), 0):  # a stale small hint still reads everything
        check(hash_file(str(path), sha=True, size=size), data, sha=True)
    assert read_small(str(path)) == data


@pytest.mark.parametrize(
    "size",
    [0, 1, FIRST_READ - 1, FIRST_READ, FIRST_READ + 1, SMALL - 1, SMALL, SMALL + 1, 2 * SMALL + 7],
)
def test_read_fd_reads_to_the_end_around_its_read_sizes(tmp_path: Path, size: int) -> None:
    # the first read asks for FIRST_READ + 1 bytes and later ones for SMALL: a file
    # exactly at, or one byte past, either size must still come back whole
    data = hashlib.shake_256(b"%d" % size).digest(size)
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    fd = os.open(path, os.O_RDONLY)
    try:
        assert read_fd(fd) == data
        assert read_fd(fd) == b""  # at the end: nothing more
    finally:
        os.close(fd)


def test_one_shot_helpers() -> None:
    assert xxh_bytes(b"abc") == xxhash.xxh3_128_hexdigest(b"abc")
    assert sha_bytes(b"abc") == hashlib.sha256(b"abc").hexdigest()


def test_a_failing_sink_propagates() -> None:
    def boom(view: memoryview) -> None:
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        hash_stream(io.BytesIO(b"x" * 100), sha=True, sink=boom, chunk=10)


@given(data=st.binary(max_size=64))
def test_tagged_digests_round_trip(data: bytes) -> None:
    xxh, sha256 = expected(data)
    d = Digest(xxh=xxh, size=len(data), sha=sha256)
    assert d.tagged == f"{XXH}:{xxh}"
    assert d.tagged_sha == f"{SHA}:{sha256}"
    assert d.tagged == tag_xxh(xxh) and d.tagged_sha == tag_sha(sha256)
    assert bare(d.tagged) == xxh and bare(d.tagged_sha) == sha256
    assert is_tagged(d.tagged) and is_tagged(d.tagged_sha, SHA)
    assert not is_tagged(d.tagged, SHA) and not is_tagged(d.tagged_sha)
    assert is_hex(xxh) and is_hex(sha256, SHA) and not is_hex(sha256)
    assert Digest(xxh=xxh, size=0).tagged_sha is None


@pytest.mark.parametrize(
    ("value", "algo"),
    [
        ("sha256:" + "0" * 32, XXH),  # wrong tag
        ("xxh3-128:" + "0" * 31, XXH),  # too short
        ("xxh3-128:" + "0" * 33, XXH),  # too long
        ("xxh3-128:" + "G" * 32, XXH),  # not hex
        ("xxh3-128:" + "A" * 32, XXH),  # upper case is not the canonical form
        ("0" * 32, XXH),  # untagged
        ("xxh3-128:" + "0" * 64, SHA),
        ("xxh3-128:../../../../etc/passwd", XXH),  # a path, not a name: never opened
        ("xxh3-128:00/" + "0" * 29, XXH),
        ("md5:" + "0" * 32, XXH),
        ("", XXH),
    ],
)
def test_a_malformed_digest_is_refused(value: str, algo: str) -> None:
    assert not is_tagged(value, algo)
    with pytest.raises(ValueError, match="not a tagged digest"):
        bare(value)


@given(st.text(max_size=80))
def test_only_lower_case_hex_of_the_full_length_is_a_digest(text: str) -> None:
    """Whatever a record holds, a digest that passes names a file inside the cache."""
    ok = len(text) == 32 and set(text) <= set("0123456789abcdef")
    assert is_hex(text) is ok
    assert is_tagged(f"{XXH}:{text}") is ok
    if not ok:
        with pytest.raises(ValueError):
            bare(f"{XXH}:{text}")
    assert not is_tagged(text)  # untagged
    assert not is_tagged(None) and not is_tagged(32)


@pytest.mark.parametrize("sha", [False, True])
def test_a_sink_error_in_a_mapped_window_surfaces_as_itself(tmp_path: Path, sha: bool) -> None:
    """Issue 15: a full disk while a large file is copied into the cache surfaced as
    ``BufferError: cannot close exported pointers exist``. The failing sink (like the
    direct writer, which slices the window) leaves views of the window alive in its
    error's traceback, and closing the map under them raised over the real error."""
    data = os.urandom(3 * SMALL)
    path = tmp_path / "big.bin"
    path.write_bytes(data)

    def full_disk(view: memoryview) -> None:
        head = view[: len(view) // 2]  # held by this frame, as write_all holds its slices
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), f"{len(head)} bytes")

    with pytest.raises(OSError) as caught:
        hash_mapped(str(path), sha=sha, sink=full_disk)
    assert caught.value.errno == errno.ENOSPC
    assert not isinstance(caught.value.__context__, BufferError)
    del caught  # the error and the views it holds go; the map with them
    # the same thread's next file hashes as before (no window or helper left over)
    received: list[bytes] = []
    check(hash_mapped(str(path), sha=sha, sink=lambda v: received.append(bytes(v))), data, sha=sha)
    assert b"".join(received) == data


@settings(max_examples=60)
@given(
    chunks=st.lists(st.binary(max_size=3000), max_size=12),
    sha=st.booleans(),
)
def test_hasher_fed_in_chunks_gives_the_digest_of_the_whole(chunks: list[bytes], sha: bool) -> None:
    from mlrepro.store.digest import Hasher, digest_bytes

    hasher = Hasher(sha=sha)
    for chunk in chunks:
        hasher.update(memoryview(chunk))
    assert hasher.digest() == digest_bytes(b"".join(chunks), sha=sha)
