"""The mlrepro command as a user runs it: real subprocesses in real git repositories."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import mlrepro

GIT_ENV = {
    "GIT_AUTHOR_NAME": "mlrepro tests",
    "GIT_AUTHOR_EMAIL": "tests@mlrepro.invalid",
    "GIT_COMMITTER_NAME": "mlrepro tests",
    "GIT_COMMITTER_EMAIL": "tests@mlrepro.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
}


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mlrepro", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, **GIT_ENV},
        timeout=60,
    )


def repo(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "proj"
    root.mkdir()
    subprocess.run(["git", "init", "-q", str(root)], check=True, env={**os.environ, **GIT_ENV})
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
    return root


def assert_user_error(
    proc: subprocess.CompletedProcess[str], *fragments: str, code: int = 1
) -> None:
    assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stderr
    first = proc.stderr.splitlines()[0]
    assert first.startswith("error: "), proc.stderr
    for fragment in fragments:
        assert fragment in first, (fragment, first)


PIPELINE = """\
stages:
  prepare:
    cmd: python prepare.py
    deps: [raw.csv]
    outs: [data/prepared]
  train:
    foreach: [a, b]
    do:
      cmd: python train.py ${item}
      deps: [data/prepared]
      outs: ["model-${item}.pkl"]
  report:
    cmd: python report.py
    deps: [model-a.pkl, model-b.pkl]
    metrics: [metrics.json]
