"""Engine benchmarks: add, status, checkout, repro and hashing, mlrepro against DVC.

Each workload is built twice under ``benchmarks/work/<name>/``: ``mlrepro/`` (git init +
``mlrepro init``) and ``dvc/`` (git init + ``dvc init`` + ``cache.type copy``), with the
same bytes, so the tools never share a cache, a state database or a file. Every command
runs as a whole process from the repository root; mlrepro's and DVC's runs alternate
so that load from elsewhere on the machine hits both alike. Between runs a "prepare"
step (not timed) puts the repository back in the state the operation starts from,
and ``sync`` flushes earlier writes so one run does not pay for another's.

Peak memory is the command's ``ru_maxrss`` (the largest of the process and the children
it waited for), taken by GNU time, or by a small forking wrapper where there is none.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import workloads as wl

# Python writes its bytecode cache as it would after `pip install` (a shell that sets
# PYTHONDONTWRITEBYTECODE would make every run compile mlrepro's sources again)
ENV = {
    **{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
    "DVC_NO_ANALYTICS": "1",
}
NAMES = ("audit", "big_file", "big_params", "history", "many_files", "parallel_stages", "remote")

# Targets from the engine issue.
BIG_ADD_RATIO = 4.0
BIG_NOOP_STATUS_S = 0.3
BIG_TOUCH_STATUS_S = 1.5
HASH_VS_CAT = 0.75
BIG_ADD_PEAK_MB = 100
MANY_ADD_RATIO = 5.0
MANY_NOOP_STATUS_S = 0.5
MANY_EDIT_STATUS_S = 0.7
MANY_CHECKOUT_RATIO = 3.0
REPRO_WALL_S = 3.0
REPRO_NOOP_S = 0.3


@dataclass(frozen=True, slots=True)
class Run:
    wall: float
    maxrss_kib: int


@dataclass
class Series:
    label: str
    runs: list[Run] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(r.wall for r in self.runs)

    @property
    def minimum(self) -> float:
        return min(r.wall for r in self.runs)

    @property
    def peak_mb(self) -> float:
        return max(r.maxrss_kib for r in self.runs) / 1024


@dataclass(frozen=True, slots=True)
class Tools:
    mlrepro: str
    dvc: str


@dataclass
class Section:
    """What one workload measured, rendered as Markdown."""

    name: str
    notes: list[str] = field(default_factory=list)
    rows: list[tuple[str, Series | None, Series | None]] = field(default_factory=list)
    extra: list[tuple[str, str]] = field(default_factory=list)  # (what, value) lines
    checks: list[tuple[str, str, bool | None]] = field(default_factory=list)

    def render(self) -> str:
        lines = [f"## {self.name}", "", *[f"- {n}" for n in self.notes], ""]
        lines += [
            "| operation | mlrepro median (min) s | DVC median (min) s | DVC / mlrepro | runs |",
            "| --- | ---: | ---: | ---: | --- |",
        ]
        for what, ml, dv in self.rows:
            ml_cell = f"{ml.median:.3f} ({ml.minimum:.3f})" if ml else "-"
            dv_cell = f"{dv.median:.3f} ({dv.minimum:.3f})" if dv else "-"
            ratio = f"{dv.median / ml.median:.1f}x" if ml and dv else "-"
            runs = f"{len(ml.runs) if ml else 0} / {len(dv.runs) if dv else 0}"
            lines.append(f"| {what} | {ml_cell} | {dv_cell} | {ratio} | {runs} |")
        if self.extra:
            lines += ["", "| measurement | value |", "| --- | ---: |"]
            lines += [f"| {what} | {value} |" for what, value in self.extra]
        lines += ["", "| target | measured | result |", "| --- | ---: | --- |"]
        for what, shown, ok in self.checks:
            verdict = "n/a" if ok is None else ("PASS" if ok else "FAIL")
            lines.append(f"| {what} | {shown} | {verdict} |")
        return "\n".join(lines) + "\n"

    def check(self, what: str, value: float | None, ok: bool, fmt: str) -> None:
        self.checks.append((what, "n/a" if value is None else fmt.format(value), ok))


# -- running and timing ----------------------------------------------------------------


class CommandFailed(RuntimeError):
    pass


# MLREPRO_BENCH_DVC=0 (benchmarks/compare.py --no-dvc): DVC's timed runs, and the set-up,
# checks and ratios that need them, are left out; only mlrepro's rows are measured.
TIME_DVC = os.environ.get("MLREPRO_BENCH_DVC", "1") != "0"


def roots(ml: Path, dv: Path) -> tuple[Path, ...]:
    """The repositories whose results are checked: DVC's only when it was timed."""
    return (ml, dv) if TIME_DVC else (ml,)


