"""Fast paths (issue 16, STYLE.md habit 12): what each one saves the command it serves.

    python benchmarks/fastpaths.py [--only NAME] [--rounds N] [--small] [--write]

Every fast path in mlrepro sits behind one function that chooses it, with a plain
reference implementation beside it. This harness times real commands as whole
processes: as shipped, and with one fast path switched to its reference by a ``-c``
entry point (``REFERENCE`` below: it replaces the choosing function's fast side before
``main()``; mlrepro itself has no switch). Each round runs the command once as shipped
and once per reference, in an order shuffled per round (fixed seed), each run after
the same prepare step (not timed); a fast path's gain is the median over the rounds of
(reference - shipped) within a round, shown in ms and as a share of the shipped
command's median time, with a 95% bootstrap interval. CPU time (user + system of the
command and the workers it waited for) is shown beside it: on a shared VM it moves
less than wall time.

A fast path whose gain is under 5% of its command's time is removed (habit 12); the
figures of removed ones stay in ``DROPPED`` below and in RESULTS.md.

Workloads, built under ``benchmarks/work/fastpaths/`` and deleted at the end (what a
prepare step removes is moved aside there, as in ``engine.discard``):

- ``many_files``: 50,000 files of 4 KiB in 100 folders (``workloads.many_files``).
  ``add data`` from an empty cache and stat database (object writes, tree bytes),
  and the first ``status`` after that add, which formats every tree entry (the stat
  database is put back to its state right after the add before each run);
- ``big_lock``: 1,000 stages, each with two dependencies, two params and an output,
  all run once, so ``mlrepro.lock`` holds 1,000 blocks (800 KB); ``status`` no-op;
- ``stages``: 100 stages restored from the run-cache by ``repro -j 2`` (the param
  switched between two values seen before, as in ``audit.py``): each restore
  rewrites ``mlrepro.lock``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import engine as en  # noqa: E402
import workloads as wl  # noqa: E402

WORK = HERE / "work" / "fastpaths"
RESULTS = HERE / "RESULTS.md"
SECTION = "fastpaths"
THRESHOLD = 5.0  # % of the command's time a fast path must save (STYLE.md habit 12)
BIG_LOCK_STAGES = 1000
RESTORED_STAGES = 100

# `-c` preludes: each puts one fast path's reference in place of its fast side
REFERENCE: dict[str, str] = {
    "objects": "import mlrepro.store.objects as m\nm.unnamed_files = lambda folder: False\n",
    "tree": (
        "import mlrepro.store.tree as t\nimport mlrepro.workspace.folders as f\n"
        "t.entry_json = f.entry_json = t.entry_json_reference\n"
    ),
    "lockfile": (
        "import mlrepro.workspace.lockfile as m\n"
        "def never(text):\n    raise m.NotTheLayout(text[:0])\n"
        "m.parse_layout = never\n"
    ),
    "atomic_write": "import mlrepro.fsutil as m\nm.unnamed_files = lambda folder: False\n",
}
MAIN = "import sys\nsys.argv[0] = 'mlrepro'\nfrom mlrepro.cli.main import main\nmain()\n"


@dataclass(frozen=True, slots=True)
class FastPath:
    name: str  # a key of REFERENCE
    chooser: str  # the one function that chooses
    reference: str  # the reference implementation beside it
    note: str = ""  # why it stays whatever its gain, if it does


PATHS = {
    p.name: p
    for p in (
        FastPath(
            "objects",
            "`ObjectStore._put_small` (`_put_unnamed`: O_TMPFILE + linkat)",
            "`_put_named` (temporary file + rename)",
            "besides speed: a process killed while storing leaves no temporary file in the cache",
        ),
        FastPath(
            "tree",
            "`tree.entry_json` / `Tree.to_bytes` (JSON written by hand)",
            "`entry_json_reference` / `to_bytes_reference` (canonical JSON encoder)",
        ),
        FastPath(
            "lockfile",
            "`lockfile.parse_lock` (`parse_layout`: line parser)",
            "`parse_lock_yaml` (ruamel)",
            "besides speed: the only reader of names that are not UTF-8 (ruamel refuses `\\udcNN`)",
        ),
        FastPath(
            "atomic_write",
            "`fsutil.atomic_write` (`atomic_write_unnamed`: O_TMPFILE + linkat)",
            "`atomic_write_named` (mkstemp + rename)",
            "kept for crash safety, not speed (its gain is under 5%): a `kill -9` while "
            "writing leaves no `.tmp-*` file beside the lock (tests/adversarial/test_kill.py)",
        ),
    )
}

# Fast paths measured with this harness and removed for a gain under THRESHOLD (the
# figures of the run that decided, 2026-12-03, 8 rounds, load average 3-7 on the VM).
DROPPED: list[str] = [
    "naming: `fileio.name_open_file` by linkat AT_EMPTY_PATH through ctypes, beside the "
    "reference (a link of /proc/self/fd/N): on `add data` (50,000 files of 4 KiB) "
    "-21 ms wall (95% interval -491 to +159), +41 ms CPU over the two workers; the "
    "storing step alone in one process (`workers.add_unstated_files`, 6 rounds) +3 ms "
    "wall, +31 ms CPU (0.6 us a file): under 1% of the command. The reference stays.",
    "workers: the pool written by hand (fork, a pipe per worker, pickled 7-tuples), "
    "beside `concurrent.futures.ProcessPoolExecutor` over fork: on `add data` the "
    "executor took -252 ms wall (95% interval -538 to +1153), +130 ms CPU; the storing "
    "step alone (6 rounds) -388 ms wall, -60 ms CPU; the executor's start and stop alone "
    "7 ms against 3, plus 5-15 ms of imports the first time: no gain to speak of. The "
    "executor stays.",
]


@dataclass(frozen=True, slots=True)
class Run:
    wall: float
    cpu: float


@dataclass
class Command:
    """One command timed as shipped and with each of ``paths`` switched to its reference."""

    label: str  # what the table shows
    args: list[str]
    root: Path
    paths: list[str]
    prepare: Callable[[], None] | None = None
    warmup: bool = False
    runs: dict[str, list[Run]] = field(default_factory=dict)  # "shipped" or a path's name


def run_once(root: Path, args: list[str], reference: str | None) -> Run:
    code = (REFERENCE[reference] if reference else "") + MAIN
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-c", code, *args],
            cwd=root,
            env=en.ENV,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            tail = err.read().decode(errors="replace").strip().splitlines()[-5:]
            raise en.CommandFailed(f"mlrepro {' '.join(args)} ({reference}) failed: {tail}")
    return Run(wall, usage.ru_utime + usage.ru_stime)


def time_rounds(cmd: Command, rounds: int, rng: random.Random) -> None:
    variants: list[str | None] = [None, *cmd.paths]
    if cmd.warmup:
        for v in variants:
            if cmd.prepare:
                cmd.prepare()
            run_once(cmd.root, cmd.args, v)
    for _ in range(rounds):
        order = list(variants)
        rng.shuffle(order)
        for v in order:
            if cmd.prepare:
                cmd.prepare()
            cmd.runs.setdefault(v or "shipped", []).append(run_once(cmd.root, cmd.args, v))
    shipped = statistics.median(r.wall for r in cmd.runs["shipped"])
    print(f"  {cmd.label}: shipped {shipped:.3f} s", file=sys.stderr)


def interval(diffs: list[float], rounds: int = 2000) -> tuple[float, float]:
    """A 95% bootstrap interval for the median of ``diffs`` (fixed seed)."""
    rng = random.Random(0)
    medians = sorted(statistics.median(rng.choices(diffs, k=len(diffs))) for _ in range(rounds))
    return medians[int(rounds * 0.025)], medians[int(rounds * 0.975) - 1]


def rows(cmd: Command) -> list[str]:
    shipped = cmd.runs["shipped"]
    base = statistics.median(r.wall for r in shipped)
    out = []
    for name in cmd.paths:
        ref = cmd.runs[name]
        diffs = [r.wall - s.wall for r, s in zip(ref, shipped, strict=True)]
        cpu = statistics.median(r.cpu - s.cpu for r, s in zip(ref, shipped, strict=True))
        gain = statistics.median(diffs)
        low, high = interval(diffs)
        share = gain / base * 100
        verdict = "keep" if share >= THRESHOLD else f"under {THRESHOLD:g}%"
        p = PATHS[name]
        out.append(
            f"| {name}: {p.chooser}; reference {p.reference} | {cmd.label} | "
            f"{base:.3f} | {statistics.median(r.wall for r in ref):.3f} | "
            f"{gain * 1000:+.0f} ({low * 1000:+.0f} to {high * 1000:+.0f}) | "
            f"{share:+.1f}% | {cpu * 1000:+.0f} | {len(ref)} | {verdict} |"
        )
    return out


# -- workloads ---------------------------------------------------------------------------


def init_repo(root: Path) -> None:
    wl.init_engine_repo(root, [sys.executable, "-m", "mlrepro", "init"])
    en.sh(["git", "config", "user.name", "bench"], root)
    en.sh(["git", "config", "user.email", "bench@mlrepro.invalid"], root)


def mlrepro(root: Path, *args: str) -> str:
    return en.sh([sys.executable, "-m", "mlrepro", *args], root)


def many_files(small: bool) -> list[Command]:
    root = WORK / "many_files" / "mlrepro"  # en.discard moves things aside below "mlrepro"
    init_repo(root)
    files = 4_000 if small else wl.MANY_FILES
    name = wl.many_files([root], files=files)
    state = root / ".mlrepro" / "state"
    after_add = WORK / "many_files" / "state-after-add"

    def fresh() -> None:  # as before the first add (see engine.reset_mlrepro)
        en.discard(root / ".mlrepro/cache", state, root / "mlrepro.lock", root / ".gitignore")
        en.sync()

    fresh()
    mlrepro(root, "add", name)
    shutil.copytree(state, after_add)

    def first_status() -> None:  # the stat database as the add left it
        shutil.rmtree(state)
        shutil.copytree(after_add, state)

    add = Command(
        f"`add {name}` ({files:,} files of 4 KiB, empty cache)",
        ["add", name],
        root,
        ["objects", "tree"],
        prepare=fresh,
    )
    status = Command(
        f"first `status` after that add ({files:,} tree entries formatted)",
        ["status"],
        root,
        ["tree"],
        prepare=first_status,
        warmup=True,
    )
    return [add, status]


def big_lock(small: bool) -> list[Command]:
    root = WORK / "big_lock" / "mlrepro"
    init_repo(root)
    n = 100 if small else BIG_LOCK_STAGES
    (root / "out").mkdir()
    (root / "dep.txt").write_text("input\n")
    (root / "params.yaml").write_text("a: 1\nb:\n  c: [1, 2, 3]\n  d: x\n")
    lines = ["stages:"]
    for i in range(n):
        lines += [
            f"  s{i:04d}:",
            f"    cmd: echo {i} > out/{i:04d}.txt",
            "    deps: [dep.txt, params.yaml]",
            "    params: [a, b.c]",
            f"    outs: [out/{i:04d}.txt]",
        ]
    (root / "dvc.yaml").write_text("\n".join(lines) + "\n")
    mlrepro(root, "repro", "-j", "2")
    size = (root / "mlrepro.lock").stat().st_size
    return [
        Command(
            f"no-op `status` ({n:,} stages; mlrepro.lock of {size / 1000:.0f} KB)",
            ["status"],
            root,
            ["lockfile"],
            warmup=True,
        )
    ]


def stages(small: bool) -> list[Command]:
    root = WORK / "stages" / "mlrepro"
    init_repo(root)
    (root / "out").mkdir()
    lines = ["stages:"]
    for i in range(RESTORED_STAGES):
        lines += [
            f"  s{i:03d}:",
            f"    cmd: echo ${{v}} {i} > out/{i:03d}.txt",
            "    params: [v]",
            f"    outs: [out/{i:03d}.txt]",
        ]
    (root / "dvc.yaml").write_text("\n".join(lines) + "\n")
    for v in (1, 2):
        (root / "params.yaml").write_text(f"v: {v}\n")
        mlrepro(root, "repro", "-j", "2")
    en.sh(["git", "add", "-A"], root)
    en.sh(["git", "commit", "-q", "-m", "pipeline"], root)
    value = [2]

    def switch() -> None:
        value[0] = 3 - value[0]
        (root / "params.yaml").write_text(f"v: {value[0]}\n")

    return [
        Command(
            f"`repro -j 2`, {RESTORED_STAGES} stages restored from the run-cache",
            ["repro", "-j", "2"],
            root,
            ["atomic_write"],
            prepare=switch,
        )
    ]


WORKLOADS: dict[str, Callable[[bool], list[Command]]] = {
    "many_files": many_files,
    "big_lock": big_lock,
    "stages": stages,
}


def section(commands: list[Command], notes: list[str]) -> str:
    lines = [f"## {SECTION}", "", *[f"- {n}" for n in notes], ""]
    lines += [
        "| fast path: chooser; reference | command (workload) | shipped median s "
        "| reference median s | gain ms, median (95% interval) | gain, % of the command "
        "| CPU gain ms | rounds | verdict |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for cmd in commands:
        lines += rows(cmd)
    kept = [p for p in PATHS.values() if p.note]
    if kept:
        lines += ["", *[f"- {p.name}: {p.note}." for p in kept]]
    if DROPPED:
        lines += ["", "Removed (measured with this harness before removal):", ""]
        lines += [f"- {d}" for d in DROPPED]
    return "\n".join(lines) + "\n"


def write_section(text: str) -> None:
    """Put the section in RESULTS.md in its place by name (as run.py orders them),
    replacing an earlier one; run.py keeps sections it did not measure."""
    parts = RESULTS.read_text().split("\n## ")
    head, body = parts[0], parts[1:]
    named = {p.split("\n", 1)[0].strip(): "## " + p.rstrip() + "\n" for p in body}
    named[SECTION] = text
    machine = named.pop("Machine", None)
    out = [head.rstrip() + "\n"]
    if machine:
        out.append(machine)
    out += [named[k] for k in sorted(named)]
    RESULTS.write_text("\n".join(out))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", choices=sorted(WORKLOADS), help="one workload")
    parser.add_argument("--rounds", type=int, default=10, help="rounds per command (default 10)")
    parser.add_argument("--small", action="store_true", help="tiny workloads, one round")
    parser.add_argument("--write", action="store_true", help="also write benchmarks/RESULTS.md")
    args = parser.parse_args()
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)  # as run.py: bytecode cached
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(HERE.parent / "mlrepro")], check=True
    )
    rounds = 1 if args.small else args.rounds
    rng = random.Random(16)
    commands: list[Command] = []
    notes = [
        f"measured: {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M')} (UTC); mlrepro "
        + en.sh(["git", "rev-parse", "--short", "HEAD"], HERE).strip()
        + " with the issue-16 changes to mlrepro/store, fsutil and workspace/lockfile",
        f"Load average before: {en.loadavg()}.",
    ]
    try:
        for name in [args.only] if args.only else list(WORKLOADS):
            print(f"building {name} ...", file=sys.stderr)
            for cmd in WORKLOADS[name](args.small):
                time_rounds(cmd, rounds, rng)
                commands.append(cmd)
        notes.append(f"Load average after: {en.loadavg()}.")
        text = section(commands, notes)
        print(text, flush=True)
        if args.write and args.small:
            print("not writing RESULTS.md: --small runs are not measurements", file=sys.stderr)
        elif args.write:
            write_section(text)
            print(f"wrote {RESULTS}", file=sys.stderr)
    finally:
        print("deleting the workloads (millions of files: minutes) ...", file=sys.stderr)
        en.rm(WORK)  # every command timed: now the deleting can happen (see en.discard)
    return 0


if __name__ == "__main__":
    sys.exit(main())
