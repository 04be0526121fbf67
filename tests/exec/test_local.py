"""Running a stage's command (``mlrepro.exec.local``), with real subprocesses.

A command runs through the shell in the stage's folder, its output (stdout and stderr
together) heard line by line; a list runs command by command and stops at the first
failure; cancelling, or :func:`terminate_all`, stops the command's whole process group.

What a stage's command sees of DVC's environment (issue 14). DVC runs every command with
``DVC_ROOT`` (the repository root) and ``DVC_STAGE`` (the stage's address) set
(dvc/stage/run.py, ``prepare_kwargs``). Tools written for DVC pipelines read them:
dvclive (3.49) takes ``DVC_ROOT`` as the sign that it runs inside ``dvc repro``. Without
it, ``Live.end()`` calls ``dvc exp save``, which in a git repository with a commit
creates an experiment ref, leaves ``refs/exps/exec/EXEC_HEAD`` and a ``dvc.lock`` behind
and warns about untracked files, or fails the stage when its git library cannot commit.
(With or without it, dvclive ``dvc init``s a git repository that is not a DVC project
yet.)
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlrepro.exec.local import CommandResult, run_command, stage_env, terminate_all
from tests.ops.conftest import GIT_ENV, Proj, git_env, make_repo

PY = shlex.quote(sys.executable)

# Prints what the command sees into the JSON file named by its argument.
SHOW_ENV = """\
import json, os, sys
names = ["DVC_ROOT", "DVC_STAGE", "MLREPRO_ROOT", "MLREPRO_STAGE"]
doc = {name: os.environ.get(name) for name in names}
doc["cwd"] = os.getcwd()
with open(sys.argv[1], "w") as f:
    json.dump(doc, f)
"""


def hermetic_env(base: Mapping[str, str], scratch: Path) -> dict[str, str]:
    """``base`` without any DVC, dvclive or mlrepro variable (the suite may itself run
    under ``dvc repro``), with DVC's config and site cache in ``scratch`` and nothing
    sent anywhere (analytics, Studio)."""
    env = {k: v for k, v in base.items() if not k.startswith(("DVC", "MLREPRO"))}
    for name in ("global", "system", "site"):
        (scratch / f"dvc-{name}").mkdir(parents=True, exist_ok=True)
    env.update(
        DVC_NO_ANALYTICS="1",
        DVC_STUDIO_OFFLINE="1",
        DVC_GLOBAL_CONFIG_DIR=str(scratch / "dvc-global"),
        DVC_SYSTEM_CONFIG_DIR=str(scratch / "dvc-system"),
        DVC_SITE_CACHE_DIR=str(scratch / "dvc-site"),
    )
    return env


@pytest.fixture
def proj(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Proj:
    # Proj runs mlrepro with os.environ (plus a pinned git identity)
    env = hermetic_env(os.environ, tmp_path / "scratch")
    for name in set(os.environ) - set(env):
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    # the stage helper of tests/ops is not used here: commands are written out
    return make_repo(tmp_path / "repo", tmp_path / "unused-tool.py", tmp_path / "outside")


def test_commands_see_the_root_and_their_stage(proj: Proj) -> None:
    proj.write("show_env.py", SHOW_ENV)
    proj.pipeline(
        {
            "plain": {"cmd": f"{PY} show_env.py plain.json", "outs": ["plain.json"]},
            "each": {
                "foreach": ["a", "b"],
                "do": {
                    "cmd": f"{PY} show_env.py each-${{item}}.json",
                    "outs": ["each-${item}.json"],
                },
            },
            "inwdir": {"wdir": "w", "cmd": f"{PY} ../show_env.py env.json", "outs": ["env.json"]},
        }
    )
    proj.write("w/.keep", "")
    proj.write(
        "sub/dvc.yaml",
        yaml.safe_dump(
            {"stages": {"deep": {"cmd": f"{PY} ../show_env.py deep.json", "outs": ["deep.json"]}}}
        ),
    )
    proj.commit("pipeline")
    root = os.path.realpath(proj.root)
    # stage id -> (file it writes, its working folder); DVC_STAGE is the stage's address as
    # `dvc repro` run from the root gives it (checked with DVC 3.67): the name, `name@key`
    # for foreach, `sub/dvc.yaml:name` for a pipeline file in a subfolder. (Run from a
    # subfolder, DVC makes the address relative to it; mlrepro's ids are root-relative.)
    expected = {
        "plain": ("plain.json", root),
        "each@a": ("each-a.json", root),
        "each@b": ("each-b.json", root),
        "inwdir": ("w/env.json", os.path.join(root, "w")),
        "sub/dvc.yaml:deep": ("sub/deep.json", os.path.join(root, "sub")),
    }
    proj.ok("repro")
    for stage, (path, cwd) in expected.items():
        seen = json.loads(proj.read(path))
        assert seen == {
            "DVC_ROOT": root,
            "DVC_STAGE": stage,
            "MLREPRO_ROOT": root,
            "MLREPRO_STAGE": stage,
            "cwd": cwd,
        }, stage
    # run from a subfolder, the root is still the repository's
    proj.ok("repro", "--force", cwd=proj.root / "w")
    for stage, (path, _) in expected.items():
        seen = json.loads(proj.read(path))
        assert seen["DVC_ROOT"] == seen["MLREPRO_ROOT"] == root, stage


def test_an_inherited_dvc_stage_is_replaced(proj: Proj, monkeypatch: pytest.MonkeyPatch) -> None:
    # mlrepro run from inside another pipeline's stage: each command gets its own stage
    # name and this repository's root (mlrepro has no queued experiments that would
    # need the outer root, for which DVC keeps an inherited DVC_ROOT)
    monkeypatch.setenv("DVC_STAGE", "outer")
    monkeypatch.setenv("MLREPRO_STAGE", "outer")
    monkeypatch.setenv("DVC_ROOT", "/somewhere/else")
    proj.write("show_env.py", SHOW_ENV)
    proj.pipeline({"inner": {"cmd": f"{PY} show_env.py inner.json", "outs": ["inner.json"]}})
    proj.commit("pipeline")
    proj.ok("repro")
    seen = json.loads(proj.read("inner.json"))
    assert seen["DVC_STAGE"] == seen["MLREPRO_STAGE"] == "inner"
    assert seen["DVC_ROOT"] == seen["MLREPRO_ROOT"] == os.path.realpath(proj.root)


TRAIN = """\
from dvclive import Live

