"""Audit benchmark (the audit-log issue): what recording costs a repro of 100 cached stages.

mlrepro has no switch to turn auditing off (an audit log that can be disabled is
worth less), so the baseline is the same code before auditing existed: commit
``BASELINE``, checked out as a git worktree and run from its source with the same
interpreter. Both versions run the same workload in the same repository, alternating.

Workload: 100 independent stages, each writing one small file from the param ``v``.
Every stage is first run for ``v: 1`` and ``v: 2``; the timed operation switches ``v``
back to the other value, so all 100 stages are restored from the run-cache, each
restore recorded as an audit entry (and the log published once, at the end).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import engine as en

BASELINE = "2ab5f94"  # the last commit before the audit log
STAGES = 100
OVERHEAD = 0.10


def _run(src: Path, root: Path, args: list[str]) -> float:
    env = {**en.ENV, "PYTHONPATH": str(src)}
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "mlrepro", *args],
        cwd=root,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def bench_audit(work: Path, tools: en.Tools, small: bool) -> en.Section:
    sec = en.Section("audit")
    base = work / "audit"
    en.rm(base)
    base.mkdir(parents=True)
    here = Path(__file__).resolve().parents[1]
    old = base / "baseline-src"
    subprocess.run(
        ["git", "worktree", "add", "-q", "--detach", str(old), BASELINE], cwd=here, check=True
    )
    try:
        root = base / "repo"
        root.mkdir()
        en.sh(["git", "init", "-q", "-b", "main"], root)
        en.sh(["git", "config", "user.name", "bench"], root)
        en.sh(["git", "config", "user.email", "bench@mlrepro.invalid"], root)
        en.sh([tools.mlrepro, "init"], root)
        (root / "out").mkdir()
        lines = ["stages:"]
        for i in range(STAGES):
            lines += [
                f"  s{i:03d}:",
                f"    cmd: echo ${{v}} {i} > out/{i:03d}.txt",
                "    params: [v]",
                f"    outs: [out/{i:03d}.txt]",
            ]
        (root / "dvc.yaml").write_text("\n".join(lines) + "\n")
        for v in (1, 2):
            (root / "params.yaml").write_text(f"v: {v}\n")
            en.sh([tools.mlrepro, "repro", "-j", "2"], root)
        en.sh(["git", "add", "-A"], root)
        en.sh(["git", "commit", "-q", "-m", "pipeline"], root)
        runs = 3 if small else 9
        times: dict[str, list[float]] = {"audited": [], "baseline": []}
        v = 2
        for _ in range(runs):
            for label, src in (("audited", here), ("baseline", old)):
                v = 1 if v == 2 else 2
                (root / "params.yaml").write_text(f"v: {v}\n")
                times[label].append(_run(src, root, ["repro", "-j", "2"]))
        entries = en.sh([tools.mlrepro, "audit", "verify"], root).strip()
        med = {k: statistics.median(t) for k, t in times.items()}
        overhead = med["audited"] / med["baseline"] - 1
        sec.notes += [
            f"{STAGES} stages restored from the run-cache per run (`repro -j 2`, the param "
            "switched between two values seen before); each restore is one audit entry.",
            f"Baseline: the same code before the audit log (commit `{BASELINE}`), run from a "
            "git worktree with the same interpreter, alternating with the audited version.",
            f"After the runs: `{entries}`.",
            f"Load average: {en.loadavg()}.",
        ]
        sec.extra += [
            ("`repro` restoring 100 stages, audited (median)", f"{med['audited']:.3f} s"),
            ("the same without auditing (median)", f"{med['baseline']:.3f} s"),
            ("overhead of auditing", f"{overhead:+.1%}"),
            ("runs each", str(runs)),
        ]
        sec.check(
            f"auditing slows a 100-stage cached repro by at most {OVERHEAD:.0%}",
            overhead * 100,
            overhead <= OVERHEAD,
            "{:+.1f}%",
        )
        return sec
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(old)], cwd=here, check=False)
        en.rm(base)
        os.sync()
