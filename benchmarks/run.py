"""Benchmark runner: times mlrepro (and DVC, when installed) on generated workloads.

    python benchmarks/run.py [--only NAME] [--repeat N] [--write] [--no-hyperfine] [--small]

Two kinds of workload: the pipeline loader's (``workloads.WORKLOADS``, below) and the
engine's (``engine.NAMES``: add, status, checkout, repro and hashing; see engine.py).

Every command is timed as a whole process, wall clock, from the workload's root:
one warm-up run, then N timed runs, reporting the median and the minimum. With
hyperfine on PATH it does the timing; otherwise a perf_counter loop does.
Before timing, mlrepro's resolved stages must equal DVC's (same count, same
addresses), so a loader that drops stages cannot look fast.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import engine  # noqa: E402
from workloads import WORKLOADS  # noqa: E402

WORK = HERE / "work"
RESULTS = HERE / "RESULTS.md"
# Targets from the issue: load under 0.5 s, >= 5x faster than DVC, --version under 0.15 s.
TARGET_LOAD_S = 0.5
TARGET_RATIO = 5.0
TARGET_VERSION_S = 0.15
# DVC otherwise starts an analytics daemon process per command, which is not loading work.
ENV = {**os.environ, "DVC_NO_ANALYTICS": "1"}


@dataclass(frozen=True, slots=True)
class Timing:
    label: str
    median: float
    minimum: float
    runs: int
    timer: str


@dataclass(frozen=True, slots=True)
class Skipped:
    label: str
    reason: str


def find_tool(name: str) -> str | None:
    """Prefer the tool next to this interpreter (the venv), then PATH."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    return shutil.which(name)


def run(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, env=ENV, capture_output=True, text=True, check=False)


