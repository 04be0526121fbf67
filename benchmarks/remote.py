"""Remote-cache benchmark (issue 17): push and pull, mlrepro beside DVC, in the same run.

Two remotes: a folder on this disk, and moto's S3 server on 127.0.0.1 (started here,
one process for the whole workload, as ``tests/s3server.py`` starts it for the
tests). Two data sets: 10,000 files of 4 KiB in one folder (``add data``), and one
file of 1 GiB. For each pair, each tool, in alternation:

- **push** to an empty remote (a new folder or bucket each run, and mlrepro's record
  of the remote dropped): objects/s and MB/s;
- **no-op push** of the same data again (the remote has it all);
- **pull** into a clone whose cache and workspace copy were removed: objects/s, MB/s;
  for the 1 GiB object also **fetch**, the download alone (a pull also copies the file
  into the workspace).

DVC is set up as its users would (``dvc add``, ``dvc remote add``, ``endpointurl``),
with the same credentials, and times the same operations; its runs need dvc-s3.

The 1 GiB object is also measured against a **plain copy with the same library**:
obstore's ``put``/``get`` of the file to the same server, or ``shutil.copyfile`` to
the same folder, timed inside one process (no start-up, no hashing), which is the
ceiling the target compares with: mlrepro's push and fetch at no less than 80% of it on
S3 (a folder remote's "plain copy" is a copy between page-cache pages, shown only). The
plain copy reads the very object mlrepro moved, three times (the median is kept): moto's
rate for one large upload moves by a factor of two from one run to the next.

moto on 127.0.0.1 answers in about a millisecond and serves about 480 requests a second
(one Python process), which caps both tools alike; a third case puts a proxy in front of
it that adds 25 ms to every request (a round trip to a cloud region), where how many
requests a tool keeps in flight decides.

**Library choice** (``library`` rows): obstore against pyarrow.fs on the same server,
each from a pool of 16 threads: puts and gets of 2,000 objects of 4 KiB, and one
object of 256 MiB up and down.
"""

from __future__ import annotations

import concurrent.futures as cf
import os
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import engine as en

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests import s3server

FILES = 10_000
FILE_SIZE = 4096
BIG = 1 << 30
SMALL_RATIO = 5.0  # DVC / mlrepro on the 10,000 small objects, push and pull
NOOP_PUSH_S = 1.0
PLAIN_SHARE = 0.8  # the 1 GiB object's rate against a plain copy
LATENCY = 0.025  # seconds added to each request in the "over a network" case


class Bench:
    def __init__(self, work: Path, tools: en.Tools, server: s3server.S3Server) -> None:
        self.work = work
        self.tools = tools
        self.server = server
        self.endpoint = server.endpoint  # where both tools send S3 requests (maybe a proxy)
        self.count = 0

    def remote_url(self, kind: str, tool: str) -> str:
        self.count += 1
        if kind.startswith("s3"):
            return f"s3://{self.server.new_bucket()}/{tool}"
        return str(self.work / "remotes" / f"{tool}-{self.count}")

    def use_remote(self, tool: str, root: Path, url: str) -> None:
        if tool == "mlrepro":
            en.sh([self.tools.mlrepro, "remote", "add", "-d", "-f", "store", url], root)
            en.rm(root / ".mlrepro" / "state" / "remotes")
        else:
            en.sh([self.tools.dvc, "remote", "add", "-d", "-f", "store", url], root)
            if url.startswith("s3://"):
                en.sh(
                    [
                        self.tools.dvc,
                        "remote",
                        "modify",
                        "store",
                        "endpointurl",
                        self.endpoint,
                    ],
                    root,
                )


def _files(root: Path, n: int) -> str:
    rnd = __import__("random").Random(17)
    for i in range(n):
        folder = root / "data" / f"d{i // 1000:02d}"
        if i % 1000 == 0:
            folder.mkdir(parents=True, exist_ok=True)
        (folder / f"f{i:05d}.bin").write_bytes(rnd.randbytes(FILE_SIZE))
    return "data"


