"""History benchmarks (the lineage and diff issue): a long history, queried without checkout.

The workload is built with mlrepro itself: one stage writes a folder of 50,000 files of
4 KiB (``persist``, so each run rewrites only what changed) and a metrics file; every
commit changes the ``round`` param, the stage rewrites three files of the folder and
the metrics, ``mlrepro repro`` caches the new tree, and the result is committed. After
200 commits the cache holds 200 trees of 50,000 entries that differ by a few files.

Timed (each a whole process, from the repository root, page cache warm):
- ``mlrepro diff HEAD~1 HEAD``: params, metrics, the folder down to the changed files;
- ``mlrepro metrics history -n 200``;
- ``mlrepro lineage --digest sha256:... --all-commits``: the first commit's output folder,
  searched through every commit (the digest index built by an untimed first query, and
  also timed cold, with the index deleted).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import engine as en
import workloads as wl

COMMITS = 200
DIFF_S = 0.5
HISTORY_S = 3.0
DIGEST_S = 2.0

GEN = """\
import json, os, random, sys
import yaml
r = yaml.safe_load(open("params.yaml"))["round"]
files, folders, size = {files}, {folders}, {size}
per = -(-files // folders)
if not os.path.isdir("data"):
    rnd = random.Random(7)
    for n in range(files):
        d = f"data/d{{n // per:03d}}"
        os.makedirs(d, exist_ok=True)
        with open(f"{{d}}/f{{n:05d}}.bin", "wb") as f:
            f.write(rnd.randbytes(size))
rnd = random.Random(r)
for n in rnd.sample(range(files), 3):
    with open(f"data/d{{n // per:03d}}/f{{n:05d}}.bin", "wb") as f:
        f.write(rnd.randbytes(size))
acc = round(0.5 + 0.45 * (1 - 1 / (1 + r / 20)) + rnd.uniform(-0.01, 0.01), 5)
with open("metrics.json", "w") as f:
    json.dump({{"acc": acc, "loss": round(1 - acc, 5), "round": r}}, f)
"""

DVC_YAML = """\
stages:
  make:
    cmd: python gen.py
    deps: [gen.py]
    params: [round]
    outs:
      - data:
          persist: true
    metrics:
      - metrics.json:
          cache: false
"""


def build(root: Path, mlrepro: str, commits: int, files: int) -> float:
    wl.init_engine_repo(root, [mlrepro, "init"])
    (root / "gen.py").write_text(
        GEN.format(files=files, folders=wl.MANY_FOLDERS, size=wl.MANY_SIZE)
    )
    (root / "dvc.yaml").write_text(DVC_YAML)
    env_git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@mlrepro.invalid"]
    start = time.perf_counter()
    for r in range(commits):
        (root / "params.yaml").write_text(f"round: {r}\n")
        en.sh([mlrepro, "repro"], root)
        en.sh(["git", "add", "-A"], root)
        en.sh([*env_git, "commit", "-q", "-m", f"round {r}"], root)
    return time.perf_counter() - start


def bench_history(work: Path, tools: en.Tools, small: bool) -> en.Section:
    commits = 20 if small else COMMITS
    files = 2_000 if small else wl.MANY_FILES
    sec = en.Section("history")
    base = work / "history"
    root = base / "mlrepro"
    en.retire(base)
    took = build(root, tools.mlrepro, commits, files)
    en.sync()
    sec.notes += [
        f"{commits} commits, each changing the param `round`, three of the {files:,} files "
        f"(4 KiB) of the output folder `data/` and `metrics.json`; built with `mlrepro repro` "
        f"in {took:.0f} s.",
        "mlrepro only (DVC has no lineage query and no metrics history).",
        f"Load average before: {en.loadavg()}.",
    ]
    first_tree = json.loads(
        en.sh([tools.mlrepro, "lineage", "data", "--rev", f"HEAD~{commits - 1}", "--json"], root)
    )
    digest = next(n for n in first_tree["nodes"] if n["id"] == "artifact:data")["sha256"]

    def timed(
        what: str, argv: list[str], runs: int = 5, prepare: en.Prepare | None = None
    ) -> en.Series:
        ml, _ = en.compare(what, (argv, root, prepare), None, runs=runs, warmup=prepare is None)
        assert ml is not None
        sec.rows.append((what, ml, None))
        return ml

    diff = timed("`diff HEAD~1 HEAD`", [tools.mlrepro, "diff", "HEAD~1", "HEAD"])
    changed = json.loads(en.sh([tools.mlrepro, "diff", "HEAD~1", "HEAD", "--json"], root))
    inside = [c for c in changed["data"] if c["folder"] == "data"]
    if not 1 <= len(inside) <= 3:
        raise RuntimeError(f"diff HEAD~1 HEAD found {len(inside)} changed files in data/")
    hist = timed(
        f"`metrics history -n {commits}`", [tools.mlrepro, "metrics", "history", "-n", str(commits)]
    )
    rows = json.loads(
        en.sh([tools.mlrepro, "metrics", "history", "-n", str(commits), "--json"], root)
    )["rows"]
    if len(rows) != commits:
        raise RuntimeError(f"metrics history gave {len(rows)} rows for {commits} commits")
    query = [tools.mlrepro, "lineage", "--digest", digest, "--all-commits"]
    warm = timed(f"`lineage --digest` over all {commits} commits (index built)", query)
    index = root / ".mlrepro" / "state" / "lineage.db"

    def drop_index() -> None:
        for p in (index, Path(f"{index}-wal"), Path(f"{index}-shm")):
            p.unlink(missing_ok=True)

    cold = timed(
        f"`lineage --digest` over all {commits} commits (index rebuilt)", query, 3, drop_index
    )
    found = json.loads(en.sh([*query, "--json"], root))["found"]
    if not any(h["role"] == "produced" for h in found):
        raise RuntimeError("the first commit's folder was not found by digest")
    sec.notes.append(f"Load average after: {en.loadavg()}.")
    sec.check(f"`diff HEAD~1 HEAD` < {DIFF_S} s", diff.median, diff.median < DIFF_S, "{:.3f} s")
    sec.check(
        f"`metrics history -n {commits}` < {HISTORY_S} s",
        hist.median,
        hist.median < HISTORY_S,
        "{:.3f} s",
    )
    sec.check(
        f"lineage by digest over {commits} commits < {DIGEST_S} s (index rebuilt)",
        cold.median,
        cold.median < DIGEST_S,
        "{:.3f} s",
    )
    sec.check(
        f"lineage by digest over {commits} commits < {DIGEST_S} s (index built)",
        warm.median,
        warm.median < DIGEST_S,
        "{:.3f} s",
    )
    en.retire(base)
    return sec
