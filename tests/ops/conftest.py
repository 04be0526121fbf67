"""Fixtures for the engine's integration tests: the real CLI in real git repositories.

Every test gets its own git work tree in a temp folder (pinned identity and dates,
no global or system git config) with ``mlrepro init`` already run. Stage commands
are ``<python> <tool.py> OP ARGS [+ OP ARGS ...]``: one small helper script
(written once per session, outside every repository) whose operations write,
copy, count runs, stamp times, sleep, wait for a file or fail. Counters and
timestamps go to files outside the repository, so they prove what ran without
being outputs themselves.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import xxhash
import yaml

PY = sys.executable

GIT_ENV = {
    "GIT_AUTHOR_NAME": "mlrepro tests",
    "GIT_AUTHOR_EMAIL": "tests@mlrepro.invalid",
    "GIT_COMMITTER_NAME": "mlrepro tests",
    "GIT_COMMITTER_EMAIL": "tests@mlrepro.invalid",
    "GIT_AUTHOR_DATE": "2024-01-01T00:00:00Z",
    "GIT_COMMITTER_DATE": "2024-01-01T00:00:00Z",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
}

# The stage helper. Operations are separated by a lone "+".
TOOL = r"""
import json, os, sys, time

def lookup(data, key):
    for part in key.split("."):
        data = data[int(part)] if isinstance(data, list) else data[part]
    return data

def op(name, args):
    if name == "write":          # write PATH TEXT
        os.makedirs(os.path.dirname(args[0]) or ".", exist_ok=True)
        with open(args[0], "w") as f:
            f.write(args[1])
    elif name == "append":       # append PATH TEXT
        os.makedirs(os.path.dirname(args[0]) or ".", exist_ok=True)
        with open(args[0], "a") as f:
            f.write(args[1])
    elif name == "cat":          # cat DEST SRC...: DEST = concatenation of the sources
        os.makedirs(os.path.dirname(args[0]) or ".", exist_ok=True)
        data = b"".join(open(s, "rb").read() for s in args[1:])
        with open(args[0], "wb") as f:
            f.write(data)
    elif name == "log":          # log FILE NAME: one line per run, outside the repository
        with open(args[0], "a") as f:
            f.write(args[1] + "\n")
    elif name == "stamp":        # stamp FILE NAME EVENT: a JSON line with the time and ids
        with open(args[0], "a") as f:
            f.write(json.dumps({"name": args[1], "event": args[2], "t": time.time(),
                                "pid": os.getpid(), "pgid": os.getpgid(0)}) + "\n")
    elif name == "sleep":
        time.sleep(float(args[0]))
    elif name == "waitfor":      # waitfor FILE [TIMEOUT]: until FILE exists
        deadline = time.time() + float(args[1] if len(args) > 1 else 60)
        while not os.path.exists(args[0]):
            if time.time() > deadline:
                sys.exit("waitfor: timed out")
            time.sleep(0.02)
    elif name == "fail":         # fail CODE
        print("tool: failing on purpose", flush=True)
        sys.exit(int(args[0]))
    elif name == "absent":       # absent PATH: fail (7) if PATH exists
        if os.path.lexists(args[0]):
            print(f"tool: {args[0]} exists", flush=True)
            sys.exit(7)
    elif name == "param":        # param DEST FILE KEY: DEST = the value as JSON
        import yaml
        with open(args[1]) as f:
            value = lookup(yaml.safe_load(f), args[2])
        os.makedirs(os.path.dirname(args[0]) or ".", exist_ok=True)
        with open(args[0], "w") as f:
            f.write(json.dumps(value))
    elif name == "mkfiles":      # mkfiles DIR N [PREFIX]
        prefix = args[2] if len(args) > 2 else ""
        for i in range(int(args[1])):
            sub = os.path.join(args[0], f"d{i % 10}")
            os.makedirs(sub, exist_ok=True)
            with open(os.path.join(sub, f"f{i}.txt"), "w") as f:
                f.write(f"{prefix}{i}\n")
    else:
        sys.exit(f"tool: unknown op {name}")