def _big(root: Path, size: int) -> str:
    chunk = os.urandom(1 << 20)
    with open(root / "big.bin", "wb") as f:
        for i in range(size >> 20):
            f.write(chunk[:-8] + i.to_bytes(8, "big"))
    return "big.bin"


def bench_remote(work: Path, tools: en.Tools, small: bool) -> en.Section:
    sec = en.Section("remote")
    files = 500 if small else FILES
    big = (64 << 20) if small else BIG
    # what an interrupted run left (remote folders of the same names) would make every
    # push find its objects there already
    en.retire(work / "remote")
    server = s3server.start()
    saved = dict(en.ENV)
    en.ENV.update(server.env())
    try:
        bench = Bench(work / "remote", tools, server)
        sec.notes += [
            f"moto's S3 server ({server.endpoint}) in a process of its own; a folder remote on "
            "the same disk as the repositories.",
            f"{files:,} files of {FILE_SIZE} bytes in one folder; one file of {big >> 20} MiB. "
            "Objects/s counts the files plus the folder's tree object (as both tools count).",
            f"Load average before: {en.loadavg()}.",
        ]
        for kind in ("local", "s3"):
            for data in ("small", "big"):
                _pair(sec, bench, kind, data, files, big, small)
        # S3 as it is over a network: each request a round trip longer (the small objects)
        proxy = s3server.Proxy(int(server.endpoint.rsplit(":", 1)[1]), delay=LATENCY)
        bench.endpoint = en.ENV["AWS_ENDPOINT_URL"] = proxy.endpoint
        try:
            _pair(sec, bench, f"s3 +{LATENCY * 1000:g} ms", "small", files, big, small)
        finally:
            proxy.cut()
            bench.endpoint = en.ENV["AWS_ENDPOINT_URL"] = server.endpoint
        _library(sec, server, small)
        sec.notes.append(f"Load average after: {en.loadavg()}.")
    finally:
        en.ENV.clear()
        en.ENV.update(saved)
        s3server.stop(server)
        en.retire(work / "remote")
    return sec


