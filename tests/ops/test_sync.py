"""``mlrepro push``, ``fetch`` and ``pull`` in real repositories, against a folder remote
and moto's S3 server: round trips to a fresh clone, no-op pushes, refused downloads,
interrupted pushes, history scopes, the audit entries, and credentials kept out of
every file, record and message."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import xxhash

from tests.ops.conftest import Proj, git_env
from tests.ops.test_gc import setup as gc_setup
from tests.s3server import FAKE_SECRET, Proxy, S3Server

KINDS = ["local", "s3"]


def setup(proj: Proj, n: int = 1) -> None:
    """gc's project (raw data added with ``mlrepro add``, a stage with a file and a
    folder output), committed."""
    gc_setup(proj, n)
    proj.commit(f"n={n}")


def clone(proj: Proj, dest: Path) -> Proj:
    subprocess.run(
        ["git", "clone", "-q", str(proj.root), str(dest)], check=True, env=git_env()
    )
    return Proj(root=dest, tool=proj.tool, outside=proj.outside)


def outputs(proj: Proj) -> dict[str, bytes]:
    found = {}
    for top in ("raw", "feats", "model.json"):
        p = proj.root / top
        files = [p] if p.is_file() else sorted(q for q in p.rglob("*") if q.is_file())
        for f in files:
            found[str(f.relative_to(proj.root))] = f.read_bytes()
    return found


def remote_objects(url: str, server: S3Server | None = None) -> dict[str, bytes]:
    """Every object on the remote, by key below its objects folder."""
    if server is None:
        base = Path(url) / "files" / "xxh3-128"
        return {
            str(p.relative_to(base)): p.read_bytes()
            for p in base.rglob("*")
            if p.is_file() and not p.name.startswith(".")
        }
    bucket, _, prefix = url[len("s3://") :].partition("/")
    client = server.client()
    out = {}
    for page in client.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix=f"{prefix}/files/xxh3-128/"
    ):
        for item in page.get("Contents", []):
            key = item["Key"]
            out[key.split("files/xxh3-128/", 1)[1]] = client.get_object(Bucket=bucket, Key=key)[
                "Body"
            ].read()
    return out


@pytest.mark.parametrize("remote", KINDS, indirect=True)
def test_a_fresh_clone_pulls_everything_and_is_up_to_date(
    proj: Proj, remote: Callable[[Proj], str], tmp_path: Path
) -> None:
    setup(proj)
    remote(proj)
    pushed = proj.ok("push")
    # every object of the cache, counted as DVC counts: a folder's tree is one more
    assert f"{len(proj.objects())} files pushed" in pushed.stdout
    other = clone(proj, tmp_path / "clone")
    pulled = other.ok("pull")
    assert "files fetched" in pulled.stdout
    assert outputs(other) == outputs(proj)
    assert "up to date" in other.ok("status").stdout.lower()
    # nothing left to do, both ways
    assert other.ok("pull").stdout.strip().endswith("Everything is up to date.")
    assert proj.ok("push").stdout.strip() == "Everything is up to date."


@pytest.mark.parametrize("remote", KINDS, indirect=True)
def test_a_no_op_push_asks_the_remote_when_the_record_is_gone(
    proj: Proj, remote: Callable[[Proj], str]
) -> None:
    setup(proj)
    remote(proj)
    proj.ok("push")
    shutil.rmtree(proj.root / ".mlrepro" / "state" / "remotes")
    assert proj.ok("push").stdout.strip() == "Everything is up to date."


def test_every_object_on_the_remote_is_named_by_its_bytes_and_trees_come_whole(
    proj: Proj, tmp_path: Path
) -> None:
    setup(proj)
    url = str(tmp_path / "remote")
    proj.ok("remote", "add", "-d", "store", url)
    proj.ok("push")
    objects = remote_objects(url)
    cached = {f"{x[:2]}/{x[2:]}": p.read_bytes() for x, p in proj.objects().items()}
    assert objects == cached
    for key, data in objects.items():
        assert xxhash.xxh3_128_hexdigest(data) == key.replace("/", "")
    assert not list(Path(url).rglob(".tmp-*"))


@pytest.mark.parametrize("remote", KINDS, indirect=True)
def test_pull_refuses_a_corrupted_and_a_substituted_object_and_names_them(
    proj: Proj, remote: Callable[[Proj], str], tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    setup(proj)
    url = remote(proj)
    proj.ok("push")
    lock = proj.lock()
    model = next(a for a in lock["stages"]["gen"]["outs"] if a["path"] == "model.json")
    raw = lock["data"][0]["path"]
    victim = model["digest"].split(":")[1]
    donor_path = proj.root / "raw" / "a.csv"
    donor = donor_path.read_bytes()  # a valid object of its own, under another name
    files = sorted(p for p in (proj.root / "feats").rglob("*") if p.is_file())
    corrupt = xxhash.xxh3_128_hexdigest(files[0].read_bytes())
    server = request.getfixturevalue("s3_server") if url.startswith("s3://") else None
    put(url, victim, donor, server)
    put(url, corrupt, b"not what it was", server)
    other = clone(proj, tmp_path / "clone")
    got = other.fails("pull")
    assert f"xxh3-128:{victim}" in got.stderr and f"xxh3-128:{corrupt}" in got.stderr
    assert "does not match its digest" in got.stderr
    cache = other.root / ".mlrepro" / "cache" / "xxh3-128"
    for name in (victim, corrupt):
        assert not (cache / name[:2] / name[2:]).exists()
    assert not (other.root / "model.json").exists()
    assert not (other.root / "feats").exists()  # a folder missing a file is not checked out
    assert (other.root / raw).exists()  # what checked out is kept


def put(url: str, xxh: str, data: bytes, server: S3Server | None) -> None:
    if server is None:
        p = Path(url) / "files" / "xxh3-128" / xxh[:2] / xxh[2:]
        p.chmod(0o644)
        p.write_bytes(data)
        return
    bucket, _, prefix = url[len("s3://") :].partition("/")
    server.client().put_object(
        Bucket=bucket, Key=f"{prefix}/files/xxh3-128/{xxh[:2]}/{xxh[2:]}", Body=data
    )


def test_push_and_pull_are_recorded_without_credentials(
    proj: Proj, s3_server: S3Server, s3_env: dict[str, str], tmp_path: Path
) -> None:
    setup(proj)
    bucket = s3_server.new_bucket()
    planted_key, planted_secret = "AKIAPLANTEDKEY000001", "planted-Secret-in-config-local-99"
    proj.ok("remote", "add", "-d", "store", f"s3://{bucket}/c")
    proj.ok("remote", "modify", "store", "endpointurl", s3_server.endpoint)
    proj.ok("remote", "modify", "--local", "store", "access_key_id", planted_key)
    proj.ok("remote", "modify", "--local", "store", "secret_access_key", planted_secret)
    outputs_seen = [proj.ok("push"), proj.ok("fetch")]
    # a failing one: the remote's endpoint refuses connections
    proj.ok("remote", "modify", "--local", "store", "endpointurl", "http://127.0.0.1:9")
    proj.ok("remote", "modify", "--local", "store", "retries", "0")
    proj.ok("remote", "modify", "--local", "store", "connect_timeout", "1")
    shutil.rmtree(proj.root / ".mlrepro" / "state" / "remotes", ignore_errors=True)
    failed = proj.fails("push")
    outputs_seen.append(failed)
    assert "remote 'store'" in failed.stderr
    entries = json.loads(proj.ok("audit", "log", "--json").stdout)["entries"]
    pushes = [e for e in entries if e["action"] == "remote.push"]
    assert pushes and pushes[0]["details"]["url"] == f"s3://{bucket}/c"
    assert pushes[0]["details"]["objects"] > 0
    proj.commit("after")
    secrets = (planted_key, planted_secret, FAKE_SECRET)
    for proc in outputs_seen:
        for s in secrets:
            assert s not in proc.stdout + proc.stderr
    local_config = proj.root / ".mlrepro" / "config.local"
    for path in proj.root.rglob("*"):
        if path.is_file() and path != local_config:
            data = path.read_bytes()
            for s in secrets:
                assert s.encode() not in data, path


def test_history_scopes_push_what_each_revision_needs(proj: Proj, tmp_path: Path) -> None:
    setup(proj, n=1)
    url = str(tmp_path / "remote")
    proj.ok("remote", "add", "-d", "store", url)
    proj.commit("remote")
    proj.git("branch", "one")
    proj.params({"n": 2})
    proj.ok("repro")
    proj.commit("n=2")
    proj.ok("push")  # the workspace only: n=2's model
    other = clone(proj, tmp_path / "clone")
    other.git("checkout", "-q", "one")
    assert other.fails("pull").returncode == 1  # n=1's model was never pushed
    proj.ok("push", "--rev", "one")
    assert other.ok("pull")
    assert json.loads((other.root / "model.json").read_text()) == 1


def test_push_killed_mid_way_leaves_no_partial_folder_and_a_rerun_finishes(
    proj: Proj, tmp_path: Path
) -> None:
    for i in range(400):
        proj.write(f"many/{i:03d}.bin", os.urandom(2048))
    proj.ok("add", "many")
    url = Path(tmp_path / "remote")
    proj.ok("remote", "add", "-d", "store", str(url))
    tree = proj.data_records()["many"]["digest"].split(":")[1]
    tree_path = url / "files" / "xxh3-128" / tree[:2] / tree[2:]
    killed = False
    for _ in range(5):
        p = proj.popen("push", "-j", "1", start_new_session=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(list(url.rglob("*"))) < 150:
            time.sleep(0.005)
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
        if not tree_path.exists():
            killed = True
            break
    assert killed, "every push finished before it could be killed"
    # every object there is whole: named by its bytes
    for key, data in remote_objects(str(url)).items():
        assert xxhash.xxh3_128_hexdigest(data) == key.replace("/", "")
    done = proj.ok("push")
    assert "files pushed" in done.stdout
    assert tree_path.exists()
    assert len(remote_objects(str(url))) == 401


@pytest.fixture
def proxy(s3_server: S3Server) -> Iterator[Proxy]:
    p = Proxy(int(s3_server.endpoint.rsplit(":", 1)[1]))
    yield p
    p.cut()


def test_s3_server_gone_mid_push_fails_clearly_and_a_rerun_completes(
    proj: Proj, s3_server: S3Server, s3_env: dict[str, str], proxy: Proxy
) -> None:
    for i in range(120):
        proj.write(f"many/{i:03d}.bin", os.urandom(1024))
    proj.ok("add", "many")
    bucket = s3_server.new_bucket()
    url = f"s3://{bucket}/c"
    proj.ok("remote", "add", "-d", "store", url)
    proj.ok("remote", "modify", "store", "endpointurl", f"http://127.0.0.1:{proxy.port}")
    proj.ok("remote", "modify", "store", "retries", "0")
    proj.ok("remote", "modify", "store", "connect_timeout", "2")
    proxy.cut_after = 60
    failed = proj.fails("push", "-j", "4")
    assert "remote 'store'" in failed.stderr
    half = remote_objects(url, s3_server)
    assert 0 < len(half) < 121
    tree = proj.data_records()["many"]["digest"].split(":")[1]
    assert f"{tree[:2]}/{tree[2:]}" not in half  # no tree before all its files
    for key, data in half.items():
        assert xxhash.xxh3_128_hexdigest(data) == key.replace("/", "")
    proxy.resume()
    proj.ok("remote", "modify", "store", "endpointurl", f"http://127.0.0.1:{proxy.port}")
    assert "files pushed" in proj.ok("push").stdout
    assert len(remote_objects(url, s3_server)) == 121


def test_no_remote_and_unknown_remote_are_clear_errors(proj: Proj) -> None:
    setup(proj)
    got = proj.fails("push")
    assert "no remote given" in got.stderr and "mlrepro remote add" in got.stderr
    got = proj.fails("pull", "-r", "nowhere")
    assert "remote 'nowhere' does not exist" in got.stderr


def test_fetch_of_a_large_object_is_verified_on_disk(proj: Proj, tmp_path: Path) -> None:
    data = os.urandom(3 << 20)  # above the small-object size: downloaded to a file
    proj.write("big.bin", data)
    proj.ok("add", "big.bin")
    url = tmp_path / "remote"
    proj.ok("remote", "add", "-d", "store", str(url))
    proj.commit("big")
    proj.ok("push")
    other = clone(proj, tmp_path / "clone")
    xxh = proj.data_records()["big.bin"]["digest"].split(":")[1]
    obj = url / "files" / "xxh3-128" / xxh[:2] / xxh[2:]
    obj.chmod(0o644)
    obj.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    got = other.fails("pull")
    assert f"xxh3-128:{xxh}" in got.stderr
    assert not (other.root / "big.bin").exists()
    assert not any((other.root / ".mlrepro" / "cache" / "tmp").iterdir())
    obj.write_bytes(data)
    other.ok("pull")
    assert hashlib.sha256((other.root / "big.bin").read_bytes()).digest() == hashlib.sha256(
        data
    ).digest()


def counted(proj: Proj, n: int) -> None:
    """A stage that logs each run (outside the repository) and writes ``n``."""
    proj.params({"n": n})
    proj.pipeline(
        {
            "gen": {
                "cmd": proj.cmd(
                    ["log", str(proj.ext("runs.log")), "gen"],
                    ["param", "model.json", "params.yaml", "n"],
                    ["mkfiles", "feats", "2"],
                ),
                "params": ["n"],
                "outs": ["model.json", "feats"],
            }
        }
    )


def shared_origin(proj: Proj, tmp_path: Path) -> Path:
    """A bare repository as ``origin``, holding main and the audit log."""
    origin = tmp_path / "origin.git"
    subprocess.run(
        ["git", "init", "-q", "--bare", "-b", "main", str(origin)], check=True, env=git_env()
    )
    proj.git("remote", "add", "origin", str(origin))
    proj.git("push", "-q", "origin", "main")
    proj.ok("audit", "push")
    return origin


def test_repro_pull_on_a_fresh_clone_restores_a_run_made_elsewhere(
    proj: Proj, tmp_path: Path
) -> None:
    counted(proj, 1)
    proj.ok("repro")
    proj.commit("n=1")
    counted(proj, 2)
    proj.ok("repro")
    proj.ok("remote", "add", "-d", "store", str(tmp_path / "remote"))
    proj.commit("n=2")
    assert proj.runs("gen") == 2
    pushed = proj.ok("push", "--run-cache")
    assert "2 run-cache entries" in pushed.stdout
    origin = shared_origin(proj, tmp_path)
    other = Proj(root=tmp_path / "clone", tool=proj.tool, outside=proj.outside)
    subprocess.run(["git", "clone", "-q", str(origin), str(other.root)], check=True, env=git_env())
    # back to n=1: a state this clone never saw, whose run only the run-cache knows
    other.params({"n": 1})
    done = other.ok("repro", "--pull")
    assert "audit log pulled from origin" in done.stdout
    assert "Stage 'gen' restored from the run-cache" in done.stdout
    assert proj.runs("gen") == 2  # nothing ran again
    assert json.loads((other.root / "model.json").read_text()) == 1
    # without the log, the same entries are not used: the stage runs
    third = Proj(root=tmp_path / "third", tool=proj.tool, outside=proj.outside)
    subprocess.run(["git", "clone", "-q", str(origin), str(third.root)], check=True, env=git_env())
    third.ok("fetch", "--run-cache")
    third.params({"n": 1})
    assert "Running stage 'gen'" in third.ok("repro").stdout
    assert proj.runs("gen") == 3


def test_a_pulled_run_cache_entry_whose_output_was_replaced_is_not_kept(
    proj: Proj, tmp_path: Path
) -> None:
    counted(proj, 1)
    proj.ok("repro")
    url = tmp_path / "remote"
    proj.ok("remote", "add", "-d", "store", str(url))
    proj.commit("n=1")
    proj.ok("push", "--run-cache")
    model = proj.out_record("gen", "model.json")["digest"].split(":")[1]
    obj = url / "files" / "xxh3-128" / model[:2] / model[2:]
    obj.chmod(0o644)
    obj.write_bytes(b"5\n")  # another answer under the same name
    other = clone(proj, tmp_path / "clone")
    got = other.fails("fetch", "--run-cache")
    assert f"xxh3-128:{model}" in got.stderr
    assert not list((other.root / ".mlrepro" / "cache" / "runs").rglob("*/*"))


def test_repro_pull_brings_the_raw_data_it_lacks_and_leaves_edited_data_alone(
    proj: Proj, tmp_path: Path
) -> None:
    setup(proj)  # raw/ added with `mlrepro add`, read by no stage; gen's outputs
    proj.ok("remote", "add", "-d", "store", str(tmp_path / "remote"))
    proj.commit("remote")
    proj.ok("push", "--run-cache")
    origin = shared_origin(proj, tmp_path)
    other = Proj(root=tmp_path / "clone", tool=proj.tool, outside=proj.outside)
    subprocess.run(["git", "clone", "-q", str(origin), str(other.root)], check=True, env=git_env())
    assert not (other.root / "raw").exists()
    other.ok("repro", "--pull")
    assert outputs(other) == outputs(proj)
    # data that is there is the user's: an edit is what the next repro must see
    other.write("raw/a.csv", "edited\n")
    other.ok("repro", "--pull")
    assert other.read("raw/a.csv") == "edited\n"