with Live() as live:
    live.log_metric("acc", 0.9)
"""


def refs(proj: Proj, prefix: str) -> list[str]:
    return proj.git("for-each-ref", "--format=%(refname)", prefix).split()


# git's own date format, which dvclive's git library (dulwich) also parses; with the ISO
# dates tests/ops pins, `exp save` cannot even commit and the stage fails.
RAW_DATE = "1704067200 +0000"


@pytest.mark.slow  # 3-6 s each: dvclive and DVC run in the stage
@pytest.mark.parametrize(
    ("dvc_project", "git_date"),
    [(True, RAW_DATE), (False, RAW_DATE), (True, GIT_ENV["GIT_AUTHOR_DATE"])],
    ids=["dvc-init", "plain-git", "dvc-init-iso-date"],
)
def test_dvclive_in_a_stage_saves_no_experiment(
    proj: Proj, dvc_project: bool, git_date: str
) -> None:
    # Live() with its defaults, as dvclive's README shows it: save_dvc_exp=True, logs to
    # dvclive/ and updates dvc.yaml's top-level metrics and plots (declared here as
    # dvclive writes them, so the pipeline reads the same before and after the run).
    # dvclive needs a commit to save an experiment (without one it only warns), and in a
    # plain git repository it runs `dvc init` itself, so both kinds of project take the
    # bad path when DVC_ROOT is missing.
    env = {**git_env(), "GIT_AUTHOR_DATE": git_date, "GIT_COMMITTER_DATE": git_date}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            args, cwd=proj.root, capture_output=True, text=True, env=env, timeout=120
        )

    if dvc_project:
        init = run(sys.executable, "-m", "dvc", "init", "-q")
        assert init.returncode == 0, init.stderr
    proj.write("train.py", TRAIN)
    proj.pipeline(
        {"train": {"cmd": f"{PY} train.py", "deps": ["train.py"], "outs": ["dvclive"]}},
        metrics=["dvclive/metrics.json"],
        plots=[{"dvclive/plots/metrics": {"x": "step"}}],
    )
    assert run("git", "add", "-A").returncode == 0
    assert run("git", "commit", "-q", "-m", "pipeline").returncode == 0
    proc = run(sys.executable, "-m", "mlrepro", "repro")
    stage_lines = [
        line.removeprefix("[train] ") for line in proc.stdout.splitlines() if line.startswith("[")
    ]
    # dvclive says when it sees `dvc repro` (DVC_ROOT set) and so will not save an
    # experiment; DVC prints the same line. Any other warning is about the experiment it
    # tried to save (untracked files left out of the experiment commit, exp save failing).
    warnings = [
        line
        for line in stage_lines
        if "warning" in line.lower() and "because `dvc repro` is running" not in line
    ]
    # all at once, so a failure shows every symptom: `exp save` commits the pipeline
    # (dvc.lock) and leaves an experiment ref and refs/exps/exec/EXEC_HEAD
    outcome = {
        "status": proc.returncode,
        "traceback": "Traceback" in proc.stdout + proc.stderr,
        "refs/exps": refs(proj, "refs/exps"),
        "dvc.lock": (proj.root / "dvc.lock").exists(),
        "warnings": warnings,
    }
    assert outcome == {
        "status": 0,
        "traceback": False,
        "refs/exps": [],
        "dvc.lock": False,
        "warnings": [],
    }, proc.stdout + proc.stderr
    # what dvclive logged is a metric, read through the output folder
    written = json.loads(proj.read("dvclive/metrics.json"))
    assert written == {"acc": 0.9}
    shown = json.loads(run(sys.executable, "-m", "mlrepro", "metrics", "show", "--json").stdout)
    assert shown == {"": {"data": {"dvclive/metrics.json": {"data": written}}}}


# -- run_command: real subprocesses --------------------------------------------------------


class Run:
    """One call of :func:`run_command`, recording what it heard."""

    def __init__(self, cwd: Path, env: dict[str, str] | None = None) -> None:
        self.cwd = cwd
        self.env = env
        self.lines: list[str] = []
        self.commands: list[str] = []
        self.cancel = threading.Event()

    def __call__(self, cmd: Any) -> CommandResult:
        return run_command(
            cmd,
            cwd=str(self.cwd),
            on_line=self.lines.append,
            cancel=self.cancel,
            env=self.env,
            on_command=self.commands.append,
        )

    def in_thread(self, cmd: Any) -> Callable[[float], CommandResult]:
        """Start ``cmd``; the returned function waits for its result."""
        box: list[CommandResult] = []
        thread = threading.Thread(target=lambda: box.append(self(cmd)), daemon=True)
        thread.start()

        def result(timeout: float) -> CommandResult:
            thread.join(timeout)
            assert not thread.is_alive(), f"the command still runs after {timeout} s"
            return box[0]

        return result


def wait_for(path: Path, timeout: float = 10) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().strip():
            return path.read_text().strip()
        time.sleep(0.02)
    raise AssertionError(f"{path} was not written")


def gone(pid: int, timeout: float = 10) -> bool:
    """Whether process ``pid`` ended (a zombie no one reaps counts as ended)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return True
        except FileNotFoundError:
            return True
        time.sleep(0.02)
    return False