def ratio_check(sec: Section, what: str, dv: Series | None, ml: Series, target: float) -> None:
    """The check ``DVC / mlrepro >= target``, or n/a when DVC was not timed."""
    if dv is None:
        sec.checks.append((what, "n/a (DVC not timed)", None))
        return
    ratio = dv.median / ml.median
    sec.check(what, ratio, ratio >= target, "{:.1f}x")


# Peak memory goes through a small forking wrapper: a child spawned straight from this
# runner would inherit the runner's own high-water RSS (Linux keeps it across exec).
def _gnu_time() -> str | None:
    path = shutil.which("time") or "/usr/bin/time"
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, check=False)
    except OSError:
        return None
    return path if "GNU" in out.stdout + out.stderr else None


GNU_TIME = _gnu_time()
_FORK_WRAPPER = """
import os, resource, sys
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
open(sys.argv[1], "w").write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status))
"""


def run_timed(argv: list[str], cwd: Path) -> Run:
    """Run ``argv`` to completion; its wall time and peak RSS. Raises when it fails."""
    with tempfile.TemporaryFile() as err, tempfile.NamedTemporaryFile("r") as rss:
        if GNU_TIME:
            wrapped = [GNU_TIME, "-f", "%M", "-o", rss.name, *argv]
        else:
            wrapped = [sys.executable, "-c", _FORK_WRAPPER, rss.name, *argv]
        start = time.perf_counter()
        code = subprocess.call(
            wrapped,
            cwd=cwd,
            env=ENV,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
        wall = time.perf_counter() - start
        if code != 0:
            err.seek(0)
            tail = err.read().decode(errors="replace").strip().splitlines()[-5:]
            raise CommandFailed(f"{' '.join(argv)} (in {cwd}) exited {code}: {tail}")
        text = rss.read().strip().splitlines()
    return Run(wall, int(text[-1]) if text and text[-1].isdigit() else 0)


def sh(argv: list[str], cwd: Path) -> str:
    proc = subprocess.run(argv, cwd=cwd, env=ENV, capture_output=True, text=True, check=False)
    if proc.returncode:
        raise CommandFailed(f"{' '.join(argv)} exited {proc.returncode}: {proc.stderr[-500:]}")
    return proc.stdout


Prepare = Callable[[], None]


def compare(
    what: str,
    ml: tuple[list[str], Path, Prepare | None] | None,
    dv: tuple[list[str], Path, Prepare | None] | None,
    runs: int,
    dvc_runs: int | None = None,
    warmup: bool = False,
) -> tuple[Series | None, Series | None]:
    """Alternate mlrepro's and DVC's runs of one operation; ``prepare`` before each run."""
    dv = dv if TIME_DVC else None
    series = [Series(f"mlrepro {what}") if ml else None, Series(f"dvc {what}") if dv else None]
    wanted = [runs, runs if dvc_runs is None else dvc_runs]
    jobs = [ml, dv]
    if warmup:
        for job in jobs:
            if job:
                argv, cwd, prepare = job
                if prepare:
                    prepare()
                run_timed(argv, cwd)
    for i in range(max(wanted)):
        for k in (0, 1):
            job, s = jobs[k], series[k]
            if job is None or s is None or i >= wanted[k]:
                continue
            argv, cwd, prepare = job
            if prepare:
                prepare()
            s.runs.append(run_timed(argv, cwd))
    print(
        f"  {what}: "
        + "; ".join(
            f"{s.label.split()[0]} {s.median:.3f}s" for s in series if s is not None and s.runs
        ),
        file=sys.stderr,
    )
    return series[0], series[1]


def sync() -> None:
    os.sync()


def rm(*paths: Path) -> None:
    for p in paths:
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p)
        elif p.exists() or p.is_symlink():
            p.unlink()