"""


def test_version_and_help(tmp_path: Path) -> None:
    proc = run(tmp_path, "--version")
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"mlrepro, version {mlrepro.__version__}"
    proc = run(tmp_path, "--help")
    assert proc.returncode == 0
    for name in ("init", "stage", "dag"):
        assert f"  {name} " in proc.stdout


def test_unknown_command_is_a_usage_error(tmp_path: Path) -> None:
    proc = run(tmp_path, "frobnicate")
    assert_user_error(proc, "unknown command 'frobnicate'", code=2)


def test_init_creates_versioned_config_and_gitignore(tmp_path: Path) -> None:
    root = repo(tmp_path, {})
    proc = run(root, "init")
    assert proc.returncode == 0, proc.stderr
    config = json.loads((root / ".mlrepro" / "config.json").read_text())
    assert config["version"] == 1
    ignore = (root / ".mlrepro" / ".gitignore").read_text()
    assert "/cache/" in ignore.splitlines()
    # git sees the config but not the cache
    (root / ".mlrepro" / "cache").mkdir()
    (root / ".mlrepro" / "cache" / "obj").write_text("x")
    status = subprocess.run(
        ["git", "status", "--porcelain", "-uall"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert ".mlrepro/config.json" in status
    assert "cache/obj" not in status
    again = run(root, "init")
    assert again.returncode == 0
    assert "already initialized" in again.stdout


def test_init_refuses_outside_the_top_of_a_work_tree(tmp_path: Path) -> None:
    root = repo(tmp_path, {"sub/x.txt": "x"})
    assert_user_error(run(root / "sub", "init"), "not the top of a git work tree")
    assert "hint: " in run(root / "sub", "init").stderr
    plain = tmp_path / "plain"
    plain.mkdir()
    assert_user_error(run(plain, "init"), "not the top of a git work tree")
    assert not (root / "sub" / ".mlrepro").exists()


def test_stage_list_works_uninitialised_and_from_a_subfolder(tmp_path: Path) -> None:
    root = repo(tmp_path, {"dvc.yaml": PIPELINE, "src/deep/x.py": ""})
    for cwd in (root, root / "src" / "deep"):
        proc = run(cwd, "stage", "list")
        assert proc.returncode == 0, proc.stderr
        names = [line.split()[0] for line in proc.stdout.splitlines()]
        assert names == ["prepare", "train@a", "train@b", "report"]
    proc = run(root / "src", "stage", "list", "--json")
    doc = json.loads(proc.stdout)
    assert doc["schema_version"] == 1
    assert [s["id"] for s in doc["stages"]] == ["prepare", "report", "train@a", "train@b"]
    assert doc["edges"] == [
        ["report", "train@a"],
        ["report", "train@b"],
        ["train@a", "prepare"],
        ["train@b", "prepare"],
    ]


def test_outside_a_git_repository(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "dvc.yaml").write_text(PIPELINE)
    assert_user_error(run(plain, "stage", "list"), "not inside a git work tree")


def test_dag_formats_and_target(tmp_path: Path) -> None:
    root = repo(tmp_path, {"dvc.yaml": PIPELINE})
    text = run(root, "dag").stdout.splitlines()
    assert text[0] == "prepare"
    assert text[-1].startswith("report") and "train@a" in text[-1]
    doc = json.loads(run(root, "dag", "--json").stdout)
    assert doc["version"] == 1
    order = doc["stages"]
    assert order.index("prepare") < order.index("train@a") < order.index("report")
    dot = run(root, "dag", "--dot").stdout
    assert dot.startswith("strict digraph {")
    assert '"prepare" -> "train@a";' in dot
    mermaid = run(root, "dag", "--mermaid").stdout
    assert mermaid.startswith("flowchart TD")
    assert mermaid.count("-->") == 4
    sub = json.loads(run(root, "dag", "train@a", "--json").stdout)
    assert sub["stages"] == ["prepare", "train@a"]
    assert sub["edges"] == [["train@a", "prepare"]]
    proc = run(root, "dag", "nosuch")
    assert_user_error(proc, "no stage named 'nosuch'", code=2)


BAD_PIPELINES = [
    # (files, fragments of the one-line error, line expected in it)
    ({"dvc.yaml": "stages:\n  a:\n    cmd: [x\n"}, ["dvc.yaml:", "invalid YAML"]),
    (
        {"dvc.yaml": "stages:\n  a:\n    cmd: x\n    outz: [y]\n"},
        ["dvc.yaml:4:", "stage 'a'", "unknown key 'outz'"],
    ),
    (
        {"dvc.yaml": "stages:\n  a:\n    cmd: echo ${nope}\n"},
        ["dvc.yaml:3:", "stage 'a'", "undefined variable '${nope}'"],
    ),
    (
        {"dvc.yaml": "vars: [missing.yaml]\nstages:\n  a:\n    cmd: x\n"},
        ["dvc.yaml:1:", "missing.yaml"],
    ),
    (
        {"dvc.yaml": "stages:\n  a:\n    cmd: x\n    outs: [o]\n  b:\n    cmd: y\n    outs: [o]\n"},
        ["output 'o' is declared by both stage 'a' and stage 'b'"],
    ),
    (
        {
            "dvc.yaml": "stages:\n  a:\n    cmd: x\n    outs: [d]\n"
            "  b:\n    cmd: y\n    outs: [d/f]\n"
        },
        ["output 'd/f' of stage 'b' lies inside output 'd' of stage 'a'"],
    ),
    (
        {"dvc.yaml": "stages:\n  a:\n    cmd: x\n    deps: [o]\n    outs: [o]\n"},
        ["stage 'a' depends on its own output"],
    ),
    (
        {
            "dvc.yaml": "stages:\n  a:\n    cmd: x\n    deps: [q]\n    outs: [p]\n"
            "  b:\n    cmd: y\n    deps: [p]\n    outs: [q]\n"
        },
        ["dependency cycle:", "a", "b"],
    ),
    (
        {"dvc.yaml": "stages:\n  a:\n    foreach: [1]\n    matrix: {x: [1]}\n    do: {cmd: x}\n"},
        ["dvc.yaml:4:", "unknown key 'matrix'"],
    ),
]


@pytest.mark.parametrize("files,fragments", BAD_PIPELINES)
def test_bad_pipelines_give_one_clear_line(
    tmp_path: Path, files: dict[str, str], fragments: list[str]
) -> None:
    root = repo(tmp_path, files)
    for args in (("stage", "list"), ("stage", "list", "--json"), ("dag",)):
        proc = run(root, *args)
        assert_user_error(proc, *fragments)
        assert proc.stdout == ""
    # nothing was written into the project
    assert not (root / ".mlrepro").exists()


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    root = repo(tmp_path, {"dvc.yaml": "stages:\n  a:\n    cmd: echo ${nope}\n"})
    proc = run(root, "--debug", "stage", "list")
    assert proc.returncode != 0
    assert "Traceback" in proc.stderr
    assert "PipelineError" in proc.stderr


def test_the_repository_example_pipeline_loads() -> None:
    top = Path(__file__).resolve().parents[2]
    proc = run(top, "stage", "list", "--json")
    assert proc.returncode == 0, proc.stderr
    ids = [s["id"] for s in json.loads(proc.stdout)["stages"]]
    assert "prepare" in ids and "train@logreg" in ids and "evaluate@forest" in ids


def test_config_written_by_init_reads_back_and_bad_versions_are_refused(tmp_path: Path) -> None:
    from mlrepro.errors import MlreproError
    from mlrepro.workspace.config import Config, read_config

    root = repo(tmp_path, {})
    assert run(root, "init").returncode == 0
    assert read_config(str(root)) == Config()
    path = root / ".mlrepro" / "config.json"
    path.write_text('{"version": 7}')
    with pytest.raises(MlreproError, match="unsupported config version 7"):
        read_config(str(root))
    path.write_text('{"version": 1, "cache": {"type": ["teleport"]}}')
    with pytest.raises(MlreproError, match=r"cache\.type"):
        read_config(str(root))
    path.write_text('{"version": 1, "remote": {}}')
    with pytest.raises(MlreproError, match="unknown key 'remote'"):
        read_config(str(root))
    assert run(root, "init", "--force").returncode == 0
    assert read_config(str(root)) == Config()


# -- leaving the process ---------------------------------------------------------


def buffered_env() -> dict[str, str]:
    """The environment with Python's output buffered, as it is for a user's pipe (the
    shell running these tests may have turned buffering off)."""
    env = {**os.environ, **GIT_ENV}
    env.pop("PYTHONUNBUFFERED", None)
    return env


def test_output_larger_than_a_pipe_arrives_whole_and_a_closed_pipe_is_quiet(
    tmp_path: Path,
) -> None:
    # the command exits without the interpreter's teardown: buffered output must
    # still be flushed, and a reader that stops early must not cause an error
    stages = "".join(f"  s{i:04d}:\n    cmd: echo {'x' * 60} {i}\n" for i in range(1500))
    root = repo(tmp_path, {"dvc.yaml": f"stages:\n{stages}"})
    proc = subprocess.run(
        [sys.executable, "-m", "mlrepro", "stage", "list", "--json"],
        cwd=root,
        capture_output=True,
        text=True,
        env=buffered_env(),
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stdout) > 200_000
    listed = json.loads(proc.stdout)
    assert len(listed["stages"]) == 1500
    head = subprocess.run(
        f"{sys.executable} -m mlrepro stage list | head -n 1",
        shell=True,
        cwd=root,
        capture_output=True,
        text=True,
        env=buffered_env(),
        timeout=60,
    )
    assert head.stdout.count("\n") == 1
    assert "Traceback" not in head.stderr and "Error" not in head.stderr, head.stderr


LEAVE = """
import atexit, sys, threading, time
from mlrepro.cli.main import _leave
atexit.register(lambda: print("handler ran"))
print("buffered", end=" ")
if sys.argv[1] == "thread":
    threading.Thread(target=time.sleep, args=(0.2,)).start()
