"""mlrepro reads every hand-written project exactly as DVC 3 does.

For each case of :mod:`tests.spec.differential_cases`:

* ``test_oracle_verdict`` checks that DVC still accepts or refuses the project
  as recorded (so a broken oracle, or a DVC upgrade that changes behaviour,
  shows up here and not as a silent agreement);
* ``test_stage_list_matches_dvc`` runs the real ``mlrepro stage list --json``
  in the project and compares it with the oracle: the same JSON when DVC
  accepts, an exit status from 1 to 123 when DVC refuses.

``test_oracle_known_answers`` pins the oracle's complete output for a few
projects, written by hand from the contract (shared/STAGE_LIST_JSON.md).

These tests are about the whole loader (``mlrepro.spec`` as a package, with the
graph checks of ``mlrepro.dag``), not one module, so they mirror no single source
module; each module of ``mlrepro/spec/`` has its own ``test_<module>.py`` beside them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.oracle.dvc_oracle import Accepted, OracleResult, Rejected, Unsupported, run_oracle
from tests.spec.differential_cases import CASES, DIVERGENCES, OK, y
from tests.spec.helpers import (
    assert_same,
    describe,
    make_project,
    mlrepro_cli,
    snapshot,
)

REPO_ROOT = Path(__file__).resolve().parents[2]

# The oracle's answer for each case, computed once by test_oracle_verdict and
# reused by test_stage_list_matches_dvc (which otherwise computes it itself).
_ORACLE_CACHE: dict[str, OracleResult] = {}


def _oracle_for(case_id: str, root: Path) -> OracleResult:
    if case_id not in _ORACLE_CACHE:
        before = snapshot(root)
        _ORACLE_CACHE[case_id] = run_oracle(root)
        assert snapshot(root) == before, "the oracle wrote into the project"
    return _ORACLE_CACHE[case_id]


@pytest.mark.slow  # every case: DVC on each of ~640 projects
@pytest.mark.parametrize(("case_id", "files", "verdict"), CASES, ids=[c[0] for c in CASES])
def test_oracle_verdict(tmp_path: Path, case_id: str, files: dict[str, Any], verdict: str) -> None:
    root = make_project(tmp_path / "project", files)
    result = _oracle_for(case_id, root)
    assert not isinstance(result, Unsupported), f"case {case_id} needs a feature the contract lacks: {result}"
    got = OK if isinstance(result, Accepted) else "reject"
    assert got == verdict, f"DVC's verdict on {case_id} changed: expected {verdict}, got {describe(result)}"


@pytest.mark.slow  # DVC and the real CLI on each of ~640 projects
@pytest.mark.parametrize(("case_id", "files", "verdict"), CASES, ids=[c[0] for c in CASES])
def test_stage_list_matches_dvc(tmp_path: Path, case_id: str, files: dict[str, Any], verdict: str) -> None:
    root = make_project(tmp_path / "project", files)
    dvc = _oracle_for(case_id, root)
    if isinstance(dvc, Unsupported):  # reported by test_oracle_verdict
        pytest.skip(str(dvc))
    ours = mlrepro_cli(root)
    assert_same(ours, dvc, context=f"case {case_id}")


@pytest.mark.parametrize(("case_id", "files", "verdict"), DIVERGENCES, ids=[c[0] for c in DIVERGENCES])
def test_documented_divergences(tmp_path: Path, case_id: str, files: dict[str, Any], verdict: str) -> None:
    """Where mlrepro departs from DVC on purpose: DVC still refuses, mlrepro loads the pipeline."""
    root = make_project(tmp_path / "project", files)
    dvc = run_oracle(root)
    assert isinstance(dvc, Rejected), f"DVC no longer refuses {case_id}: {describe(dvc)}"
    ours = mlrepro_cli(root)
    assert isinstance(ours, Accepted), describe(ours)
    assert [s["id"] for s in ours.data["stages"]] == ["a"]


# --------------------------------------------------------------------------- the oracle itself


def _stage(stage_id: str, **fields: Any) -> dict[str, Any]:
    """A stage record with the contract's defaults, for hand-written answers."""
    dvcfile, _, name = stage_id.rpartition(":") if ":" in stage_id else ("dvc.yaml", "", stage_id)
    record: dict[str, Any] = {
        "id": stage_id,
        "dvcfile": dvcfile,
        "name": name,
        "cmd": "x",
        "wdir": ".",
        "deps": [],
        "outs": [],
        "metrics": [],
        "plots": [],
        "params": {},
        "frozen": False,
        "always_changed": False,
    }
    record.update(fields)
    return record


def _out(path: str, **flags: Any) -> dict[str, Any]:
    return {"path": path, "cache": True, "persist": False, "push": True, "remote": None, **flags}