def discard(*paths: Path) -> None:
    """Move ``paths`` into the workload's trash folder instead of deleting them now.

    Deleting tens of thousands of files right before a timed run slows the run down:
    for a minute or more ext4 skips the recently freed inodes one by one when it
    allocates new ones (``recently_deleted`` in ``ext4/ialloc.c``). Users add data to
    fresh caches and restore folders they did not just delete file by file, so the
    prepare steps move things aside (one rename) and the trash goes with the workload.
    """
    for p in paths:
        if p.exists() or p.is_symlink():
            repo = next(q for q in p.parents if q.name in ("mlrepro", "dvc"))
            trash = repo.parent / "trash"
            trash.mkdir(exist_ok=True)
            p.rename(trash / f"{repo.name}-{p.name}-{time.monotonic_ns()}")


TRASH = ".trash"  # under the work folder: what the run removes, deleted when it ends


def retire(*paths: Path) -> None:
    """Remove a workload's folder now, delete its files when the whole run ends.

    The reason is :func:`discard`'s, at the scale of a section: the history
    workload leaves about 100,000 files, and deleting them at its end made the
    next section, many_files, time its first ``add`` while ext4 was still skipping
    those freed inodes (the same code took 3.4-3.7 s on a quiet file system and
    6-9.5 s after such deletions; DVC, whose time is mostly Python, slowed down
    less). :func:`empty_trash` deletes everything once every section has been timed."""
    for p in paths:
        if p.exists() or p.is_symlink():
            trash = p.parent / TRASH
            trash.mkdir(exist_ok=True)
            p.rename(trash / f"{p.name}-{time.monotonic_ns()}")


def empty_trash(work: Path) -> None:
    rm(work / TRASH)


def make_repos(base: Path, tools: Tools) -> tuple[Path, Path]:
    ml, dv = base / "mlrepro", base / "dvc"
    retire(base)
    wl.init_engine_repo(ml, [tools.mlrepro, "init"])
    wl.init_engine_repo(dv, [tools.dvc, "init", "-q"])
    sh([tools.dvc, "config", "cache.type", "copy"], dv)
    return ml, dv


def reflink_supported(directory: Path) -> bool:
    a, b = directory / ".reflink-probe-a", directory / ".reflink-probe-b"
    a.write_bytes(b"probe")
    try:
        return (
            subprocess.run(
                ["cp", "--reflink=always", str(a), str(b)], capture_output=True, check=False
            ).returncode
            == 0
        )
    finally:
        rm(a, b)


def link_note(ml: Path, dv: Path) -> str:
    ml_types = sh(
        [
            sys.executable,
            "-c",
            "import json,sys;print(json.load(open(sys.argv[1]))['cache']['type'])",
            str(ml / ".mlrepro" / "config.json"),
        ],
        ml,
    ).strip()
    dvc_type = sh(["git", "config", "-f", str(dv / ".dvc" / "config"), "cache.type"], dv).strip()
    effective = "reflink" if reflink_supported(ml) else "copy (this file system cannot reflink)"
    return (
        f"Link types: mlrepro `cache.type` {ml_types} (its default), effective here: {effective}; "
        f"DVC `cache.type = {dvc_type}`."
    )


def _reset(root: Path, state: tuple[str, ...], outs: tuple[str, ...], delete: bool) -> Prepare:
    drop = rm if delete else discard

    def prepare() -> None:
        drop(*(root / p for p in state))
        drop(root / ".gitignore", *(root / o for o in outs))
        sync()

    return prepare


def reset_mlrepro(root: Path, *outs: str, delete: bool = False) -> Prepare:
    """Back to before the first add/repro; ``delete``: delete rather than move aside."""
    return _reset(root, (".mlrepro/cache", ".mlrepro/state", "mlrepro.lock"), outs, delete)


def reset_dvc(root: Path, *outs: str, delete: bool = False) -> Prepare:
    return _reset(root, (".dvc/cache", ".dvc/tmp", "dvc.lock"), outs, delete)


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def count_files(folder: Path) -> int:
    return sum(len(files) for _, _, files in os.walk(folder))


# -- workloads ----------------------------------------------------------------------------


