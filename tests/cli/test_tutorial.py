"""DVC's tutorial project, end to end (issue 14).

The layout of iterative/example-get-started: prepare -> featurize -> train -> evaluate,
with `evaluate` logging through dvclive into its output folder `eval`, so the metrics
file `eval/metrics.json` lives inside a cached, gitignored output and is declared at
the top level of dvc.yaml. The stages here are small pure-Python scripts (no
scikit-learn, no network) over a synthetic data set the test generates with a fixed
seed: a logistic regression on word frequencies, which writes different metrics for
different `train` params.

The repository is built once per module (two commits: the baseline and a changed train
param, each run with `mlrepro repro`); tests that change anything work in clones.
Every expected value is read from what the stages wrote at each commit.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.exec.test_local import hermetic_env
from tests.ops.conftest import GIT_ENV

# the whole tutorial pipeline (dvclive, DVC) run at two commits, then in clones
pytestmark = pytest.mark.slow

RUN_LOG = "TUTORIAL_RUN_LOG"  # each script appends its name here: who really ran

_LOG_RUN = f"""\
if os.environ.get("{RUN_LOG}"):
    with open(os.environ["{RUN_LOG}"], "a") as log:
        log.write(STAGE + "\\n")
"""

PREPARE = (
    '''\
"""Split the posts into train and test sets: data/prepared/{train,test}.tsv."""
import os
import random
import sys
import xml.etree.ElementTree as ET

import yaml

STAGE = "prepare"
'''
    + _LOG_RUN
    + """
params = yaml.safe_load(open("params.yaml"))["prepare"]
rng = random.Random(params["seed"])
os.makedirs(os.path.join("data", "prepared"), exist_ok=True)
files = {n: open(os.path.join("data", "prepared", n + ".tsv"), "w") for n in ("train", "test")}
for row in ET.parse(sys.argv[1]).getroot().iter("row"):
    label = 1 if "<r>" in row.get("Tags") else 0
    text = (row.get("Title") + " " + row.get("Body")).lower()
    split = "test" if rng.random() < params["split"] else "train"
    files[split].write(row.get("Id") + "\\t" + str(label) + "\\t" + text + "\\n")
for f in files.values():
    f.close()
"""
)

FEATURIZE = (
    '''\
"""Word frequencies of the most common words: data/features/{train,test}.json."""
import collections
import json
import os
import sys

import yaml

STAGE = "featurize"
'''
    + _LOG_RUN
    + """
params = yaml.safe_load(open("params.yaml"))["featurize"]
src, dst = sys.argv[1], sys.argv[2]

def read(name):
    rows = []
    for line in open(os.path.join(src, name + ".tsv")):
        _, label, text = line.rstrip("\\n").split("\\t")
        rows.append((int(label), text.split()))
    return rows