_leave(int(sys.argv[2]) if sys.argv[2].isdigit() else sys.argv[2])
"""


@pytest.mark.parametrize(
    ("mode", "code", "status", "stderr"),
    [
        ("plain", "0", 0, ""),
        ("plain", "3", 3, ""),
        ("plain", "a message", 1, "a message\n"),
        # a thread still running: the normal exit, which waits for it
        ("thread", "4", 4, ""),
    ],
)
def test_leaving_runs_exit_handlers_and_flushes(
    mode: str, code: str, status: int, stderr: str
) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", LEAVE, mode, code],
        capture_output=True,
        text=True,
        timeout=60,
        env=buffered_env(),
    )
    assert (proc.returncode, proc.stdout, proc.stderr) == (
        status,
        "buffered handler ran\n",
        stderr,
    )


THRESHOLDS = """
import atexit, gc, sys
from mlrepro.cli.main import main
if sys.argv[1] == "library":
    main(["--version"])  # a caller's own argv: the collector is the caller's business
    print(gc.get_threshold())
else:
    atexit.register(lambda: print(gc.get_threshold()))
    sys.argv = ["mlrepro", "--version"]
    main()  # the program: exit handlers run before it ends
"""


@pytest.mark.parametrize(("mode", "first"), [("library", 700), ("program", 10_000)])
def test_only_the_program_collects_cycles_less_often(mode: str, first: int) -> None:
    defaults = subprocess.run(
        [sys.executable, "-c", "import gc; print(gc.get_threshold()[0])"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert int(defaults.stdout) == 700  # Python's default, which the library keeps
    proc = subprocess.run(
        [sys.executable, "-c", THRESHOLDS, mode],
        capture_output=True,
        text=True,
        timeout=60,
        env=buffered_env(),
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1].startswith(f"({first},")