def bench_big_file(work: Path, tools: Tools, small: bool) -> Section:
    size = 64 << 20 if small else wl.BIG_SIZE
    sec = Section("big_file")
    base = work / "big_file"
    ml, dv = make_repos(base, tools)
    start = time.perf_counter()
    name = wl.big_file([ml, dv], size)
    sync()
    sec.notes += [
        f"One file of {size / 2**30:.3g} GiB ({size:,} bytes, seeded PRNG), built in "
        f"{time.perf_counter() - start:.1f} s; both copies in the page cache when timed.",
        link_note(ml, dv),
        f"Load average before: {loadavg()}.",
    ]
    heavy = 1 if small else 3
    add_ml, add_dv = compare(
        "first add",
        # The previous run's 2 GiB cache copy is deleted, not moved aside: on this kind of
        # VM, page-cache pages the guest has not used for a while are slow to fill the
        # first time (copy_folio_from_iter_atomic at ~0.4 GB/s instead of ~6), and keeping
        # old copies around makes every run write into such pages. One file: no inode
        # churn. RESULTS.md reports what moving them aside gave.
        ([tools.mlrepro, "add", name], ml, reset_mlrepro(ml, delete=True)),
        ([tools.dvc, "add", "-q", name], dv, reset_dvc(dv, name + ".dvc", delete=True)),
        runs=heavy,
        dvc_runs=2 if not small else 1,
    )
    assert add_ml
    lock = (ml / "mlrepro.lock").read_text()
    if f'"{name}"' not in lock or f"size: {size}" not in lock:
        raise RuntimeError(f"mlrepro add did not record {name}:\n{lock}")
    if TIME_DVC and not (dv / f"{name}.dvc").exists():
        raise RuntimeError("dvc add wrote no .dvc file")
    sec.rows.append(("first `add` (hash, copy to cache, record)", add_ml, add_dv))
    noop_ml, noop_dv = compare(
        "no-op status",
        ([tools.mlrepro, "status"], ml, None),
        ([tools.dvc, "status"], dv, None),
        runs=5,
        warmup=True,
    )
    sec.rows.append(("no-op `status`", noop_ml, noop_dv))

    def touch(root: Path) -> Prepare:
        return lambda: os.utime(root / name)

    touch_ml, touch_dv = compare(
        "status after touch",
        ([tools.mlrepro, "status"], ml, touch(ml)),
        ([tools.dvc, "status"], dv, touch(dv)),
        runs=3,
    )
    sec.rows.append(("`status` after `touch` (re-hash)", touch_ml, touch_dv))

    rates = hashing_rates(ml / name, repeat=5)
    sec.extra += [
        ("`cat big.bin > /dev/null` (page cache), best of 5", f"{rates['cat']:.2f} GiB/s"),
        ("mlrepro `hash_file` xxh3-128, best of 5", f"{rates['xxh']:.2f} GiB/s"),
        ("mlrepro `hash_file` xxh3-128 + sha256, best of 5", f"{rates['both']:.2f} GiB/s"),
        ("xxh3-128 / cat", f"{rates['xxh'] / rates['cat']:.0%}"),
        ("peak RSS of `mlrepro add` (max over runs)", f"{add_ml.peak_mb:.1f} MB"),
        ("peak RSS of `dvc add` (max over runs)", f"{add_dv.peak_mb:.1f} MB" if add_dv else "-"),
    ]
    sec.notes.append(f"Load average after: {loadavg()}.")
    ratio_check(
        sec, f"DVC / mlrepro first add >= {BIG_ADD_RATIO:g}x", add_dv, add_ml, BIG_ADD_RATIO
    )
    assert noop_ml and touch_ml
    sec.check(
        f"no-op `mlrepro status` < {BIG_NOOP_STATUS_S} s",
        noop_ml.median,
        noop_ml.median < BIG_NOOP_STATUS_S,
        "{:.3f} s",
    )
    sec.check(
        f"`mlrepro status` after touch < {BIG_TOUCH_STATUS_S} s",
        touch_ml.median,
        touch_ml.median < BIG_TOUCH_STATUS_S,
        "{:.3f} s",
    )
    share = rates["xxh"] / rates["cat"]
    sec.check(
        f"xxh3-128 hashing >= {HASH_VS_CAT:.0%} of cat", share, share >= HASH_VS_CAT, "{:.0%}"
    )
    sec.check(
        f"peak RSS of `mlrepro add` < {BIG_ADD_PEAK_MB} MB",
        add_ml.peak_mb,
        add_ml.peak_mb < BIG_ADD_PEAK_MB,
        "{:.1f} MB",
    )
    rm(base)
    return sec


_HASH_SNIPPET = """
import sys, time
from mlrepro.store.digest import hash_file
path, sha, repeat = sys.argv[1], sys.argv[2] == "1", int(sys.argv[3])
best = min(
    (lambda t: (hash_file(path, sha=sha), time.perf_counter() - t)[1])(time.perf_counter())
    for _ in range(repeat)
)
print(best)
"""


