"""One stage's run (mlrepro.engine.execute), in-process in a real repository with real
commands: outputs cleared first, the command in its working folder with DVC's
environment, events told as it goes, what it made checked and cached, nothing recorded."""

from __future__ import annotations

import json
import os
import shlex
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import xxhash

from mlrepro.dag.workstate import WorkState
from mlrepro.engine.execute import execute
from mlrepro.engine.outcome import Event, RunFailed, RunInterrupted
from mlrepro.workspace.project import Project
from tests.ops.conftest import Proj

PY = shlex.quote(sys.executable)


class Run:
    def __init__(self, proj: Proj) -> None:
        self.proj = proj
        self.events: list[tuple[Event, str, str]] = []
        self.cancel = threading.Event()
        self.ws: WorkState | None = None

    def __call__(self, stage_id: str) -> tuple[list, float]:
        self.ws = WorkState.load(Project(str(self.proj.root)))
        return execute(
            self.ws,
            self.ws.by_id[stage_id],
            lambda e, s, t: self.events.append((e, s, t)),
            self.cancel,
        )

    def lines(self) -> list[str]:
        return [t for e, _, t in self.events if e is Event.LINE]


@pytest.fixture
def run(proj: Proj) -> Iterator[Run]:
    r = Run(proj)
    yield r
    if r.ws is not None:
        r.ws.project.close()


def py(code: str) -> str:
    return f"{PY} -c {shlex.quote(code)}"


def test_the_command_runs_in_its_folder_with_the_stage_env(proj: Proj, run: Run) -> None:
    code = (
        "import json, os; json.dump({'cwd': os.getcwd(), "
        "'env': {k: os.environ.get(k) for k in "
        "('DVC_ROOT', 'DVC_STAGE', 'MLREPRO_ROOT', 'MLREPRO_STAGE')}}, open('o.json', 'w'))"
    )
    proj.write(
        "sub/dvc.yaml", f"stages:\n  s:\n    cmd: {json.dumps(py(code))}\n    outs: [o.json]\n"
    )
    artifacts, duration = run("sub/dvc.yaml:s")
    seen = json.loads(proj.read("sub/o.json"))
    root = str(proj.root)
    assert os.path.realpath(seen["cwd"]) == os.path.realpath(proj.root / "sub")
    assert seen["env"] == {
        "DVC_ROOT": root,
        "DVC_STAGE": "sub/dvc.yaml:s",
        "MLREPRO_ROOT": root,
        "MLREPRO_STAGE": "sub/dvc.yaml:s",
    }
    assert duration >= 0
    assert [a.path for a in artifacts] == ["sub/o.json"]


def test_outputs_are_cleared_before_and_cached_after(proj: Proj, run: Run) -> None:
    proj.write("out/stale.txt", "left from before")
    code = "import os; os.makedirs('out', exist_ok=True); open('out/new.txt', 'w').write('new')"
    proj.pipeline({"s": {"cmd": py(code), "outs": ["out"]}})
    [art], _ = run("s")
    assert sorted(os.listdir(proj.root / "out")) == ["new.txt"]
    assert art.isdir and art.nfiles == 1 and art.size == 3
    assert art.sha256 is not None and art.sha256.startswith("sha256:")
    # the file's bytes are in the cache under their own digest
    assert xxhash.xxh3_128_hexdigest(b"new") in proj.objects()
    # nothing is recorded: no lock, no audit entry for the run
    assert not (proj.root / "mlrepro.lock").exists()


def test_a_persist_output_is_kept_for_the_command(proj: Proj, run: Run) -> None:
    proj.write("log.txt", "first\n")
    proj.pipeline(
        {
            "s": {
                "cmd": py("open('log.txt', 'a').write('second\\n')"),
                "outs": [{"log.txt": {"persist": True}}],
            }
        }
    )
    [art], _ = run("s")
    assert proj.read("log.txt") == "first\nsecond\n"
    assert art.digest == "xxh3-128:" + xxhash.xxh3_128_hexdigest(b"first\nsecond\n")


def test_command_output_and_commands_are_told_with_secrets_masked(proj: Proj, run: Run) -> None:
    secret = "Zq9PasswordValue77"
    code = "print('hello'); print('world'); open('o', 'w').write('x')"
    proj.pipeline({"s": {"cmd": f"{py(code)} --password={secret}", "outs": ["o"]}})
    run("s")
    assert run.lines() == ["hello", "world"]
    commands = [t for e, _, t in run.events if e is Event.COMMAND]
    assert len(commands) == 1 and secret not in commands[0] and "--password=" in commands[0]
    assert all(s == "s" for _, s, _ in run.events)


def test_a_failing_command_raises_with_its_status(proj: Proj, run: Run) -> None:
    proj.pipeline({"s": {"cmd": py("import sys; print('bad'); sys.exit(3)"), "outs": ["o"]}})
    with pytest.raises(RunFailed) as err:
        run("s")
    assert err.value.exit_status == 3
    assert "status 3" in str(err.value)
    assert run.lines() == ["bad"]


def test_a_missing_output_fails_the_run(proj: Proj, run: Run) -> None:
    proj.pipeline({"s": {"cmd": py("open('a', 'w').write('a')"), "outs": ["a", "b"]}})
    with pytest.raises(RunFailed, match="did not create output 'b'"):
        run("s")
    assert proj.objects() == {}  # nothing of the half-made run was cached


def test_an_output_linking_out_of_the_repository_is_removed(
    proj: Proj, run: Run, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("outside bytes")
    code = f"import os; os.symlink({str(secret)!r}, 'o')"
    proj.pipeline({"s": {"cmd": py(code), "outs": ["o"]}})
    with pytest.raises(RunFailed, match="symbolic link leading outside the repository") as err:
        run("s")
    assert "the link was removed" in str(err.value)
    assert not os.path.lexists(proj.root / "o")
    assert secret.read_text() == "outside bytes"
    assert xxhash.xxh3_128_hexdigest(b"outside bytes") not in proj.objects()


def test_a_cancel_interrupts_the_command(proj: Proj, run: Run) -> None:
    code = "import time; print('started', flush=True); time.sleep(30)"
    proj.pipeline({"s": {"cmd": py(code), "outs": ["o"]}})

    def cancel_on_start(event: Event, stage_id: str, text: str) -> None:
        run.events.append((event, stage_id, text))
        if event is Event.LINE and text == "started":
            run.cancel.set()

    ws = WorkState.load(Project(str(proj.root)))
    run.ws = ws
    with pytest.raises(RunInterrupted):
        execute(ws, ws.by_id["s"], cancel_on_start, run.cancel)
    assert run.lines() == ["started"]
