"""``metrics show|diff`` and ``params diff`` print what DVC prints, on the same repository.

DVC 3 is the oracle: one git repository with a DVC project and three commits (plus
workspace edits) is read by both tools, and every output compared. DVC prints the
files of a diff in a random order (a Python set), so tables are compared by their
header and their set of rows (widths depend on every row, so they are checked
too), and JSON by its parsed value.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.ops.conftest import GIT_ENV

# DVC runs every command too, in repositories built for the module
pytestmark = pytest.mark.slow

DVC_YAML = """\
stages:
  train:
    cmd: echo train
    params:
      - lr
      - model.depth
      - layers
      - params2.yaml:
          - seed
    metrics:
      - metrics.json:
          cache: false
      - scores.yaml:
          cache: false
      - eval.toml:
          cache: false
metrics:
  - extra.json
"""

COMMITS = [
    {
        "metrics.json": '{"acc": 0.9, "loss": 0.35, "name": "resnet", "flag": true, "hist": [1, 2],'
        ' "nested": {"f1": 0.8, "prec": {"micro": 0.7}}, "removed_later": 5}',
        "scores.yaml": "auc: 0.75\nepochs: 10\ntiny: 0.000000123\nbig: 12345678.987654\n",
        "eval.toml": "[eval]\nrmse = 1.23456789\n",
        "params.yaml": "lr: 0.01\ndropout: 0.1\nlayers: [64, 32]\nmodel: {depth: 3, act: relu}\n"
        "unused: keep\n",
        "params2.yaml": "seed: 42\nopt: adam\n",
    },
    {
        "metrics.json": '{"acc": 0.925, "loss": 0.3, "name": "vit", "flag": false,'
        ' "hist": [1, 2, 3], "nested": {"f1": 0.8, "prec": {"micro": 0.75}, "recall": 0.6}}',
        "scores.yaml": "auc: 0.75\nepochs: 12\ntiny: 0.000000456\nbig: 12345679.5\n",
        "extra.json": '{"latency_ms": 12.5}',
        "params.yaml": "lr: 0.001\nlayers: [64, 32, 16]\nmodel: {depth: 4, act: relu}\n"
        "unused: keep\nbatch: 32\n",
        "params2.yaml": "seed: 7\nopt: sgd\n",
    },
    {
        "metrics.json": '{"acc": 0.95, "loss": 0.3, "name": "vit", "flag": false,'
        ' "nested": {"f1": 0.81234567, "prec": {"micro": 0.75}, "recall": 0.6}}',
        "params.yaml": "lr: 0.0001\nlayers: [64, 32, 16]\nmodel: {depth: 4, act: relu}\n"
        "unused: keep\nbatch: 32\n",
    },
]

# The workspace after the last commit: changed values, mixed types, a removed file.
WORKSPACE = {
    "metrics.json": '{"acc": "n/a", "loss": 0.3, "name": 3, "flag": false, "nested": 5,'
    ' "neg": -1.5e-3, "sci": 1e21, "nul": null, "lst": [0.5], "s_num": "0.5"}',
    "params.yaml": 'lr: "1e-4"\nlayers: [64]\n'
    "model: {depth: 4, act: null, extra: {a: 1, b: [x, y]}}\n"
    "unused: keep\nbatch: 32.0\nflag: true\n",
}

COMMANDS = [
    "metrics show",
    "metrics show --md",
    "metrics show --json",
    "metrics show eval.toml",
    "metrics show --precision 2",
    "metrics diff",
    "metrics diff --md",
    "metrics diff --json",
    "metrics diff HEAD~2 HEAD~1",
    "metrics diff HEAD~2 HEAD~1 --md --no-path",
    "metrics diff HEAD~2 HEAD~1 --json",
    "metrics diff HEAD~2 HEAD~1 --all --precision 2",
    "metrics diff HEAD~2 HEAD~1 --all --precision 0",
    "metrics diff HEAD~1 HEAD --md",
    "metrics diff HEAD~1 HEAD --targets scores.yaml --all",
    "metrics diff HEAD HEAD~2",
    "params diff",
    "params diff --json",
    "params diff --md",
    "params diff HEAD~2 HEAD~1",
    "params diff HEAD~2 HEAD~1 --all --md",
    "params diff HEAD~2 HEAD~1 --deps --json",
    "params diff HEAD~2 HEAD~1 --deps",
    "params diff HEAD~2 HEAD~1 --no-path",
    "params diff HEAD~1 HEAD --targets params2.yaml --all",
]


def sh(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **GIT_ENV, "DVC_NO_ANALYTICS": "1"}
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, check=False)


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).write_text(text)


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("metrics-vs-dvc")
    sh(["git", "init", "-q", "-b", "main"], root)
    assert sh([sys.executable, "-m", "dvc", "init", "-q"], root).returncode == 0
    (root / "dvc.yaml").write_text(DVC_YAML)
    for i, files in enumerate(COMMITS):
        write(root, files)
        sh(["git", "add", "-A"], root)
        assert sh(["git", "commit", "-q", "-m", f"c{i + 1}"], root).returncode == 0
    write(root, WORKSPACE)
    (root / "eval.toml").unlink()
    return root


def tool(root: Path, which: str, command: str) -> subprocess.CompletedProcess[str]:
    module = "dvc" if which == "dvc" else "mlrepro"
    return sh([sys.executable, "-m", module, *command.split()], root)


def errors_as_flags(doc: object) -> object:
    """Error entries keep their place but not their text (each tool words its own)."""
    if isinstance(doc, dict):
        return {k: True if k == "error" else errors_as_flags(v) for k, v in doc.items()}
    return doc


def same_table(a: str, b: str) -> bool:
    if not a.strip() or not b.strip():
        return a.strip() == b.strip()
    la, lb = a.splitlines(), b.splitlines()
    head = 2 if len(la) > 1 and la[1].startswith("|-") else 1  # markdown: header + rule
    return la[:head] == lb[:head] and sorted(la[head:]) == sorted(lb[head:])


@pytest.mark.parametrize("command", COMMANDS)
def test_output_matches_dvc(repo: Path, command: str) -> None:
    dvc = tool(repo, "dvc", command)
    ours = tool(repo, "mlrepro", command)
    assert dvc.returncode == 0, dvc.stderr
    assert ours.returncode == 0, ours.stderr
    assert "Traceback" not in ours.stderr
    if "--json" in command:
        assert errors_as_flags(json.loads(ours.stdout)) == errors_as_flags(json.loads(dvc.stdout))
    else:
        assert same_table(ours.stdout, dvc.stdout), f"DVC:\n{dvc.stdout}\nmlrepro:\n{ours.stdout}"
        assert ours.stdout.endswith("\n\n") == dvc.stdout.endswith("\n\n")  # markdown's blank line


def test_missing_and_malformed_files_are_noted_not_fatal(repo: Path) -> None:
    # eval.toml is gone from the workspace, extra.json absent at HEAD~2
    ours = tool(repo, "mlrepro", "metrics diff HEAD~2")
    assert ours.returncode == 0
    assert "warning: extra.json at HEAD~2: no such file" in ours.stderr
    assert "warning: eval.toml at workspace: no such file" in ours.stderr
    (repo / "scores.yaml").write_text("auc: [0.75,\n")  # malformed
    try:
        dvc = tool(repo, "dvc", "metrics diff")
        ours = tool(repo, "mlrepro", "metrics diff")
        assert ours.returncode == 0 and dvc.returncode == 0
        assert same_table(ours.stdout, dvc.stdout)
        assert "warning: scores.yaml at workspace:" in ours.stderr
        assert len(ours.stderr.splitlines()) == 2  # one line per unreadable file
    finally:
        sh(["git", "checkout", "--", "scores.yaml"], repo)


def test_unknown_revision_is_an_error_for_both(repo: Path) -> None:
    dvc = tool(repo, "dvc", "metrics diff no-such-rev")
    ours = tool(repo, "mlrepro", "params diff no-such-rev")
    assert dvc.returncode != 0 and ours.returncode == 1
    assert ours.stdout == ""
    assert ours.stderr.startswith("error: unknown revision 'no-such-rev'")
    assert "Traceback" not in ours.stderr


@pytest.mark.parametrize(
    "command",
    [
        "metrics show -a scores.yaml",
        "metrics show -a -T scores.yaml",
        "metrics show -T scores.yaml",
        "metrics show -a --json scores.yaml",
        "metrics show -A scores.yaml",
    ],
)
def test_show_across_branches_tags_and_commits(repo: Path, command: str) -> None:
    """Revisions merged when they name one commit (``aaa,v1``), and the workspace row
    hidden when it equals the active branch's."""
    sh(["git", "branch", "-f", "aaa", "HEAD~2"], repo)
    sh(["git", "tag", "-f", "v1", "HEAD~2"], repo)
    sh(["git", "branch", "-f", "exp", "HEAD~1"], repo)
    dvc = tool(repo, "dvc", command)
    ours = tool(repo, "mlrepro", command)
    assert dvc.returncode == 0 and ours.returncode == 0, ours.stderr
    if "--json" in command:
        assert errors_as_flags(json.loads(ours.stdout)) == errors_as_flags(json.loads(dvc.stdout))
    else:
        assert same_table(ours.stdout, dvc.stdout), f"DVC:\n{dvc.stdout}\nmlrepro:\n{ours.stdout}"