def test_a_command_that_prints(tmp_path: Path) -> None:
    run = Run(tmp_path)
    result = run("printf 'one\\ntwo\\n'; echo three >&2; printf 'last'")
    assert result.returncode == 0 and not result.interrupted
    assert result.duration >= 0
    # stdout and stderr together, in order, one line at a time, no line ends
    assert run.lines == ["one", "two", "three", "last"]
    assert run.commands == ["printf 'one\\ntwo\\n'; echo three >&2; printf 'last'"]


def test_output_bytes_that_are_not_utf8_and_crlf(tmp_path: Path) -> None:
    run = Run(tmp_path)
    assert run("printf 'caf\\351\\r\\nok\\r\\n'").returncode == 0
    assert run.lines == ["caf\ufffd", "ok"]


def test_a_command_that_fails(tmp_path: Path) -> None:
    run = Run(tmp_path)
    result = run("echo before; exit 3")
    assert (result.returncode, result.interrupted) == (3, False)
    assert run.lines == ["before"]
    missing = Run(tmp_path)
    assert missing("no-such-command-mlrepro").returncode == 127
    assert any("not found" in line for line in missing.lines)


def test_a_list_runs_command_by_command_and_stops_at_a_failure(tmp_path: Path) -> None:
    run = Run(tmp_path)
    result = run(["echo one", "false", "echo three > three.txt"])
    assert result.returncode == 1
    assert run.commands == ["echo one", "false"]
    assert run.lines == ["one"]
    assert not (tmp_path / "three.txt").exists()
    ok = Run(tmp_path)
    assert ok(["echo a", "echo b"]).returncode == 0
    assert ok.lines == ["a", "b"]