def main(argv):
    ops, cur = [], []
    for a in argv:
        if a == "+":
            ops.append(cur)
            cur = []
        else:
            cur.append(a)
    ops.append(cur)
    for o in ops:
        if o:
            op(o[0], o[1:])

main(sys.argv[1:])
"""


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def git_env() -> dict[str, str]:
    return {**os.environ, **GIT_ENV}


@dataclass
class Proj:
    """One git work tree with mlrepro initialised, and helpers to drive it."""

    root: Path
    tool: Path
    outside: Path  # a scratch folder outside the repository (counters, stamps)

    # -- commands ---------------------------------------------------------------

    def cmd(self, *ops: list[str] | tuple[str, ...]) -> str:
        """A stage command running the tool's operations in sequence."""
        words: list[str] = [PY, str(self.tool)]
        for i, o in enumerate(ops):
            if i:
                words.append("+")
            words += [str(w) for w in o]
        return " ".join(shlex.quote(w) for w in words)

    def mlrepro(
        self, *args: str, cwd: Path | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [PY, "-m", "mlrepro", *args],
            cwd=cwd or self.root,
            capture_output=True,
            text=True,
            env=git_env(),
            timeout=timeout,
        )

    def ok(self, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        proc = self.mlrepro(*args, cwd=cwd)
        assert proc.returncode == 0, (args, proc.stdout, proc.stderr)
        assert "Traceback" not in proc.stderr
        return proc

    def fails(
        self, *args: str, code: int = 1, cwd: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        proc = self.mlrepro(*args, cwd=cwd)
        assert proc.returncode == code, (args, proc.returncode, proc.stdout, proc.stderr)
        assert "Traceback" not in proc.stderr, proc.stderr
        assert "internal error" not in proc.stderr, proc.stderr
        return proc

    def popen(self, *args: str, **kw: Any) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [PY, "-m", "mlrepro", *args],
            cwd=self.root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=git_env(),
            # as from a terminal: started as a background job (`.ci/run &`, nohup), a shell
            # ignores SIGINT, and an ignored signal stays ignored across exec
            preexec_fn=_default_sigint,
            **kw,
        )

    def git(self, *args: str) -> str:
        proc = subprocess.run(
            ["git", *args], cwd=self.root, capture_output=True, text=True, env=git_env()
        )
        assert proc.returncode == 0, (args, proc.stderr)
        return proc.stdout

    def commit(self, message: str = "commit") -> None:
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message)

    # -- files --------------------------------------------------------------------

    def write(self, rel: str, text: str | bytes) -> Path:
        p = self.root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            p.write_bytes(text)
        else:
            p.write_text(text, encoding="utf-8")
        return p

    def read(self, rel: str) -> str:
        return (self.root / rel).read_text(encoding="utf-8")

    def pipeline(self, stages: dict[str, Any], **top: Any) -> None:
        doc = {**top, "stages": stages}
        self.write("dvc.yaml", yaml.safe_dump(doc, sort_keys=False, width=10**6))

    def params(self, data: dict[str, Any], name: str = "params.yaml") -> None:
        self.write(name, yaml.safe_dump(data, sort_keys=False))

    # -- mlrepro's records --------------------------------------------------------

    def lock_text(self) -> str:
        return (self.root / "mlrepro.lock").read_text(encoding="utf-8")

    def lock(self) -> dict[str, Any]:
        """mlrepro.lock parsed by an independent YAML parser."""
        doc = yaml.safe_load(self.lock_text())
        assert isinstance(doc, dict) and doc["version"] == 1
        return doc

    def locked_stages(self) -> dict[str, Any]:
        if not (self.root / "mlrepro.lock").exists():
            return {}
        return self.lock().get("stages") or {}

    def out_record(self, stage: str, path: str) -> dict[str, Any]:
        outs = {o["path"]: o for o in self.locked_stages()[stage]["outs"]}
        return outs[path]

    def data_records(self) -> dict[str, Any]:
        return {d["path"]: d for d in (self.lock().get("data") or [])}

    @property
    def cache(self) -> Path:
        return self.root / ".mlrepro" / "cache"

    def objects(self) -> dict[str, Path]:
        """Every object in the cache: bare xxh3-128 hex -> file."""
        base = self.cache / "xxh3-128"
        found: dict[str, Path] = {}
        if base.is_dir():
            for sub in base.iterdir():
                for f in sub.iterdir():
                    found[sub.name + f.name] = f
        return found

    def object_path(self, digest: str) -> Path:
        algo, _, hexpart = digest.partition(":")
        assert algo == "xxh3-128", digest
        return self.cache / "xxh3-128" / hexpart[:2] / hexpart[2:]

    def run_entries(self) -> list[Path]:
        base = self.cache / "runs"
        return sorted(p for p in base.rglob("*") if p.is_file()) if base.is_dir() else []

    def assert_cache_verifies(self) -> None:
        """Every object's bytes hash to its address."""
        for hexd, f in self.objects().items():
            assert xxhash.xxh3_128_hexdigest(f.read_bytes()) == hexd, f

    # -- scratch outside the repository -------------------------------------------

    def ext(self, name: str) -> Path:
        return self.outside / name

    def runs(self, name: str, log: str = "runs.log") -> int:
        """How many times ``log NAME`` ran (lines in the counter file)."""
        p = self.outside / log
        if not p.exists():
            return 0
        return p.read_text().splitlines().count(name)


