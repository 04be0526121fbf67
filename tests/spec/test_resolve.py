"""Resolving one ``dvc.yaml`` (``mlrepro.spec.resolve``): schema, vars, templating,
foreach/matrix and paths, file by file.

DVC is the oracle (``tests/oracle/dvc_oracle.py``): each project below is loaded file
by file with :class:`DvcFile` and every resolved stage must be the one DVC builds
(its id, command, folder, dependencies, outputs, params and flags). Errors name the
file, the line, the stage and what to do.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mlrepro.errors import PipelineError
from mlrepro.spec.model import Out, Stage
from mlrepro.spec.resolve import DvcFile
from tests.oracle.dvc_oracle import Accepted, Rejected, run_oracle
from tests.spec.helpers import Files


def y(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def out_record(out: Out) -> dict[str, Any]:
    return {
        "path": out.path,
        "cache": out.cache,
        "persist": out.persist,
        "push": out.push,
        "remote": out.remote,
    }


def record(stage: Stage) -> dict[str, Any]:
    """A stage as the oracle reports one (shared/STAGE_LIST_JSON.md)."""

    def key_order(key: Any) -> tuple[int, str]:
        return (0, key) if isinstance(key, str) else (1, repr(key))

    return {
        "id": stage.id,
        "dvcfile": stage.dvcfile,
        "name": stage.name,
        "cmd": stage.cmd,
        "wdir": stage.wdir,
        "deps": sorted(stage.deps),
        "outs": sorted(map(out_record, stage.outs), key=lambda o: o["path"]),
        "metrics": sorted(map(out_record, stage.metrics), key=lambda o: o["path"]),
        "plots": sorted(map(out_record, stage.plots), key=lambda o: o["path"]),
        "params": {
            path: None if keys is None else sorted(keys, key=key_order)
            for path, keys in stage.params.items()
        },
        "frozen": stage.frozen,
        "always_changed": stage.always_changed,
    }


PROJECTS: dict[str, dict[str, str]] = {
    "plain": {
        "dvc.yaml": y("""
            stages:
              train:
                cmd: python train.py --out model.pkl
                deps: [train.py, ./data//raw.csv, data/]
                params: [lr, {conf/p.json: [b, a]}, {whole.yaml: }]
                outs: [model.pkl, {cache/: {cache: false, persist: true, push: false}}]
                metrics: [{m.json: {cache: false, remote: r}}]
                plots: [{p.csv: {x: step, y: loss}}]
                frozen: true
                always_changed: true
                desc: trains
        """),
    },
    "params-and-vars": {
        "params.yaml": "lr: 0.1\nmodel: {name: rf, depth: 3}\nfiles: [a.csv, b.csv]\n",
        "conf/extra.yaml": "seed: 7\nunused: 1\n",
        "dvc.yaml": y("""
            vars:
              - conf/extra.yaml:seed
              - {out: out}
            stages:
              fit:
                vars: [{tag: v2}]
                cmd: fit --lr ${lr} --seed ${seed} ${model} --tag ${tag}
                deps: ['${files[0]}', 'src/${model.name}.py']
                outs: ['${out}/${model.name}-${tag}.pkl']
        """),
    },
    "foreach": {
        "params.yaml": "regions: {eu: {lr: 0.2}, us: {lr: 0.1}}\nflags: [true, 1, x]\n",
        "dvc.yaml": y("""
            stages:
              fit:
                foreach: ${regions}
                do:
                  cmd: fit ${key} --lr ${item.lr}
                  outs: ['m-${key}.pkl']
              literal:
                foreach: [a, true, 3]
                do:
                  cmd: echo ${item}
              referenced:
                foreach: ${flags}
                do:
                  cmd: echo ${item}
              dicts:
                foreach: [{n: 1}, {n: 2}]
                do:
                  cmd: ['echo ${item.n}']
        """),
    },
    "matrix": {
        "params.yaml": "models: [rf, lr]\n",
        "dvc.yaml": y("""
            stages:
              grid:
                matrix:
                  model: ${models}
                  fold: [0, 1]
                  cfg: [{a: 1}]
                cmd: train ${item.model} ${item.fold} ${item.cfg.a} ${key}
                outs: ['out/${item.model}-${item.fold}']
        """),
    },
    "subfolders": {
        "sub/params.yaml": "name: inner\n",
        "params.yaml": "name: outer\n",
        "dvc.yaml": "stages:\n  top:\n    cmd: echo ${name}\n    params: [name]\n",
        "sub/dvc.yaml": y("""
            stages:
              inner:
                cmd: echo ${name}
                wdir: ${name}/..
                deps: [../top.txt, x]
                params: [name, {../params.yaml: [name]}]
                outs: [o]
        """),
        "sub/inner/": "",
    },
}


@pytest.mark.parametrize("name", list(PROJECTS))
def test_stages_resolve_as_dvc_resolves_them(project: Callable[[Files], Path], name: str) -> None:
    files = PROJECTS[name]
    root = project(files)
    dvc = run_oracle(root)
    assert isinstance(dvc, Accepted), dvc
    dvcfiles = sorted(p for p in files if p.rsplit("/", 1)[-1] == "dvc.yaml")
    ours = [record(s) for f in dvcfiles for s in DvcFile(str(root), f).load()]
    assert sorted(ours, key=lambda r: r["id"]) == dvc.data["stages"]


def test_generated_stage_names(project: Callable[[Files], Path]) -> None:
    root = project(PROJECTS["foreach"])
    names = [s.name for s in DvcFile(str(root), "dvc.yaml").load()]
    # a literal true is named "true", one from the context "True", as DVC names them
    assert names == [
        "fit@eu",
        "fit@us",
        "literal@a",
        "literal@true",
        "literal@3",
        "referenced@True",
        "referenced@1",
        "referenced@x",
        "dicts@0",
        "dicts@1",
    ]


def test_top_level_metrics_and_params(project: Callable[[Files], Path]) -> None:
    root = project(
        {
            "params.yaml": "d: eval\n",
            "sub/params.yaml": "d: eval\n",
            "sub/dvc.yaml": "metrics: ['${d}/m.json', ../top.json]\nparams: [p.yaml]\nstages: {}\n",
        }
    )
    file = DvcFile(str(root), "sub/dvc.yaml")
    assert file.load() == []
    assert file.top_metrics == ["sub/eval/m.json", "top.json"]
    assert file.top_params == ["sub/p.yaml"]


# -- errors: the file, the line, the stage and a hint ----------------------------------

ERRORS: list[tuple[str, dict[str, str], str, int | None, str | None, str]] = [
    (
        "undefined",
        {"dvc.yaml": "stages:\n  a:\n    cmd: echo\n    deps: [x, '${nope}']\n"},
        "undefined variable '${nope}'",
        4,
        "a",
        "define it in params.yaml or in 'vars'",
    ),
    (
        "undefined-in-subfolder",
        {"sub/dvc.yaml": "stages:\n  a:\n    cmd: echo ${nope}\n"},
        "undefined variable",
        3,
        "a",
        "define it in sub/params.yaml or in 'vars'",
    ),
    (
        "schema",
        {"dvc.yaml": "stages:\n  a:\n    cmd: x\n    frozen: maybe\n"},
        "expected true or false, got string",
        4,
        "a",
        "see the dvc.yaml reference",
    ),
    (
        "at-in-name",
        {"dvc.yaml": "stages:\n  a@b:\n    cmd: x\n"},
        "invalid stage name 'a@b': '@' is reserved for foreach/matrix stages",
        2,
        "a@b",
        "rename the stage",
    ),
    (
        "at-in-key",
        {"dvc.yaml": "stages:\n  a:\n    foreach: [x@y]\n    do:\n      cmd: x\n"},
        "generated stage name 'a@x@y' cannot be addressed: the key contains '@'",
        3,
        "a",
        "use values without '@'",
    ),
    (
        "vars-interpolated",
        {"dvc.yaml": "vars: ['${x}.yaml']\nstages: {}\n"},
        "'vars' cannot use ${...} interpolation",
        1,
        None,
        "",
    ),
    (
        "vars-missing-file",
        {"dvc.yaml": "vars: [nope.yaml]\nstages: {}\n"},
        "vars file 'nope.yaml' does not exist",
        1,
        None,
        "",
    ),
    (
        "vars-missing-key",
        {"v.yaml": "a: 1\n", "dvc.yaml": "vars: ['v.yaml:a,b']\nstages: {}\n"},
        "could not find 'b' in 'v.yaml'",
        1,
        None,
        "",
    ),
    (
        "vars-loaded-twice",
        {"v.yaml": "a: 1\n", "dvc.yaml": "vars: ['v.yaml:a', 'v.yaml']\nstages: {}\n"},
        "cannot load 'v.yaml': it is already loaded",
        1,
        None,
        "",
    ),
    (
        "vars-not-a-mapping",
        {"v.yaml": "[1, 2]\n", "dvc.yaml": "vars: [v.yaml]\nstages: {}\n"},
        "vars file 'v.yaml' must hold a mapping, not list",
        1,
        None,
        "",
    ),
    (
        "redefined",
        {"params.yaml": "a: 1\n", "dvc.yaml": "vars: [{a: 2}]\nstages: {}\n"},
        "cannot redefine 'a' from vars[0]",
        1,
        None,
        "",
    ),
    (
        "foreach-scalar",
        {
            "params.yaml": "n: 3\n",
            "dvc.yaml": "stages:\n  a:\n    foreach: ${n}\n    do:\n      cmd: x\n",
        },
        "'foreach' must be a list or a mapping, got int",
        3,
        "a",
        "",
    ),
    (
        "list-in-a-string",
        {
            "params.yaml": "l: [1]\n",
            "dvc.yaml": "stages:\n  a:\n    cmd: x\n    outs: ['o-${l}']\n",
        },
        "'outs': cannot interpolate data of type 'list'",
        4,
        "a",
        "",
    ),
    (
        "bad-expression",
        {"dvc.yaml": "stages:\n  a:\n    cmd: echo ${a..b}\n"},
        "'cmd': invalid expression '${a..b}'",
        3,
        "a",
        "",
    ),
]


@pytest.mark.parametrize(
    ("files", "what", "line", "stage", "hint"), [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS]
)
def test_errors_are_located_and_dvc_refuses_too(
    project: Callable[[Files], Path],
    files: dict[str, str],
    what: str,
    line: int | None,
    stage: str | None,
    hint: str,
) -> None:
    root = project(files)
    relpath = next(p for p in files if p.endswith("dvc.yaml"))
    with pytest.raises(PipelineError) as info:
        DvcFile(str(root), relpath).load()
    err = info.value
    assert what in err.what
    assert (err.path, err.line, err.stage) == (relpath, line, stage)
    assert (err.hint or "").startswith(hint)
    assert isinstance(run_oracle(root), Rejected)


def test_an_unsupported_value_in_a_vars_file_names_its_line(
    project: Callable[[Files], Path],
) -> None:
    root = project(
        {"v.yaml": "a: 1\nwhen: 2024-01-01\n", "dvc.yaml": "vars: [v.yaml]\nstages: {}\n"}
    )
    with pytest.raises(PipelineError) as info:
        DvcFile(str(root), "dvc.yaml").load()
    assert (info.value.path, info.value.line) == ("v.yaml", 2)
    assert "'date' at 'when' cannot be used as a variable" in info.value.what
    assert isinstance(run_oracle(root), Rejected)


def test_a_pipeline_file_that_is_not_utf8(tmp_path: Path) -> None:
    (tmp_path / "dvc.yaml").write_bytes(b"stages:\n  a:\n    cmd: echo \xff\n")
    with pytest.raises(PipelineError, match=r"^dvc\.yaml: is not valid UTF-8 text$"):
        DvcFile(str(tmp_path), "dvc.yaml")


def test_an_empty_pipeline_file_has_no_stages(tmp_path: Path) -> None:
    (tmp_path / "dvc.yaml").write_text("")
    assert DvcFile(str(tmp_path), "dvc.yaml").load() == []


def test_a_colon_in_a_flow_list_loads_as_in_dvc(project: Callable[[Files], Path]) -> None:
    root = project({"dvc.yaml": "stages:\n  a:\n    cmd: [echo 12:30]\n    deps: [data:v1.csv]\n"})
    dvc = run_oracle(root)
    assert isinstance(dvc, Accepted), dvc
    ours = [record(s) for s in DvcFile(str(root), "dvc.yaml").load()]
    assert ours == dvc.data["stages"]
