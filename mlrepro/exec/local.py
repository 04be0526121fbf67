"""Running a stage's command as a local subprocess, streaming its output line by line."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

_active: set[subprocess.Popen[bytes]] = set()
_active_lock = threading.Lock()


def terminate_all() -> None:
    """Stop every running stage command now (their whole process groups)."""
    with _active_lock:
        procs = list(_active)
    for proc in procs:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGTERM)
    for proc in procs:
        _kill_group(proc)


@dataclass(frozen=True, slots=True)
class CommandResult:
    returncode: int
    duration: float
    interrupted: bool = False


def stage_env(root: str, stage_id: str) -> dict[str, str]:
    """The environment a stage's command runs in: ours, plus what DVC gives its commands.

    ``DVC_ROOT`` (the repository root) and ``DVC_STAGE`` (the stage's address, ``name``
    or ``sub/dvc.yaml:name``): tools such as dvclive read them to know they run inside a
    pipeline, and without them call DVC's ``exp save`` when they finish. DVC keeps an
    inherited ``DVC_ROOT`` for its queued experiments; mlrepro has none, and one
    inherited from an outer ``dvc repro`` would name another project, so it is always
    this one. ``MLREPRO_ROOT`` and ``MLREPRO_STAGE`` carry the same values."""
    env = dict(os.environ)
    env["DVC_ROOT"] = root
    env["DVC_STAGE"] = stage_id
    env["MLREPRO_ROOT"] = root
    env["MLREPRO_STAGE"] = stage_id
    return env


def run_command(
    cmd: Any,
    *,
    cwd: str,
    on_line: Callable[[str], None],
    cancel: threading.Event,
    env: dict[str, str] | None = None,
    on_command: Callable[[str], None] | None = None,
) -> CommandResult:
    """Run ``cmd`` (a string, or a list run one by one, as DVC does) through the shell.

    ``on_command`` hears each command as it starts; its output (stdout and stderr
    together) goes to ``on_line`` one line at a time. Each command runs in its own
    process group, so cancelling stops all of it.
    """
    commands = cmd if isinstance(cmd, list) else [cmd]
    start = time.monotonic()
    for command in commands:
        if cancel.is_set():
            return CommandResult(130, time.monotonic() - start, interrupted=True)
        if on_command is not None:
            on_command(str(command))
        proc = subprocess.Popen(
            str(command),
            shell=True,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
        )
        with _active_lock:
            _active.add(proc)
        try:
            watcher = threading.Thread(target=_watch, args=(proc, cancel), daemon=True)
            watcher.start()
            assert proc.stdout is not None
            for raw in proc.stdout:
                on_line(raw.decode("utf-8", "replace").rstrip("\r\n"))
            code = proc.wait()
        finally:
            with _active_lock:
                _active.discard(proc)
        if cancel.is_set():
            return CommandResult(130, time.monotonic() - start, interrupted=True)
        if code != 0:
            return CommandResult(code, time.monotonic() - start)
    return CommandResult(0, time.monotonic() - start)


def _watch(proc: subprocess.Popen[bytes], cancel: threading.Event) -> None:
    while proc.poll() is None:
        if cancel.wait(0.1):
            _kill_group(proc)
            return


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