def hashing_rates(path: Path, repeat: int) -> dict[str, float]:
    """GiB/s of ``cat`` and of mlrepro's hashing on a page-cached file (best of ``repeat``)."""
    gib = path.stat().st_size / 2**30
    run_timed(["cat", str(path)], path.parent)  # into the page cache
    cat = min(run_timed(["cat", str(path)], path.parent).wall for _ in range(repeat))
    out = {"cat": gib / cat}
    for key, sha in (("xxh", "0"), ("both", "1")):
        best = float(
            sh([sys.executable, "-c", _HASH_SNIPPET, str(path), sha, str(repeat)], path.parent)
        )
        out[key] = gib / best
    return out


def bench_many_files(work: Path, tools: Tools, small: bool) -> Section:
    files = 2_000 if small else wl.MANY_FILES
    sec = Section("many_files")
    base = work / "many_files"
    ml, dv = make_repos(base, tools)
    start = time.perf_counter()
    name = wl.many_files([ml, dv], files=files)
    sync()
    sec.notes += [
        f"{files:,} files of {wl.MANY_SIZE} bytes (seeded PRNG) in {wl.MANY_FOLDERS} folders "
        f"under `{name}/`, built in {time.perf_counter() - start:.1f} s.",
        link_note(ml, dv),
        f"Load average before: {loadavg()}.",
    ]
    heavy = 1 if small else 3
    add_ml, add_dv = compare(
        "first add",
        ([tools.mlrepro, "add", name], ml, reset_mlrepro(ml)),
        ([tools.dvc, "add", "-q", name], dv, reset_dvc(dv, name + ".dvc")),
        runs=heavy,
        dvc_runs=1 if small else 2,
    )
    if f"nfiles: {files}" not in (ml / "mlrepro.lock").read_text():
        raise RuntimeError("mlrepro add did not record every file")
    sec.rows.append((f"first `add {name}`", add_ml, add_dv))
    noop_ml, noop_dv = compare(
        "no-op status",
        ([tools.mlrepro, "status"], ml, None),
        ([tools.dvc, "status"], dv, None),
        runs=5,
        warmup=True,
    )
    sec.rows.append(("no-op `status`", noop_ml, noop_dv))

    victim = Path(name) / "d042" / f"f{42 * (files // wl.MANY_FOLDERS) + 7:05d}.bin"

    def edit(root: Path) -> Prepare:
        def prepare() -> None:
            p = root / victim
            data = bytearray(p.read_bytes())
            data[0] ^= 1  # alternate between two contents; the mtime changes every time
            p.write_bytes(bytes(data))

        return prepare

    edit_ml, edit_dv = compare(
        "status after editing one file",
        ([tools.mlrepro, "status"], ml, edit(ml)),
        ([tools.dvc, "status"], dv, edit(dv)),
        runs=3,
    )
    sec.rows.append(("`status` after editing one file", edit_ml, edit_dv))

    def delete(root: Path) -> Prepare:
        def prepare() -> None:
            discard(root / name)  # gone from the workspace, as after `rm -rf`
            sync()

        return prepare

    co_ml, co_dv = compare(
        "restore deleted folder",
        ([tools.mlrepro, "checkout"], ml, delete(ml)),
        ([tools.dvc, "checkout", "-q"], dv, delete(dv)),  # `dvc checkout` restores every .dvc
        runs=heavy,
        dvc_runs=1 if small else 2,
    )
    for root in roots(ml, dv):
        restored = count_files(root / name)
        if restored != files:
            raise RuntimeError(f"checkout in {root} restored {restored} of {files} files")
    sec.rows.append((f"`checkout` after `{name}` was removed", co_ml, co_dv))
    sec.notes.append(f"Load average after: {loadavg()}.")
    assert add_ml and noop_ml and edit_ml and co_ml
    ratio_check(
        sec, f"DVC / mlrepro first add >= {MANY_ADD_RATIO:g}x", add_dv, add_ml, MANY_ADD_RATIO
    )
    sec.check(
        f"no-op `mlrepro status` < {MANY_NOOP_STATUS_S} s",
        noop_ml.median,
        noop_ml.median < MANY_NOOP_STATUS_S,
        "{:.3f} s",
    )
    sec.check(
        f"`mlrepro status` after one edit < {MANY_EDIT_STATUS_S} s",
        edit_ml.median,
        edit_ml.median < MANY_EDIT_STATUS_S,
        "{:.3f} s",
    )
    what = f"DVC / mlrepro checkout of the folder >= {MANY_CHECKOUT_RATIO:g}x"
    ratio_check(sec, what, co_dv, co_ml, MANY_CHECKOUT_RATIO)
    retire(base)
    return sec