train, test = read("train"), read("test")
counts = collections.Counter(w for _, words in train for w in words)
vocab = [w for w, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
vocab = vocab[: params["max_features"]]
os.makedirs(dst, exist_ok=True)
for name, rows in (("train", train), ("test", test)):
    matrix = [[label, [words.count(w) / len(words) for w in vocab]] for label, words in rows]
    with open(os.path.join(dst, name + ".json"), "w") as f:
        json.dump({"vocab": vocab, "rows": matrix}, f)
"""
)

TRAIN = (
    '''\
"""Logistic regression by stochastic gradient descent: model.pkl."""
import json
import math
import os
import pickle
import random
import sys

import yaml

STAGE = "train"
'''
    + _LOG_RUN
    + """
params = yaml.safe_load(open("params.yaml"))["train"]
rows = json.load(open(os.path.join(sys.argv[1], "train.json")))["rows"]
rng = random.Random(params["seed"])
weights, bias = [0.0] * len(rows[0][1]), 0.0
for _ in range(params["epochs"]):
    rng.shuffle(rows)
    for label, x in rows:
        z = bias + sum(w * v for w, v in zip(weights, x))
        g = 1 / (1 + math.exp(-z)) - label
        weights = [w - params["lr"] * g * v for w, v in zip(weights, x)]
        bias -= params["lr"] * g
with open(sys.argv[2], "wb") as f:
    pickle.dump({"weights": weights, "bias": bias}, f, protocol=4)
"""
)

EVALUATE = (
    '''\
"""Metrics and an ROC plot for both sets, logged with dvclive into eval/ as the tutorial does."""
import json
import math
import os
import pickle
import sys

from dvclive import Live

STAGE = "evaluate"
'''
    + _LOG_RUN
    + """
model = pickle.load(open(sys.argv[1], "rb"))

def scores(name):
    rows = json.load(open(os.path.join(sys.argv[2], name + ".json")))["rows"]
    out = []
    for label, x in rows:
        z = model["bias"] + sum(w * v for w, v in zip(model["weights"], x))
        out.append((1 / (1 + math.exp(-z)), label))
    return out

def roc(pairs):
    pairs = sorted(pairs, key=lambda p: -p[0])
    pos = sum(label for _, label in pairs)
    neg = len(pairs) - pos
    tp = fp = 0
    points, auc, prec_sum = [{"fpr": 0.0, "tpr": 0.0, "threshold": 1.0}], 0.0, 0.0
    for score, label in pairs:
        if label:
            tp += 1
            prec_sum += tp / (tp + fp)
        else:
            fp += 1
            auc += tp / pos / neg
        points.append({"fpr": fp / neg, "tpr": tp / pos, "threshold": score})
    return points, auc, prec_sum / pos

with Live("eval", dvcyaml=False) as live:
    live.summary = {"avg_prec": {}, "roc_auc": {}, "accuracy": {}}
    for split in ("train", "test"):
        pairs = scores(split)
        points, auc, avg_prec = roc(pairs)
        live.summary["roc_auc"][split] = auc
        live.summary["avg_prec"][split] = avg_prec
        hits = sum((score >= 0.5) == bool(label) for score, label in pairs)
        live.summary["accuracy"][split] = hits / len(pairs)
        live.log_plot("roc/" + split, points, x="fpr", y="tpr", template="simple")
"""
)

DVC_YAML = """\
stages:
  prepare:
    cmd: python src/prepare.py data/data.xml
    deps:
    - data/data.xml
    - src/prepare.py
    params:
    - prepare.seed
    - prepare.split
    outs:
    - data/prepared
  featurize:
    cmd: python src/featurization.py data/prepared data/features
    deps:
    - data/prepared
    - src/featurization.py
    params:
    - featurize.max_features
    outs:
    - data/features
  train:
    cmd: python src/train.py data/features model.pkl
    deps:
    - data/features
    - src/train.py
    params:
    - train.seed
    - train.epochs
    - train.lr
    outs:
    - model.pkl
  evaluate:
    cmd: python src/evaluate.py model.pkl data/features
    deps:
    - data/features
    - model.pkl
    - src/evaluate.py
    outs:
    - eval
metrics:
- eval/metrics.json
plots:
- ROC:
    template: simple
    x: fpr
    y:
      eval/plots/custom/roc/train.json: tpr
      eval/plots/custom/roc/test.json: tpr
"""

PARAMS = {
    "prepare": {"split": 0.25, "seed": 20170428},
    "featurize": {"max_features": 24},
    "train": {"seed": 20170428, "epochs": 2, "lr": 0.5},
}
EPOCHS = (2, 12)  # the train param of the first and second commit
EPOCHS_ELSEWHERE = 5  # a value neither commit ran

WORDS = [
    "python", "list", "error", "function", "file", "value", "code", "loop", "array", "string",
    "plot", "table", "column", "data", "model", "mean", "row", "package", "install", "read",
]  # fmt: skip
R_WORDS = ["dataframe", "ggplot", "vector", "factor", "tidyverse", "dplyr", "cran", "tibble"]


def data_xml(n: int = 160, seed: int = 20170428) -> str:
    """Posts like the tutorial's StackOverflow dump; questions tagged <r> use R words
    more often, but not always (so no split is separated perfectly)."""
    rng = random.Random(seed)
    lines = ['<?xml version="1.0" encoding="utf-8"?>', "<posts>"]
    for i in range(1, n + 1):
        is_r = rng.random() < 0.4
        pool = WORDS + R_WORDS * (2 if is_r else 1)
        title = " ".join(rng.choice(pool) for _ in range(4))
        body = " ".join(rng.choice(pool) for _ in range(rng.randint(6, 14)))
        tags = "&lt;r&gt;&lt;dataframe&gt;" if is_r else "&lt;python&gt;"
        lines.append(f'  <row Id="{i}" Tags="{tags}" Title="{title}" Body="{body}" />')
    lines.append("</posts>")
    return "\n".join(lines) + "\n"


def flatten(doc: dict[str, Any], prefix: str = "") -> dict[str, float]:
    out: dict[str, float] = {}
    for key, value in doc.items():
        if isinstance(value, dict):
            out.update(flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def sha256(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass(frozen=True)
class Snapshot:
    """What the stages wrote for one commit, read from the workspace after its repro."""

    commit: str
    epochs: int
    metrics: dict[str, float]  # eval/metrics.json, keys joined with dots
    metrics_sha256: str
    model_sha256: str
    model: bytes


@dataclass(frozen=True)
class Shell:
    """Runs git and mlrepro in ``root`` (or ``cwd``) with ``env``."""

    root: Path
    env: dict[str, str]  # hermetic, with a pinned git identity and the python shim on PATH

    def run(
        self, *args: str, cwd: Path | None = None, log: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        env = dict(self.env)
        if log is not None:
            env[RUN_LOG] = str(log)
        return subprocess.run(
            args, cwd=cwd or self.root, capture_output=True, text=True, env=env, timeout=300
        )

    def ok(self, *args: str, cwd: Path | None = None, log: Path | None = None) -> str:
        proc = self.run(sys.executable, "-m", "mlrepro", *args, cwd=cwd, log=log)
        assert proc.returncode == 0, (args, proc.stdout, proc.stderr)
        assert "Traceback" not in proc.stdout + proc.stderr, proc.stdout + proc.stderr
        return proc.stdout

    def git(self, *args: str, cwd: Path | None = None) -> str:
        proc = self.run("git", *args, cwd=cwd)
        assert proc.returncode == 0, (args, proc.stderr)
        return proc.stdout


@dataclass(frozen=True)
class Tutorial(Shell):
    old: Snapshot  # HEAD~1
    new: Snapshot  # HEAD
    repro_out: str  # what `mlrepro repro` printed for the second commit


def set_epochs(root: Path, epochs: int) -> None:
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["train"]["epochs"] = epochs
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def snapshot(root: Path, epochs: int, commit: str) -> Snapshot:
    metrics = root / "eval" / "metrics.json"
    return Snapshot(
        commit=commit,
        epochs=epochs,
        metrics=flatten(json.loads(metrics.read_text())),
        metrics_sha256=sha256(metrics),
        model_sha256=sha256(root / "model.pkl"),
        model=(root / "model.pkl").read_bytes(),
    )


@pytest.fixture(scope="module")
def tutorial(tmp_path_factory: pytest.TempPathFactory) -> Tutorial:
    base = tmp_path_factory.mktemp("tutorial")
    root = base / "example-get-started"
    root.mkdir()
    # `python` in the commands is this interpreter (a script, not a link: a link to a
    # virtualenv's python would leave the virtualenv)
    shim = base / "bin"
    shim.mkdir()
    (shim / "python").write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    (shim / "python").chmod(0o755)
    # git's own date format: with the ISO dates of GIT_ENV, the git library dvclive uses
    # could not commit (which only matters if it tries to save an experiment)
    date = "1704067200 +0000"
    env = {**hermetic_env(os.environ, base / "scratch"), **GIT_ENV}
    env.update(GIT_AUTHOR_DATE=date, GIT_COMMITTER_DATE=date)
    env["PATH"] = f"{shim}{os.pathsep}{env.get('PATH', '')}"
    t = Shell(root, env)
    t.git("init", "-q", "-b", "main", cwd=root)
    # the tutorial is a DVC project too (.dvc/ committed); dvclive opens it
    init = t.run(sys.executable, "-m", "dvc", "init", "-q", cwd=root)
    assert init.returncode == 0, init.stderr
    t.ok("init")
    files = {
        "data/data.xml": data_xml(),
        "src/prepare.py": PREPARE,
        "src/featurization.py": FEATURIZE,
        "src/train.py": TRAIN,
        "src/evaluate.py": EVALUATE,
        "dvc.yaml": DVC_YAML,
        "params.yaml": yaml.safe_dump(PARAMS, sort_keys=False),
    }
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    # the raw data is cached, not committed, as `dvc add` does in the tutorial
    t.ok("add", "data/data.xml")
    # dvclive needs a commit to exist (3.49 fails in a repository without one)
    t.git("add", "-A")
    t.git("commit", "-q", "-m", "the tutorial's code and data")
    shots, out = [], ""
    for i, epochs in enumerate(EPOCHS):
        set_epochs(root, epochs)
        out = t.ok("repro", log=base / "runs.log")
        t.git("add", "-A")
        t.git("commit", "-q", "-m", f"train for {epochs} epochs" if i else "baseline")
        shots.append(snapshot(root, epochs, t.git("rev-parse", "HEAD").strip()))
    old, new = shots
    # everything ran once, then what the train param feeds
    first, second = ["prepare", "featurize", "train", "evaluate"], ["train", "evaluate"]
    assert runs(base / "runs.log") == first + second
    # the premise of the comparisons below: the param change changed the metrics
    changed = {k for k in old.metrics if old.metrics[k] != new.metrics.get(k)}
    assert changed >= {"roc_auc.test", "avg_prec.test", "roc_auc.train"}, (old, new)
    assert old.model_sha256 != new.model_sha256
    return Tutorial(root, env, old, new, out)


def close(shown: float, value: float, decimals: int = 5) -> bool:
    """``shown`` is ``value`` as the CLI prints it, rounded to ``decimals`` places."""
    return math.isclose(shown, value, abs_tol=0.5 * 10**-decimals + 1e-12)


def test_layout_as_in_the_tutorial(tutorial: Tutorial) -> None:
    t = tutorial
    # eval/ is a cached output: git holds neither it nor the metrics file inside it
    tracked = t.git("ls-files").split()
    assert "eval/metrics.json" not in tracked and "model.pkl" not in tracked
    assert "mlrepro.lock" in tracked
    assert t.git("check-ignore", "eval/metrics.json").strip() == "eval/metrics.json"
    # dvclive wrote its summary and the plots where dvc.yaml says
    for split in ("train", "test"):
        assert (t.root / "eval" / "plots" / "custom" / "roc" / f"{split}.json").is_file()
    # and it did not try to save an experiment (issue 14: DVC_ROOT set for the command)
    assert t.git("for-each-ref", "refs/exps") == ""
    assert not (t.root / "dvc.lock").exists()


def test_repro_echoes_each_command_as_it_starts(tutorial: Tutorial) -> None:
    # as DVC does: `> python src/train.py ...` (prefixed `[stage] ` when stages run at once)
    lines = tutorial.repro_out.splitlines()
    echoed: dict[str, tuple[int, str]] = {}
    for n, line in enumerate(lines):
        prefix, rest = "", line
        if line.startswith("["):
            prefix, _, rest = line[1:].partition("] ")
        if rest.startswith("> "):
            echoed[rest[2:]] = (n, prefix)
    stages = yaml.safe_load(DVC_YAML)["stages"]
    assert set(echoed) == {stages["train"]["cmd"], stages["evaluate"]["cmd"]}, lines
    for name in ("train", "evaluate"):
        n, prefix = echoed[stages[name]["cmd"]]
        assert prefix in ("", name), lines[n]
        finished = next(i for i, line in enumerate(lines) if line.startswith(f"Stage '{name}'"))
        assert n < finished, lines  # as it starts, not once it is done


def test_metrics_diff_reads_both_commits_through_the_folder(tutorial: Tutorial) -> None:
    t = tutorial
    old, new = t.old.metrics, t.new.metrics
    doc = json.loads(t.ok("metrics", "diff", "HEAD~1", "HEAD", "--json"))
    assert set(doc) == {"eval/metrics.json"}
    rows = doc["eval/metrics.json"]
    assert set(rows) == {k for k in old if old[k] != new[k]}
    for key, row in rows.items():
        assert row["old"] == pytest.approx(old[key], rel=1e-12), key
        assert row["new"] == pytest.approx(new[key], rel=1e-12), key
        assert row["diff"] == pytest.approx(new[key] - old[key], rel=1e-9, abs=1e-12), key
    # the table: Path, Metric, HEAD~1, HEAD, Change; rounded to 5 places
    lines = t.ok("metrics", "diff", "HEAD~1", "HEAD").splitlines()
    assert lines[0].split() == ["Path", "Metric", "HEAD~1", "HEAD", "Change"]
    seen = set()
    for line in lines[1:]:
        path, key, a, b, change = line.split()
        assert path == "eval/metrics.json"
        assert close(float(a), old[key]) and close(float(b), new[key]), line
        assert close(float(change), new[key] - old[key]), line
        seen.add(key)
    assert seen == set(rows)


def test_metrics_show_all_commits(tutorial: Tutorial) -> None:
    t = tutorial
    doc = json.loads(t.ok("metrics", "show", "-A", "--json"))
    for shot in (t.old, t.new):
        entry = doc[shot.commit]["data"]["eval/metrics.json"]
        assert "data" in entry, (shot.commit, entry)  # not {"error": ...}
        values = flatten(entry["data"])
        assert values.keys() == shot.metrics.keys(), shot.commit
        for key, value in shot.metrics.items():
            assert values[key] == pytest.approx(value, rel=1e-12), (shot.commit, key)
    # every commit shown is on the branch: no experiment commit saved by dvclive
    branch = set(t.git("rev-list", "HEAD").split())
    assert set(doc) - {"workspace"} <= branch, sorted(doc)


def test_metrics_history_has_a_row_per_commit(tutorial: Tutorial) -> None:
    t = tutorial
    doc = json.loads(t.ok("metrics", "history", "--json"))
    assert doc["version"] == 1
    rows = {row["commit"]: row["values"] for row in doc["rows"]}
    assert set(rows) == {t.old.commit, t.new.commit}
    for shot in (t.old, t.new):
        values = rows[shot.commit]
        # columns are `key`, or `path:key` (one file here, so `key`; both accepted)
        values = {k.removeprefix("eval/metrics.json:"): v for k, v in values.items()}
        assert values.keys() == shot.metrics.keys(), shot.commit
        for key, value in shot.metrics.items():
            assert values[key] == pytest.approx(value, rel=1e-12), (shot.commit, key)
    # the table (wrapped into several when wide): a line per commit, newest first
    table = t.ok("metrics", "history").split("\n\n")[0].splitlines()
    assert table[0].split()[:2] == ["Commit", "Date"]
    assert [line.split()[0] for line in table[1:]] == [t.new.commit[:7], t.old.commit[:7]]


def test_diff_markdown_and_json_show_both_commits(tutorial: Tutorial) -> None:
    t = tutorial
    old, new = t.old.metrics, t.new.metrics
    md = t.ok("diff", "HEAD~1", "HEAD", "--md")
    rows = {}
    for line in md.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells[0] == "eval/metrics.json" and cells[1] in old:
            rows[cells[1]] = cells
    assert set(rows) == {k for k in old if old[k] != new[k]}, md
    for key, cells in rows.items():
        assert close(float(cells[2]), old[key]) and close(float(cells[3]), new[key]), cells
    params_rows = [line for line in md.splitlines() if "train.epochs" in line]
    assert len(params_rows) == 1
    assert [c.strip() for c in params_rows[0].strip().strip("|").split("|")][-2:] == [
        str(t.old.epochs),
        str(t.new.epochs),
    ]
    # no note says the metrics file could not be read
    notes = md.split("<details>", 1)[1] if "<details>" in md else ""
    assert "eval/metrics.json" not in notes, md
    doc = json.loads(t.ok("diff", "HEAD~1", "HEAD", "--json"))
    assert doc["old"]["commit"] == t.old.commit and doc["new"]["commit"] == t.new.commit
    metrics = {m["key"]: m for m in doc["metrics"] if m["path"] == "eval/metrics.json"}
    assert set(metrics) == set(rows)
    for key, m in metrics.items():
        assert m["old"] == pytest.approx(old[key], rel=1e-12)
        assert m["new"] == pytest.approx(new[key], rel=1e-12)
    assert not [n for n in doc["notes"] if "eval/metrics.json" in str(n)], doc["notes"]
    data = {d["path"]: d for d in doc["data"]}
    assert data["model.pkl"]["old"]["sha256"] == t.old.model_sha256
    assert data["model.pkl"]["new"]["sha256"] == t.new.model_sha256
    assert data["eval/metrics.json"]["old"]["sha256"] == t.old.metrics_sha256
    assert data["eval/metrics.json"]["new"]["sha256"] == t.new.metrics_sha256


@pytest.mark.parametrize("which", ["old", "new"])
def test_lineage_at_each_commit(tutorial: Tutorial, which: str) -> None:
    t = tutorial
    shot: Snapshot = getattr(t, which)
    rev = "HEAD~1" if which == "old" else "HEAD"
    doc = json.loads(t.ok("lineage", "model.pkl", "--rev", rev, "--json"))
    assert doc["commit"] == shot.commit
    nodes = {n["id"]: n for n in doc["nodes"]}
    assert nodes["artifact:model.pkl"]["sha256"] == shot.model_sha256
    assert nodes["stage:train"]["params"]["params.yaml"]["train.epochs"] == shot.epochs
    text = t.ok("lineage", "model.pkl", "--rev", rev)
    assert shot.model_sha256.removeprefix("sha256:")[:12] in text
    # a file inside the output folder, through the folder's tree object
    doc = json.loads(t.ok("lineage", "eval/metrics.json", "--rev", rev, "--json"))
    part = {n["id"]: n for n in doc["nodes"]}["artifact:eval/metrics.json"]
    assert part["sha256"] == shot.metrics_sha256
    assert doc["notes"] == []


def clone(t: Tutorial, dest: Path, *, run_cache: bool) -> Path:
    """A fresh clone with the cache's objects brought over (as pulling them from a
    remote would), and with ``run_cache`` the run-cache entries too (as restoring
    `.mlrepro/cache` from a CI cache would) and the audit log that binds them (an entry
    is used only when the audit entry it names is in this clone's log: issue 15)."""
    t.git("clone", "-q", str(t.root), str(dest), cwd=dest.parent)
    cache = t.root / ".mlrepro" / "cache"
    shutil.copytree(cache / "xxh3-128", dest / ".mlrepro" / "cache" / "xxh3-128")
    if run_cache:
        shutil.copytree(cache / "runs", dest / ".mlrepro" / "cache" / "runs")
        t.ok("audit", "pull", cwd=dest)
    return dest


def runs(log: Path) -> list[str]:
    return log.read_text().split() if log.exists() else []


@pytest.mark.parametrize("run_cache", [False, True], ids=["objects", "objects+runs"])
def test_revert_in_a_fresh_clone_restores_from_the_run_cache(
    tutorial: Tutorial, tmp_path: Path, run_cache: bool
) -> None:
    t = tutorial
    root = clone(t, tmp_path / "clone", run_cache=run_cache)
    log = tmp_path / "runs.log"
    t.ok("checkout", cwd=root, log=log)
    assert (root / "model.pkl").read_bytes() == t.new.model
    assert not json.loads(t.ok("status", "--json", cwd=root))["changed"]
    # a value no commit ran: train and evaluate run, nothing else
    set_epochs(root, EPOCHS_ELSEWHERE)
    t.ok("repro", cwd=root, log=log)
    assert sorted(runs(log)) == ["evaluate", "train"]
    assert (root / "model.pkl").read_bytes() != t.new.model
    # back to the committed value: both come back from the cache at once, even though
    # this clone never ran them (the committed lock describes that run)
    set_epochs(root, t.new.epochs)
    out = t.ok("repro", cwd=root, log=log)
    assert sorted(runs(log)) == ["evaluate", "train"], out
    assert "Done: 0 ran, 2 restored from the run-cache." in out, out
    assert (root / "model.pkl").read_bytes() == t.new.model
    assert sha256(root / "eval" / "metrics.json") == t.new.metrics_sha256
    assert (root / "mlrepro.lock").read_bytes() == (t.root / "mlrepro.lock").read_bytes()
    assert not json.loads(t.ok("status", "--json", cwd=root))["changed"]
    if run_cache:
        # the first commit's value, which only the original repository ran
        set_epochs(root, t.old.epochs)
        out = t.ok("repro", cwd=root, log=log)
        assert sorted(runs(log)) == ["evaluate", "train"], out
        assert sha256(root / "eval" / "metrics.json") == t.old.metrics_sha256


def ran_or_restored(out: str) -> tuple[set[str], set[str]]:
    """Stages repro ran and stages it restored, from its progress lines."""
    ran, restored = set(), set()
    for line in out.splitlines():
        if line.startswith("Stage '"):
            if line.endswith(" restored from the run-cache"):
                restored.add(line.split("'")[1])
            elif " finished in " in line:
                ran.add(line.split("'")[1])
    return ran, restored


@pytest.mark.parametrize("change", ["param", "same-bytes", "outputs-missing"])
def test_status_and_repro_agree_in_a_fresh_clone(
    tutorial: Tutorial, tmp_path: Path, change: str
) -> None:
    t = tutorial
    root = clone(t, tmp_path / "clone", run_cache=False)
    log = tmp_path / "runs.log"
    if change == "outputs-missing":
        # no checkout: the raw data is there (brought by hand), no output is; the lock's
        # blocks name outputs that are all in the cache, so nothing has to run
        (root / "data" / "data.xml").write_bytes((t.root / "data" / "data.xml").read_bytes())
    else:
        t.ok("checkout", cwd=root, log=log)
    if change == "param":
        # featurize writes other features: everything downstream runs
        params = yaml.safe_load((root / "params.yaml").read_text())
        params["featurize"]["max_features"] -= 8
        (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    elif change == "same-bytes":
        # featurize runs again and writes the same bytes: nothing downstream runs
        with (root / "src" / "featurization.py").open("a") as f:
            f.write("# the same features, written by a commented script\n")
    status = json.loads(t.ok("status", "--json", cwd=root))
    assert status["version"] == 1
    stages = {s["id"]: s for s in status["stages"]}
    # stages status says will run (or be restored), and those it says run only if an
    # upstream stage writes different bytes than the lock recorded
    will = {i for i, s in stages.items() if s["changed"] and not s.get("conditional_on")}
    maybe = {i for i, s in stages.items() if s["changed"] and s.get("conditional_on")}
    out = t.ok("repro", cwd=root, log=log)
    ran, restored = ran_or_restored(out)
    assert will <= ran | restored <= will | maybe, (status, out)
    assert sorted(runs(log)) == sorted(ran), out  # each ran once, and nothing else did
    for sid in will:
        if "restore" in stages[sid]:  # status says how: restored or run
            assert (sid in restored) == stages[sid]["restore"], (sid, status, out)
    expected = {
        "param": ({"featurize", "train", "evaluate"}, set()),
        "same-bytes": ({"featurize"}, set()),
        "outputs-missing": (set(), {"prepare", "featurize", "train", "evaluate"}),
    }
    assert (ran, restored) == expected[change], out
    assert not json.loads(t.ok("status", "--json", cwd=root))["changed"]
    assert (root / "model.pkl").read_bytes() == t.new.model or change == "param"