def test_the_command_runs_in_its_folder_without_stdin(tmp_path: Path) -> None:
    (tmp_path / "w").mkdir()
    run = Run(tmp_path / "w")
    # stdin is /dev/null: a command that reads it sees its end at once
    result = run("pwd; read x || echo no-input; cat; echo done")
    assert result.returncode == 0
    assert run.lines == [os.path.realpath(tmp_path / "w"), "no-input", "done"]


def test_the_stage_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DVC_ROOT", "/an/outer/project")
    monkeypatch.setenv("MLREPRO_TEST_INHERITED", "yes")
    env = stage_env(str(tmp_path), "sub/dvc.yaml:train@1")
    assert env["DVC_ROOT"] == env["MLREPRO_ROOT"] == str(tmp_path)
    assert env["DVC_STAGE"] == env["MLREPRO_STAGE"] == "sub/dvc.yaml:train@1"
    assert env["MLREPRO_TEST_INHERITED"] == "yes"
    assert os.environ["DVC_ROOT"] == "/an/outer/project"  # ours is not changed
    run = Run(tmp_path, env)
    show = 'echo "$DVC_ROOT|$DVC_STAGE|$MLREPRO_ROOT|$MLREPRO_STAGE|$MLREPRO_TEST_INHERITED"'
    assert run(show).returncode == 0
    root = str(tmp_path)
    assert run.lines == [f"{root}|sub/dvc.yaml:train@1|{root}|sub/dvc.yaml:train@1|yes"]


def test_a_cancelled_command_stops_with_its_children(tmp_path: Path) -> None:
    run = Run(tmp_path)
    started = time.monotonic()
    result = run.in_thread(
        ["sh -c 'sleep 60 & echo $! > child.pid; echo $$ > shell.pid; wait'", "touch after"]
    )
    child = int(wait_for(tmp_path / "child.pid"))
    shell = int(wait_for(tmp_path / "shell.pid"))
    run.cancel.set()
    outcome = result(10)
    assert (outcome.returncode, outcome.interrupted) == (130, True)
    assert time.monotonic() - started < 10
    assert gone(child) and gone(shell)
    assert not (tmp_path / "after").exists()  # the next command of the list never runs


def test_a_command_cancelled_before_it_starts_never_runs(tmp_path: Path) -> None:
    run = Run(tmp_path)
    run.cancel.set()
    result = run("touch ran")
    assert (result.returncode, result.interrupted) == (130, True)
    assert run.commands == []
    assert not (tmp_path / "ran").exists()


def test_terminate_all_stops_every_running_command(tmp_path: Path) -> None:
    first, second = Run(tmp_path), Run(tmp_path)
    one = first.in_thread("echo $$ > one.pid; exec sleep 60")
    two = second.in_thread(["echo $$ > two.pid; sleep 60", "touch after"])
    pids = [int(wait_for(tmp_path / "one.pid")), int(wait_for(tmp_path / "two.pid"))]
    terminate_all()
    for outcome in (one(10), two(10)):
        # stopped by SIGTERM, not by a cancel of its own: a failure, not an interruption
        assert (outcome.returncode, outcome.interrupted) == (-signal.SIGTERM, False)
    assert all(gone(pid) for pid in pids)
    assert not (tmp_path / "after").exists()
    terminate_all()  # nothing left to stop: no error


@pytest.mark.slow  # waits the 5 s grace before SIGKILL
def test_a_command_that_ignores_sigterm_is_killed(tmp_path: Path) -> None:
    run = Run(tmp_path)
    result = run.in_thread("trap '' TERM; echo $$ > pid; while :; do sleep 0.1; done")
    pid = int(wait_for(tmp_path / "pid"))
    run.cancel.set()
    outcome = result(20)
    assert (outcome.returncode, outcome.interrupted) == (130, True)
    assert gone(pid)