def bench_parallel_stages(work: Path, tools: Tools, small: bool) -> Section:
    sec = Section("parallel_stages")
    base = work / "parallel_stages"
    ml, dv = make_repos(base, tools)
    count = wl.parallel_stages([ml, dv])
    outs = ["out", "joined.txt"]
    sec.notes += [
        f"{wl.STAGES} independent stages (each tracks the param `seconds: {wl.STAGE_SECONDS}`, "
        "sleeps that long, writes one file) and a join stage that depends on all their "
        f"outputs: {count} stages. Before each timed run the "
        "outputs, the lock file and the caches (run-cache included) are removed, so every "
        "stage runs.",
        "DVC runs stages one at a time (`dvc repro` has no `--jobs`).",
        f"Load average before: {loadavg()}.",
    ]
    repro_ml, repro_dv = compare(
        "repro",
        ([tools.mlrepro, "repro", "-j", str(wl.STAGES)], ml, reset_mlrepro(ml, *outs)),
        ([tools.dvc, "repro", "-q"], dv, reset_dvc(dv, *outs)),
        runs=1 if small else 3,
        dvc_runs=1 if small else 2,
    )
    for root in roots(ml, dv):
        joined = (root / "joined.txt").read_text().split()
        if sorted(joined, key=int) != [str(i) for i in range(wl.STAGES)]:
            raise RuntimeError(f"{root}: joined.txt is wrong: {joined}")
    sec.rows.append(
        (f"`repro` of all {count} stages (`-j {wl.STAGES}` for mlrepro)", repro_ml, repro_dv)
    )
    noop_ml, noop_dv = compare(
        "no-op repro",
        ([tools.mlrepro, "repro"], ml, None),
        ([tools.dvc, "repro", "-q"], dv, None),
        runs=5,
        warmup=True,
    )
    sec.rows.append(("no-op `repro`", noop_ml, noop_dv))
    sec.notes.append(f"Load average after: {loadavg()}.")
    assert repro_ml and noop_ml
    sec.check(
        f"`mlrepro repro -j {wl.STAGES}` wall < {REPRO_WALL_S} s",
        repro_ml.median,
        repro_ml.median < REPRO_WALL_S,
        "{:.2f} s",
    )
    sec.check(
        f"no-op `mlrepro repro` < {REPRO_NOOP_S} s",
        noop_ml.median,
        noop_ml.median < REPRO_NOOP_S,
        "{:.3f} s",
    )
    retire(base)
    return sec


BENCHES: dict[str, Callable[[Path, Tools, bool], Section]] = {
    "big_file": bench_big_file,
    "many_files": bench_many_files,
    "parallel_stages": bench_parallel_stages,
}


def bench(name: str, work: Path, tools: Tools, *, small: bool = False) -> str:
    """Run one engine workload; its Markdown section. The work folder is removed after."""
    free = shutil.disk_usage(work if work.exists() else work.parent).free / 2**30
    need = {
        "audit": 0.1,
        "big_file": 9,
        "big_params": 0.5,
        "history": 2,
        "many_files": 2,
        "parallel_stages": 0.1,
        "remote": 9,
    }[name]
    if not small and free < need:
        raise RuntimeError(f"{name} needs about {need} GiB free under {work}, {free:.1f} GiB free")
    work.mkdir(parents=True, exist_ok=True)
    try:
        if name == "history":  # the lineage/diff issue's workload (benchmarks/history.py)
            import history

            return history.bench_history(work, tools, small).render()
        if name == "audit":  # the audit-log issue's workload (benchmarks/audit.py)
            import audit

            return audit.bench_audit(work, tools, small).render()
        if name == "remote":  # the remote-cache issue's workload (benchmarks/remote.py)
            import remote

            return remote.bench_remote(work, tools, small).render()
        if name == "big_params":  # the hardening issue's workload (benchmarks/params.py)
            import params

            return params.bench_big_params(work, tools, small).render()
        return BENCHES[name](work, tools, small).render()
    finally:
        retire(work / name)
