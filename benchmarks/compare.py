"""Before and after, in the same run: the benchmark rows of two mlrepro installs side by side.

    python benchmarks/compare.py --before /path/to/old/venv/bin/python \\
        [--after PYTHON] --only NAME ... [--repeat N] [--rounds 2] [--small]
        [--no-dvc] [--keep DIR]

Each side is ``benchmarks/run.py`` (this checkout's) run by that side's interpreter, so
the mlrepro timed is the one installed beside it (run.py's ``find_tool``) and DVC is
the one on PATH. The sides take turns per workload, in ABBA order over ``--rounds``
rounds, so a change in the machine's load falls on both. For each row of the
``operation | mlrepro median`` tables the output shows the median of each side's
medians and the change; rows slower by more than 10% are marked.

``--no-dvc`` runs both sides with ``MLREPRO_BENCH_DVC=0``: the engine workloads leave
out DVC's timed runs and what needs them (engine.TIME_DVC), so a round takes minutes
instead of most of an hour (DVC's repro of big_params alone takes about 20).
``--keep DIR`` writes each run's Markdown there.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROW = re.compile(r"^\| (?P<what>[^|]+?) \| (?P<median>[0-9.]+) \((?P<min>[0-9.]+)\) \|")
# the audit section's measurements table: "| what (median) | 0.385 s |"
# the loader workloads' table: "| `mlrepro status` | 0.123 | 0.100 | 10 | timer |"
COMMAND = re.compile(r"^\| `(?P<what>mlrepro [^`]+)` \| (?P<median>[0-9.]+) \| (?P<min>[0-9.]+) \|")
MEDIAN = re.compile(r"^\| (?P<what>[^|]+?\(median\)) \| (?P<median>[0-9.]+) s \|$")
SLOWER = 0.10


def rows(markdown: str, workload: str) -> dict[str, float]:
    """``workload: operation`` -> mlrepro's median, from run.py's Markdown."""
    found = {}
    section = workload
    for line in markdown.splitlines():
        if line.startswith("## "):
            section = line[3:].strip()
        m = ROW.match(line) or MEDIAN.match(line) or COMMAND.match(line)
        if m:
            found[f"{section}: {m['what']}"] = float(m["median"])
    return found


def one(
    python: str, workload: str, repeat: int, small: bool, dvc: bool, keep: Path | None
) -> dict[str, float]:
    path = [str(Path(python).parent), os.environ["PATH"]]
    env = {**os.environ, "PATH": os.pathsep.join(path), "MLREPRO_BENCH_DVC": "1" if dvc else "0"}
    argv = [python, str(HERE / "run.py"), "--only", workload, "--repeat", str(repeat)]
    argv += ["--small"] if small else []
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if proc.returncode:
        sys.stderr.write(proc.stderr[-2000:])
        raise SystemExit(f"{python}: run.py --only {workload} failed")
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        side = Path(python).parent.parent.name
        with (keep / f"{workload}-{side}.md").open("a") as f:
            f.write(proc.stdout + "\n")
    return rows(proc.stdout, workload)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--before", required=True, help="the interpreter of the old install")
    parser.add_argument("--after", default=sys.executable, help="the new one (default: this)")
    parser.add_argument("--only", nargs="+", required=True, help="workloads (run.py --only)")
    parser.add_argument("--repeat", type=int, default=5, help="run.py --repeat (default 5)")
    parser.add_argument("--rounds", type=int, default=2, help="ABBA rounds (default 2)")
    parser.add_argument("--small", action="store_true", help="run.py --small (checks this script)")
    parser.add_argument("--no-dvc", action="store_true", help="time mlrepro only (see above)")
    parser.add_argument("--keep", type=Path, help="write each run's Markdown into this folder")
    args = parser.parse_args()
    sides = {"before": args.before, "after": args.after}
    seen: dict[str, dict[str, list[float]]] = {"before": {}, "after": {}}
    for workload in args.only:
        for r in range(args.rounds):
            order = ["before", "after"] if r % 2 == 0 else ["after", "before"]
            for side in order:
                print(f"{workload}: {side} (round {r + 1})", file=sys.stderr)
                timed = one(
                    sides[side], workload, args.repeat, args.small, not args.no_dvc, args.keep
                )
                for what, median in timed.items():
                    seen[side].setdefault(what, []).append(median)
    print("| operation | before median s | after median s | change |")
    print("| --- | ---: | ---: | ---: |")
    worst = 0.0
    for what in seen["after"]:
        if what not in seen["before"]:
            continue
        b = statistics.median(seen["before"][what])
        a = statistics.median(seen["after"][what])
        change = a / b - 1 if b else 0.0
        worst = max(worst, change)
        mark = " (slower by more than 10%)" if change > SLOWER else ""
        print(f"| {what} | {b:.3f} | {a:.3f} | {change:+.1%}{mark} |")
    print(f"\nworst change: {worst:+.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