def _pair(
    sec: en.Section, bench: Bench, kind: str, data: str, files: int, big: int, small: bool
) -> None:
    base = bench.work / f"{kind.replace(' ', '').replace('+', '-')}-{data}"
    ml, dv = en.make_repos(base, bench.tools)
    make: Callable[[Path], str] = (
        (lambda r: _files(r, files)) if data == "small" else (lambda r: _big(r, big))
    )
    name = ""
    for root in en.roots(ml, dv):
        name = make(root)
    en.sh([bench.tools.mlrepro, "add", name], ml)
    if en.TIME_DVC:
        en.sh([bench.tools.dvc, "add", "-q", name], dv)
    objects = files + 1 if data == "small" else 1
    nbytes = files * FILE_SIZE if data == "small" else big
    label = f"{kind}, {files:,} x 4 KiB" if data == "small" else f"{kind}, {big >> 20} MiB"
    runs = 1 if small else (3 if data == "small" else 2)
    urls: dict[str, str] = {}

    def fresh(tool: str, root: Path) -> en.Prepare:
        def prepare() -> None:
            urls[tool] = bench.remote_url(kind, tool)
            bench.use_remote(tool, root, urls[tool])

        return prepare

    push_ml, push_dv = en.compare(
        f"{label}: push",
        ([bench.tools.mlrepro, "push"], ml, fresh("mlrepro", ml)),
        ([bench.tools.dvc, "push", "-q"], dv, fresh("dvc", dv)),
        runs=runs,
        dvc_runs=1,
    )
    assert push_ml
    sec.rows.append((f"{label}: push to an empty remote", push_ml, push_dv))
    noop_ml, noop_dv = en.compare(
        f"{label}: no-op push",
        ([bench.tools.mlrepro, "push"], ml, None),
        ([bench.tools.dvc, "push", "-q"], dv, None),
        runs=3,
        dvc_runs=1,
    )
    assert noop_ml
    sec.rows.append((f"{label}: no-op push", noop_ml, noop_dv))

    def forget(root: Path, *state: str) -> en.Prepare:
        def prepare() -> None:
            en.discard(*(root / s for s in state), root / name)
            en.sync()

        return prepare

    pull_ml, pull_dv = en.compare(
        f"{label}: pull",
        ([bench.tools.mlrepro, "pull"], ml, forget(ml, ".mlrepro/cache")),
        ([bench.tools.dvc, "pull", "-q"], dv, forget(dv, ".dvc/cache")),
        runs=runs,
        dvc_runs=1,
    )
    assert pull_ml
    sec.rows.append((f"{label}: pull into an empty cache", pull_ml, pull_dv))
    for what, series in (("push", push_ml), ("pull", pull_ml)):
        sec.extra.append(
            (
                f"{label}: mlrepro {what}",
                f"{objects / series.median:,.0f} objects/s, "
                f"{nbytes / series.median / 1e6:,.1f} MB/s",
            )
        )
    if data == "small":
        for what, m, d in (("push", push_ml, push_dv), ("pull", pull_ml, pull_dv)):
            en.ratio_check(
                sec, f"{label}: DVC / mlrepro {what} >= {SMALL_RATIO:g}x", d, m, SMALL_RATIO
            )
        sec.check(
            f"{label}: no-op push < {NOOP_PUSH_S:g} s",
            noop_ml.median,
            noop_ml.median < NOOP_PUSH_S,
            "{:.3f} s",
        )
    else:
        # the download alone (pull = fetch + checkout, which copies the file into place)
        fetch_ml, fetch_dv = en.compare(
            f"{label}: fetch",
            ([bench.tools.mlrepro, "fetch"], ml, forget(ml, ".mlrepro/cache")),
            ([bench.tools.dvc, "fetch", "-q"], dv, forget(dv, ".dvc/cache")),
            runs=runs,
            dvc_runs=1,
        )
        assert fetch_ml
        sec.rows.append((f"{label}: fetch into an empty cache", fetch_ml, fetch_dv))
        # the same bytes mlrepro moved: its cache object (as warm in the page cache)
        cached = next(p for p in (ml / ".mlrepro" / "cache" / "xxh3-128").rglob("*") if p.is_file())
        copies = [_plain(bench, kind, cached, urls["mlrepro"]) for _ in range(3)]
        up = statistics.median(u for u, _ in copies)
        down = statistics.median(d for _, d in copies)
        sec.extra.append((f"{label}: plain copy up / down", f"{up:,.0f} / {down:,.0f} MB/s"))
        for what, series, plain in (("push", push_ml, up), ("fetch", fetch_ml, down)):
            rate = nbytes / series.median / 1e6
            sec.extra.append(
                (f"{label}: mlrepro {what} against a plain copy", f"{rate / plain:.0%}")
            )
            if kind == "s3":  # the target is about a server; a folder is a memory copy
                sec.check(
                    f"{label}: mlrepro {what} >= {PLAIN_SHARE:.0%} of a plain copy",
                    rate / plain,
                    rate >= PLAIN_SHARE * plain,
                    "{:.0%}",
                )
    en.retire(base)