KNOWN_ANSWERS: list[tuple[str, dict[str, str], dict[str, Any] | None]] = [
    (
        "paths-flags-params",
        {
            "dvc.yaml": y("""
                stages:
                  train:
                    cmd: python train.py
                    wdir: src/..
                    deps: [./data//raw/, data/raw, src/train.py]
                    params:
                      - lr
                      - conf/p.json: [b, a, b]
                      - conf/whole.yaml:
                    outs:
                      - model/:
                          cache: false
                          remote: store
                    metrics: [{m.json: {persist: true, push: false}}]
                    plots: [{p.csv: {x: step, title: t}}]
                    frozen: true
                """)
        },
        {
            "schema_version": 1,
            "stages": [
                _stage(
                    "train",
                    cmd="python train.py",
                    deps=["data/raw", "data/raw", "src/train.py"],
                    outs=[_out("model", cache=False, remote="store")],
                    metrics=[_out("m.json", persist=True, push=False)],
                    plots=[_out("p.csv")],
                    params={"params.yaml": ["lr"], "conf/p.json": ["a", "b"], "conf/whole.yaml": None},
                    frozen=True,
                )
            ],
            "edges": [],
        },
    ),
    (
        "subdir-ids-and-edges",
        {
            "dvc.yaml": "stages:\n  gen:\n    cmd: gen\n    outs: [data]\n",
            "sub/dvc.yaml": y("""
                stages:
                  use:
                    cmd: [use, it]
                    wdir: ..
                    deps: [data/x.csv]
                    params: [k]
                    outs: [sub/out]
                  last:
                    cmd: last
                    deps: [out/part]
                    always_changed: true
                """),
        },
        {
            "schema_version": 1,
            "stages": [
                _stage("gen", cmd="gen", outs=[_out("data")]),
                _stage("sub/dvc.yaml:last", cmd="last", wdir="sub", deps=["sub/out/part"], always_changed=True),
                _stage(
                    "sub/dvc.yaml:use",
                    cmd=["use", "it"],
                    deps=["data/x.csv"],
                    params={"params.yaml": ["k"]},
                    outs=[_out("sub/out")],
                ),
            ],
            "edges": [["sub/dvc.yaml:last", "sub/dvc.yaml:use"], ["sub/dvc.yaml:use", "gen"]],
        },
    ),
    (
        "templating-foreach-matrix",
        {
            "params.yaml": "models: {us: {lr: 0.1}, eu: {lr: 0.2}}\nopt: {epochs: 3, fast: true, tags: [a, b]}\n",
            "dvc.yaml": y("""
                stages:
                  fit:
                    foreach: ${models}
                    do:
                      cmd: fit ${key} --lr ${item.lr} ${opt}
                      outs: ['m-${key}.pkl']
                  grid:
                    matrix:
                      n: [1, 2.5]
                      d: [{k: v}]
                    cmd: ['${item.n}', '${key}']
                  each:
                    foreach: [true, 3]
                    do:
                      cmd: echo \\${item} ${item}
                """),
        },
        {
            "schema_version": 1,
            "stages": [
                _stage("each@3", cmd="echo ${item} 3"),
                _stage("each@true", cmd="echo ${item} true"),
                _stage("fit@eu", cmd="fit eu --lr 0.2 --epochs 3 --fast --tags a b", outs=[_out("m-eu.pkl")]),
                _stage("fit@us", cmd="fit us --lr 0.1 --epochs 3 --fast --tags a b", outs=[_out("m-us.pkl")]),
                _stage("grid@1-d0", cmd=[1, "1-d0"]),
                _stage("grid@2.5-d0", cmd=[2.5, "2.5-d0"]),
            ],
            "edges": [],
        },
    ),
    (
        "outside-and-verbatim-paths",
        {
            "dvc.yaml": y("""
                stages:
                  a:
                    cmd: x
                    deps: ['https://example.com/a//b', /opt/x//y/, ../up/, .]
                    outs: [../shared]
                """)
        },
        {
            "schema_version": 1,
            "stages": [
                _stage(
                    "a",
                    deps=[".", "../up", "/opt/x//y/", "https://example.com/a//b"],
                    outs=[_out("../shared")],
                )
            ],
            "edges": [],
        },
    ),
    ("cycle", {"dvc.yaml": "stages:\n  a: {cmd: x, deps: [b], outs: [a]}\n  b: {cmd: y, deps: [a], outs: [b]}\n"}, None),
    ("duplicate-output", {"dvc.yaml": "stages:\n  a: {cmd: x, outs: [o]}\n  b: {cmd: y, outs: [./o]}\n"}, None),
    ("nested-output", {"dvc.yaml": "stages:\n  a: {cmd: x, outs: [d]}\n  b: {cmd: y, outs: [d/x]}\n"}, None),
    ("dep-is-own-output", {"dvc.yaml": "stages:\n  a: {cmd: x, deps: [o/x], outs: [o]}\n"}, None),
    ("undefined-variable", {"dvc.yaml": "stages:\n  a: {cmd: 'echo ${nope}'}\n"}, None),
    ("missing-vars-file", {"dvc.yaml": "vars: [nope.yaml]\n"}, None),
    ("top-level-plots-mapping", {"dvc.yaml": "plots:\n  a.csv: {x: a}\n"}, None),
    ("top-level-metrics-undefined", {"dvc.yaml": "metrics: ['${nope}.json']\n"}, None),
    ("foreach-with-matrix", {"dvc.yaml": "stages:\n  a: {foreach: [1], matrix: {x: [1]}, do: {cmd: x}}\n"}, None),
    ("live-section", {"dvc.yaml": "live: {dir: logs}\nstages: {}\n"}, None),
    ("empty-project", {}, {"schema_version": 1, "stages": [], "edges": []}),
]