# -- file order, and commits without their metrics files (issue 14) ------------------

ORDERED_YAML = "metrics:\n  - z.json\n  - a.json\n  - eval/metrics.json\n"
ORDERED_COMMITS: list[dict[str, str]] = [
    {},  # the pipeline names three files, none exists yet
    {"notes.txt": "x"},  # still none
    {"z.json": '{"b": 1, "a": 2}'},  # one of three
    {"a.json": '{"x": 1}', "eval/metrics.json": '{"m": 1, "k": 0}'},
]
ORDERED_WORKSPACE = {
    "z.json": '{"b": 2, "a": 3}',
    "a.json": '{"x": 2}',
    "eval/metrics.json": '{"m": 2, "k": 0}',
}


@pytest.fixture(scope="module")
def ordered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Metrics files named out of path order; early commits lack some or all of them."""
    root = tmp_path_factory.mktemp("metrics-order")
    sh(["git", "init", "-q", "-b", "main"], root)
    assert sh([sys.executable, "-m", "dvc", "init", "-q"], root).returncode == 0
    sh(["git", "add", "-A"], root)
    assert sh(["git", "commit", "-q", "-m", "dvc init"], root).returncode == 0  # no pipeline
    (root / "dvc.yaml").write_text(ORDERED_YAML)
    (root / "eval").mkdir()
    for i, files in enumerate(ORDERED_COMMITS):
        write(root, files)
        sh(["git", "add", "-A"], root)
        assert sh(["git", "commit", "-q", "-m", f"o{i + 1}"], root).returncode == 0
    write(root, ORDERED_WORKSPACE)
    return root


def table_rows(stdout: str) -> list[list[str]]:
    return [line.split() for line in stdout.splitlines()[1:]]


def by_revision(rows: list[list[str]]) -> dict[str, list[list[str]]]:
    out: dict[str, list[list[str]]] = {}
    for row in rows:
        out.setdefault(row[0], []).append(row)
    return out


def paths_in_order(rows: list[list[str]]) -> list[str]:
    return list(dict.fromkeys(row[0] for row in rows))


def test_show_lists_files_in_dvc_order_unreadable_ones_in_place(ordered: Path) -> None:
    for command in ("metrics show", "metrics show --md"):
        dvc, ours = tool(ordered, "dvc", command), tool(ordered, "mlrepro", command)
        assert ours.stdout == dvc.stdout, f"DVC:\n{dvc.stdout}\nmlrepro:\n{ours.stdout}"
    dvc = tool(ordered, "dvc", "metrics show -A")
    ours = tool(ordered, "mlrepro", "metrics show -A")
    assert dvc.returncode == 0 and ours.returncode == 0, ours.stderr
    assert ours.stdout.splitlines()[0] == dvc.stdout.splitlines()[0]
    # each revision's rows, in order (the order of revisions with one date is git's)
    assert by_revision(table_rows(ours.stdout)) == by_revision(table_rows(dvc.stdout))
    doc = json.loads(tool(ordered, "mlrepro", "metrics show -A --json").stdout)
    for rev, entry in doc.items():
        if entry.get("data"):
            assert list(entry["data"]) == ["z.json", "a.json", "eval/metrics.json"], rev


def test_diff_lists_files_in_the_order_show_does(ordered: Path) -> None:
    """DVC's diff order is a Python set's (it changes from run to run); ours is DVC's
    `metrics show` order, and the rows are DVC's diff rows."""
    shown = paths_in_order(table_rows(tool(ordered, "dvc", "metrics show").stdout))
    assert shown == ["z.json", "a.json", "eval/metrics.json"]
    for command in ("metrics diff", "metrics diff HEAD~1 HEAD --all", "metrics diff HEAD~2"):
        dvc, ours = tool(ordered, "dvc", command), tool(ordered, "mlrepro", command)
        assert dvc.returncode == 0 and ours.returncode == 0, ours.stderr
        assert same_table(ours.stdout, dvc.stdout), f"DVC:\n{dvc.stdout}\nmlrepro:\n{ours.stdout}"
        listed = paths_in_order(table_rows(ours.stdout))
        assert listed == [p for p in shown if p in listed], command
        doc = json.loads(tool(ordered, "mlrepro", command + " --json").stdout)
        assert list(doc) == listed


def noun(n: int) -> str:
    return f"{n} commit" + ("" if n == 1 else "s")


def test_show_all_commits_sums_up_missing_files_as_dvc_names_them(ordered: Path) -> None:
    """DVC names in one line the revisions it could not read every file of; the warnings
    say the same, split into commits with no metrics file and files missing elsewhere."""
    doc = json.loads(tool(ordered, "dvc", "metrics show -A --json").stdout)
    none: list[str] = []
    some: dict[str, list[str]] = {}
    for rev, entry in doc.items():
        files = entry.get("data", {})
        failed = [p for p, f in files.items() if "error" in f]
        if files and len(failed) == len(files):
            none.append(rev[:7])
        else:
            for p in failed:
                some.setdefault(p, []).append(rev[:7])
    assert len(none) == 2 and some  # the fixture has both kinds
    ours = tool(ordered, "mlrepro", "metrics show -A")
    assert ours.stderr.splitlines() == [
        f"warning: no metrics file in {noun(len(none))}: {', '.join(none)}",
        *(f"warning: {p}: no such file in {noun(len(r))}: {', '.join(r)}" for p, r in some.items()),
    ]