def xxh_file(path: Path) -> str:
    return "xxh3-128:" + xxhash.xxh3_128_hexdigest(path.read_bytes())


def tree_bytes(path: Path) -> dict[str, bytes]:
    """A folder's files (relative path -> bytes), to compare folders exactly."""
    return {
        p.relative_to(path).as_posix(): p.read_bytes()
        for p in sorted(path.rglob("*"))
        if p.is_file()
    }


def stamps(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def wait_until(pred: Callable[[], bool], timeout: float = 60, what: str = "condition") -> None:
    """Poll (not a timing assertion: the deadline only bounds a hung test)."""
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)


def make_repo(root: Path, tool: Path, outside: Path, *, init: bool = True) -> Proj:
    root.mkdir(parents=True)
    outside.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True, env=git_env())
    proj = Proj(root=root, tool=tool, outside=outside)
    if init:
        proj.ok("init")
    return proj


@pytest.fixture(scope="session")
def tool(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tool") / "tool.py"
    path.write_text(TOOL, encoding="utf-8")
    return path


@pytest.fixture
def proj(tmp_path: Path, tool: Path) -> Iterator[Proj]:
    yield make_repo(tmp_path / "repo", tool, tmp_path / "outside")


@pytest.fixture
def new_repo(tmp_path: Path, tool: Path) -> Callable[[str], Proj]:
    """Further independent repositories in the same test: ``new_repo("b")``."""

    def build(name: str) -> Proj:
        return make_repo(tmp_path / name, tool, tmp_path / "outside")

    return build


@pytest.fixture
def remote(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[Proj], str]:
    """Parametrized indirectly with "local" or "s3": adds a default remote named "store"
    of that kind to a project (a folder, or a new bucket on moto's server) and commits
    the config; returns the remote's URL."""

    def add(proj: Proj) -> str:
        if request.param == "local":
            url = str(tmp_path / "remote")
        else:
            request.getfixturevalue("s3_env")  # the server's endpoint and fake keys
            url = f"s3://{request.getfixturevalue('s3_server').new_bucket()}/cache"
        proj.ok("remote", "add", "-d", "store", url)
        proj.commit("remote")
        return url

    return add