@pytest.mark.parametrize(("name", "files", "expected"), KNOWN_ANSWERS, ids=[k[0] for k in KNOWN_ANSWERS])
def test_oracle_known_answers(
    tmp_path: Path, name: str, files: dict[str, str], expected: dict[str, Any] | None
) -> None:
    root = make_project(tmp_path / "project", files)
    result = run_oracle(root)
    if expected is None:
        assert isinstance(result, Rejected), describe(result)
    else:
        assert isinstance(result, Accepted), describe(result)
        assert result.data == expected


def test_oracle_leaves_project_untouched(tmp_path: Path) -> None:
    files = {"dvc.yaml": "stages:\n  a: {cmd: x, outs: [o]}\n", "params.yaml": "a: 1\n"}
    root = make_project(tmp_path / "project", files)
    before = snapshot(root)
    assert isinstance(run_oracle(root), Accepted)
    assert snapshot(root) == before
    assert not (root / ".dvc" / "tmp").exists()


@pytest.mark.slow
@pytest.mark.parametrize(
    "command",
    [
        [sys.executable, "-m", "tests.oracle.dvc_oracle"],
        [sys.executable, str(REPO_ROOT / "tests" / "oracle" / "dvc_oracle.py")],
    ],
    ids=["module", "script"],
)
def test_oracle_command_line(tmp_path: Path, command: list[str]) -> None:
    good = make_project(tmp_path / "good", {"dvc.yaml": "stages:\n  a: {cmd: x}\n"})
    bad = make_project(tmp_path / "bad", {"dvc.yaml": "stages:\n  a: {cmd: 'echo ${nope}'}\n"})
    proc = subprocess.run([*command, str(good)], cwd=REPO_ROOT, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert [s["id"] for s in json.loads(proc.stdout)["stages"]] == ["a"]
    proc = subprocess.run([*command, str(bad)], cwd=REPO_ROOT, capture_output=True, text=True, check=False)
    assert proc.returncode == 1
    assert "nope" in proc.stderr


# --------------------------------------------------------------------------- beyond the oracle

# URL schemes whose DVC filesystem ships in a plugin (dvc-s3, dvc-gs, ...)
# that the test environment does not install: the oracle cannot judge these,
# so the expected answer is written from the contract ("URLs are kept exactly
# as written"). When the plugin is installed the oracle must agree.
PLUGIN_URL_DEPS = ["s3://bucket/key.csv", "gs://bucket/dir/", "azure://container/x", "ssh://host/path"]


@pytest.mark.parametrize("url", PLUGIN_URL_DEPS)
def test_plugin_url_dependency_kept_verbatim(tmp_path: Path, url: str) -> None:
    root = make_project(
        tmp_path / "project",
        {"dvc.yaml": f"stages:\n  a:\n    cmd: x\n    deps: ['{url}', local]\n"},
    )
    expected = {
        "schema_version": 1,
        "stages": [_stage("a", deps=sorted([url, "local"]))],
        "edges": [],
    }
    dvc = run_oracle(root)
    if isinstance(dvc, Accepted):
        assert dvc.data == expected
    else:
        assert isinstance(dvc, Unsupported), describe(dvc)
    assert_same(mlrepro_cli(root), Accepted(expected), context=f"dependency {url}")


# Projects DVC loads but whose answer the JSON contract cannot express (a
# date or an infinity kept in a `cmd` list). mlrepro may accept or refuse
# them, but must not crash.
UNREPRESENTABLE = [
    ("date-in-cmd-list", {"dvc.yaml": "stages:\n  a:\n    cmd: [2001-01-01]\n"}),
    ("inf-in-cmd-list", {"dvc.yaml": "stages:\n  a:\n    cmd: [.inf]\n"}),
    ("nan-exact-in-cmd-list", {"params.yaml": "n: .nan\n", "dvc.yaml": "stages:\n  a:\n    cmd: ['${n}']\n"}),
]


@pytest.mark.parametrize(("name", "files"), UNREPRESENTABLE, ids=[u[0] for u in UNREPRESENTABLE])
def test_unrepresentable_values_do_not_crash(tmp_path: Path, name: str, files: dict[str, str]) -> None:
    root = make_project(tmp_path / "project", files)
    assert isinstance(run_oracle(root), Unsupported)
    mlrepro_cli(root)  # raises on a traceback or an exit status outside 0..123