def time_command(
    label: str, argv: list[str], cwd: Path, repeat: int, hyperfine: str | None
) -> Timing:
    if hyperfine:
        with tempfile.NamedTemporaryFile(suffix=".json") as out:
            cmd = [
                hyperfine,
                "-N",
                "--style",
                "none",
                "--warmup",
                "1",
                "--runs",
                str(repeat),
                "--export-json",
                out.name,
                shlex.join(argv),
            ]
            subprocess.run(cmd, cwd=cwd, env=ENV, check=True, stdout=subprocess.DEVNULL)
            times = json.loads(Path(out.name).read_text())["results"][0]["times"]
        return Timing(label, statistics.median(times), min(times), len(times), "hyperfine")
    times = []
    for i in range(repeat + 1):
        start = time.perf_counter()
        subprocess.run(
            argv, cwd=cwd, env=ENV, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        if i:  # the first run is the warm-up
            times.append(time.perf_counter() - start)
    return Timing(label, statistics.median(times), min(times), len(times), "perf_counter")


def dvc_addresses(dvc: str, root: Path) -> list[str]:
    proc = run([dvc, "stage", "list", "--all", "--name-only", "--fail"], root)
    if proc.returncode:
        raise RuntimeError(f"dvc rejected the workload: {proc.stderr.strip()[-500:]}")
    return [line.strip() for line in proc.stdout.splitlines() if line.strip()]


def mlrepro_addresses(mlrepro: str, root: Path) -> list[str] | str:
    """The stage ids mlrepro resolves, or why it could not."""
    proc = run([mlrepro, "stage", "list", "--json"], root)
    if proc.returncode:
        return f"exit {proc.returncode}: {(proc.stderr.strip().splitlines() or ['?'])[-1]}"
    try:
        return [stage["id"] for stage in json.loads(proc.stdout)["stages"]]
    except (ValueError, KeyError, TypeError) as exc:
        return f"unreadable JSON: {exc!r}"


def verify(expected: int, dvc_ids: list[str] | None, ml_ids: list[str] | str) -> str | None:
    """None when mlrepro may be timed, else the reason it may not."""
    if isinstance(ml_ids, str):
        return ml_ids
    if dvc_ids is None:
        return None if len(ml_ids) == expected else f"{len(ml_ids)} stages, expected {expected}"
    if len(ml_ids) != len(dvc_ids):
        return f"{len(ml_ids)} stages, DVC has {len(dvc_ids)}"
    missing = sorted(set(dvc_ids) - set(ml_ids))
    if missing:
        return f"stage ids differ from DVC's, e.g. DVC has {missing[0]!r}"
    return None


def bench_workload(name: str, repeat: int, hyperfine: str | None) -> str:
    """Build the workload, check mlrepro against DVC, time every command; Markdown out."""
    root = WORK / name
    expected = WORKLOADS[name](root)
    mlrepro, dvc = find_tool("mlrepro"), find_tool("dvc")
    notes = [f"Workload `{name}`: {expected} stages expected."]

    dvc_ids = dvc_addresses(dvc, root) if dvc else None
    if dvc_ids is not None:
        if len(dvc_ids) != expected:
            raise RuntimeError(
                f"{name}: DVC resolves {len(dvc_ids)} stages, generator meant {expected}"
            )
        notes.append(f"DVC resolves {len(dvc_ids)} stages.")
    ml_problem = verify(expected, dvc_ids, mlrepro_addresses(mlrepro, root)) if mlrepro else None
    if mlrepro is None:
        notes.append("mlrepro is not installed.")
    elif ml_problem is None:
        notes.append(
            "mlrepro resolves the same stage ids as DVC."
            if dvc_ids is not None
            else "mlrepro resolves the expected number of stages (DVC not installed)."
        )
    else:
        notes.append(f"mlrepro NOT timed on the pipeline: {ml_problem}")

    py = sys.executable
    ml_ok = mlrepro is not None and ml_problem is None
    ml = mlrepro or "mlrepro"  # only run when found; the name keeps the types simple
    dv = dvc or "dvc"
    ml_why = "mlrepro not installed" if mlrepro is None else f"mlrepro failed: {ml_problem}"
    plan: list[tuple[str, list[str] | None, str]] = [
        ("python -c pass (interpreter floor)", [py, "-c", "pass"], ""),
        ("mlrepro --version", [ml, "--version"] if mlrepro else None, ml_why),
        ("mlrepro stage list --json", [ml, "stage", "list", "--json"] if ml_ok else None, ml_why),
        ("mlrepro dag --json", [ml, "dag", "--json"] if ml_ok else None, ml_why),
        ("dvc --version", [dv, "--version"] if dvc else None, "dvc not installed"),
        (
            "dvc stage list --all --fail",
            [dv, "stage", "list", "--all", "--fail"] if dvc else None,
            "dvc not installed",
        ),
        ("dvc dag --dot", [dv, "dag", "--dot"] if dvc else None, "dvc not installed"),
    ]
    rows: list[Timing | Skipped] = []
    for label, argv, why in plan:
        if argv is None:
            rows.append(Skipped(label, why))
            continue
        if label == "mlrepro dag --json" and run(argv, root).returncode:
            rows.append(Skipped(label, "command failed"))
            continue
        rows.append(time_command(label, argv, root, repeat, hyperfine))
        print(f"  timed {label}", file=sys.stderr)
    return render(name, notes, rows)


def render(name: str, notes: list[str], rows: list[Timing | Skipped]) -> str:
    lines = [
        f"## {name}",
        "",
        *[f"- {note}" for note in notes],
        "",
        "| command | median (s) | min (s) | runs | timer |",
        "| --- | ---: | ---: | ---: | --- |",
    ]
    timed = {}
    for row in rows:
        if isinstance(row, Timing):
            timed[row.label] = row
            cells = [f"`{row.label}`", f"{row.median:.3f}", f"{row.minimum:.3f}", str(row.runs)]
            lines.append("| " + " | ".join([*cells, row.timer]) + " |")
        else:
            lines.append(f"| `{row.label}` | - | - | 0 | not timed: {row.reason} |")
    lines += ["", "| target | measured | result |", "| --- | ---: | --- |"]

    def check(what: str, value: float | None, ok: bool, fmt: str) -> None:
        shown = "n/a" if value is None else fmt.format(value)
        verdict = "n/a" if value is None else ("PASS" if ok else "FAIL")
        lines.append(f"| {what} | {shown} | {verdict} |")

    def median(label: str) -> float | None:
        row = timed.get(label)
        return row.median if row else None

    load, dvc_load = median("mlrepro stage list --json"), median("dvc stage list --all --fail")
    dag, dvc_dag = median("mlrepro dag --json"), median("dvc dag --dot")
    version = median("mlrepro --version")
    ratio = dvc_load / load if load and dvc_load else None
    dag_ratio = dvc_dag / dag if dag and dvc_dag else None
    check(
        f"`mlrepro stage list --json` median < {TARGET_LOAD_S} s",
        load,
        load is not None and load < TARGET_LOAD_S,
        "{:.3f} s",
    )
    check(
        f"DVC / mlrepro stage-list ratio >= {TARGET_RATIO:g}x",
        ratio,
        ratio is not None and ratio >= TARGET_RATIO,
        "{:.1f}x",
    )
    check("DVC / mlrepro dag ratio (no target)", dag_ratio, True, "{:.1f}x")
    check(
        f"`mlrepro --version` median < {TARGET_VERSION_S} s",
        version,
        version is not None and version < TARGET_VERSION_S,
        "{:.3f} s",
    )
    return "\n".join(lines) + "\n"


def machine_info() -> str:
    cpu = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    dvc = find_tool("dvc")
    dvc_version = run([dvc, "--version"], HERE).stdout.strip() if dvc else "not installed"
    hf = shutil.which("hyperfine")
    hf_version = run([hf, "--version"], HERE).stdout.strip() if hf else "not installed"
    commit = run(["git", "rev-parse", "--short", "HEAD"], HERE).stdout.strip() or "unknown"
    dirty = run(["git", "status", "--porcelain", "--", "../mlrepro"], HERE).stdout.split("\n")
    changed = sorted(line[3:] for line in dirty if line.strip())
    if changed:  # the editable install runs the work tree, not the commit
        commit += f" plus uncommitted changes to {', '.join(changed)}"
    nproc = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    mem = "unknown"
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        kib = int(meminfo.read_text().split("MemTotal:")[1].split()[0])
        mem = f"{kib / 2**20:.0f} GiB"
    fs = run(["df", "--output=fstype", str(HERE)], HERE).stdout.split()[-1:] or ["?"]
    return "\n".join(
        [
            f"- date (UTC): {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M')}",
            f"- mlrepro commit: {commit}",
            f"- nproc: {nproc}; CPU: {cpu}; RAM: {mem}; {platform.system()} {platform.release()}",
            f"- file system of benchmarks/work: {fs[0]}",
            f"- Python {platform.python_version()} ({sys.executable})",
            f"- DVC {dvc_version}; {hf_version}",
        ]
    )


def write_results(sections: dict[str, str], info: str) -> None:
    """Replace the sections just measured; keep the others (from an earlier --only run).
    Each section just measured names the date and commit of this run, as sections kept
    from an earlier run name theirs: the Machine section describes the latest run."""
    when = [
        line[2:] for line in info.splitlines() if line.startswith(("- date", "- mlrepro commit"))
    ]
    stamp = f"- measured: {'; '.join(when)}\n"
    sections = {name: text.replace("\n\n", f"\n\n{stamp}", 1) for name, text in sections.items()}
    old: dict[str, str] = {}
    if RESULTS.exists():
        parts = RESULTS.read_text().split("\n## ")[1:]
        old = {p.split("\n", 1)[0].strip(): "## " + p for p in parts if not p.startswith("Machine")}
    old.update(sections)
    body = "\n".join(old[k].rstrip() + "\n" for k in sorted(old))
    RESULTS.write_text(
        "# Benchmark results\n\nWritten by `python benchmarks/run.py --write`; see README.md.\n\n"
        f"## Machine\n\n{info}\n\n{body}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--only", choices=sorted([*WORKLOADS, *engine.NAMES]), help="run one workload"
    )
    parser.add_argument(
        "--repeat", type=int, default=10, help="timed runs per command (default 10)"
    )
    parser.add_argument("--write", action="store_true", help="also write benchmarks/RESULTS.md")
    parser.add_argument("--no-hyperfine", action="store_true", help="time with the built-in loop")
    parser.add_argument(
        "--small",
        action="store_true",
        help="engine workloads at a tiny size, one run each (checks the runner, not speed)",
    )
    args = parser.parse_args()
    # every tool runs with its bytecode cached, as after an install (see engine.ENV)
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(HERE.parent / "mlrepro")], check=True
    )
    hyperfine = None if args.no_hyperfine else shutil.which("hyperfine")
    info = machine_info()
    print(f"## Machine\n\n{info}\n")
    sections: dict[str, str] = {}
    names = [args.only] if args.only else sorted([*WORKLOADS, *engine.NAMES])
    for name in names:
        print(f"benchmarking {name} ...", file=sys.stderr)
        if name in WORKLOADS:
            section = bench_workload(name, args.repeat, hyperfine)
        else:
            mlrepro, dvc = find_tool("mlrepro"), find_tool("dvc")
            if mlrepro is None or dvc is None:
                print(f"  skipped {name}: needs both mlrepro and dvc", file=sys.stderr)
                continue
            section = engine.bench(name, WORK, engine.Tools(mlrepro, dvc), small=args.small)
        sections[name] = section
        print(section)
    engine.empty_trash(WORK)  # every section timed: now the deleting can happen
    if args.write and args.small:
        print("not writing RESULTS.md: --small runs are not measurements", file=sys.stderr)
    elif args.write:
        write_results(sections, info)
        print(f"wrote {RESULTS}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
