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