def _plain(bench: Bench, kind: str, src: Path, pushed: str) -> tuple[float, float]:
    """MB/s of copying ``src`` up and down with the backend's own library, in-process.
    On S3 the download is of the object mlrepro pushed to ``pushed`` and fetched just
    before (so moto serves it from a warm file, as it did for mlrepro's last fetch)."""
    size = src.stat().st_size
    dest = bench.work / "plain-copy"
    en.rm(dest)
    if kind == "local":
        far = bench.work / "remotes" / "plain"
        far.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        shutil.copyfile(src, far / "obj")
        up = time.perf_counter() - start
        start = time.perf_counter()
        shutil.copyfile(far / "obj", dest)
        down = time.perf_counter() - start
        en.rm(far / "obj")
    else:
        from obstore.store import S3Store

        store = S3Store(
            bench.server.new_bucket(),
            endpoint=bench.server.endpoint,
            client_options={"allow_http": True},
            region="us-east-1",
            access_key_id=s3server.FAKE_KEY,
            secret_access_key=s3server.FAKE_SECRET,
        )
        start = time.perf_counter()
        store.put("obj", src)
        up = time.perf_counter() - start
        bucket, _, prefix = pushed[len("s3://") :].partition("/")
        theirs = S3Store(
            bucket,
            prefix=prefix,
            endpoint=bench.server.endpoint,
            client_options={"allow_http": True},
            region="us-east-1",
            access_key_id=s3server.FAKE_KEY,
            secret_access_key=s3server.FAKE_SECRET,
        )
        key = f"files/xxh3-128/{src.parent.name}/{src.name}"
        start = time.perf_counter()
        with open(dest, "wb") as f:
            for chunk in theirs.get(key).stream(min_chunk_size=8 << 20):
                f.write(memoryview(chunk))
        down = time.perf_counter() - start
    en.rm(dest)
    return size / up / 1e6, size / down / 1e6


def _library(sec: en.Section, server: s3server.S3Server, small: bool) -> None:
    """obstore against pyarrow.fs, 16 threads each, on the same server."""
    import pyarrow.fs as pafs
    from obstore.store import S3Store

    n = 300 if small else 2000
    big = (16 if small else 256) << 20
    port = server.endpoint.rsplit(":", 1)[1]
    bucket = server.new_bucket()
    ob = S3Store(
        bucket,
        endpoint=server.endpoint,
        client_options={"allow_http": True},
        region="us-east-1",
        access_key_id=s3server.FAKE_KEY,
        secret_access_key=s3server.FAKE_SECRET,
    )
    pa = pafs.S3FileSystem(
        endpoint_override=f"127.0.0.1:{port}",
        scheme="http",
        access_key=s3server.FAKE_KEY,
        secret_key=s3server.FAKE_SECRET,
        region="us-east-1",
    )
    small_data = [os.urandom(FILE_SIZE) for _ in range(n)]
    blob = os.urandom(big)

    def pa_put(key: str, data: bytes) -> None:
        with pa.open_output_stream(f"{bucket}/{key}", compression=None) as f:
            f.write(data)

    def pa_get(key: str) -> bytes:
        with pa.open_input_stream(f"{bucket}/{key}", compression=None) as f:
            return bytes(f.read())

    clients = {
        "obstore": (lambda k, d: ob.put(k, d), lambda k: bytes(ob.get(k).bytes())),
        "pyarrow.fs": (pa_put, pa_get),
    }
    for name, (put, get) in clients.items():
        sec.extra.append(_client(name, put, get, small_data, blob))


def _client(
    name: str,
    put: Callable[[str, bytes], object],
    get: Callable[[str], bytes],
    small_data: list[bytes],
    blob: bytes,
) -> tuple[str, str]:
    n, big = len(small_data), len(blob)
    with cf.ThreadPoolExecutor(16) as pool:
        start = time.perf_counter()
        list(pool.map(lambda i: put(f"{name}/{i}", small_data[i]), range(n)))
        puts = n / (time.perf_counter() - start)
        start = time.perf_counter()
        list(pool.map(lambda i: get(f"{name}/{i}"), range(n)))
        gets = n / (time.perf_counter() - start)
    start = time.perf_counter()
    put(f"{name}/big", blob)
    up = big / (time.perf_counter() - start) / 2**20
    start = time.perf_counter()
    get(f"{name}/big")
    down = big / (time.perf_counter() - start) / 2**20
    return (
        f"library {name}: {n:,} x 4 KiB put / get; {big >> 20} MiB up / down",
        f"{puts:,.0f} / {gets:,.0f} objects/s; {up:,.0f} / {down:,.0f} MiB/s",
    )
