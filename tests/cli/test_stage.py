"""``mlrepro stage list`` (mlrepro/cli/stage.py) through the real CLI: the summary column
(``Outputs``, ``Reports``, or the stage's ``desc``), the alignment, file order, and
``--json`` written compact to a pipe and indented on a terminal (docs/cli.md, "mlrepro
stage list").

Pipeline loading and its errors are checked by tests/cli/test_cli.py and tests/spec."""

from __future__ import annotations

import json
import os
import pty
import subprocess

from tests.ops.conftest import PY, Proj, git_env

ROOT = """\
stages:
  prepare:
    cmd: x
    outs: [p]
  train:
    cmd: y
    deps: [p]
    outs: [m]
    metrics: [met.json]
    plots: [roc.csv]
  report:
    cmd: r
    deps: [m]
    metrics: [report.json]
  note:
    cmd: z
    desc: A described stage
    outs: [n]
  bare:
    cmd: echo
"""


def test_each_stage_gets_its_outputs_reports_or_description(proj: Proj) -> None:
    proj.write("dvc.yaml", ROOT)
    proj.write("sub/dvc.yaml", "stages:\n  deep:\n    cmd: w\n    outs: [q]\n")
    # file order (the root's dvc.yaml, then sub/), ids padded to the longest one
    assert proj.ok("stage", "list").stdout.splitlines() == [
        "prepare            Outputs p",
        "train              Outputs m; Reports met.json, roc.csv",
        "report             Reports report.json",
        "note               A described stage",
        "bare",  # nothing to say: no trailing spaces
        "sub/dvc.yaml:deep  Outputs sub/q",
    ]


def test_an_empty_pipeline_lists_nothing(proj: Proj) -> None:
    proj.write("dvc.yaml", "stages: {}\n")
    assert proj.ok("stage", "list").stdout == ""
    doc = json.loads(proj.ok("stage", "list", "--json").stdout)
    assert doc == {"schema_version": 1, "stages": [], "edges": []}


def test_json_is_compact_in_a_pipe_and_indented_on_a_terminal(proj: Proj) -> None:
    proj.write("dvc.yaml", ROOT)
    piped = proj.ok("stage", "list", "--json").stdout
    assert piped.count("\n") == 1  # one line, for scripts
    master, slave = pty.openpty()
    try:
        proc = subprocess.run(
            [PY, "-m", "mlrepro", "stage", "list", "--json"],
            cwd=proj.root,
            stdout=slave,
            stderr=subprocess.PIPE,
            text=True,
            env=git_env(),
            timeout=60,
        )
        assert proc.returncode == 0, proc.stderr
        os.close(slave)
        chunks = []
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the terminal has no writer left
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(master)
    shown = b"".join(chunks).decode().replace("\r\n", "\n")
    assert shown.startswith('{\n  "schema_version": 1,\n  "stages": [\n')
    assert json.loads(shown) == json.loads(piped)
