"""The ``mlrepro`` program (mlrepro/cli/main.py) through the real CLI: its global options
(``--version``/``-V``, ``--help``/``-h`` anywhere, ``--debug``), the top-level listing
taken from its own table, and the one place errors become exit codes: a system error is
one ``error:`` line and a ``hint:``, Ctrl-C at a question exits 130 (docs/cli.md,
"Conventions" and "Global options").

``--version``, ``--debug`` on a pipeline error, leaving the process and the collector's
thresholds are checked by tests/cli/test_cli.py."""

from __future__ import annotations

import os
import pty
import shutil
import signal
import subprocess
import time

import pytest

import mlrepro
from mlrepro.cli.main import _COMMANDS
from tests.ops.conftest import PY, Proj, git_env


def test_short_version_and_help_options(proj: Proj) -> None:
    assert proj.ok("-V").stdout == f"mlrepro, version {mlrepro.__version__}\n"
    assert proj.ok("-h").stdout == proj.ok("--help").stdout
    # after a command too, for that command
    dag_help = proj.ok("dag", "-h").stdout
    assert dag_help.startswith("Usage: mlrepro dag [OPTIONS] [TARGETS]...")
    assert "--mermaid" in dag_help


def test_the_top_level_listing_is_the_command_table(proj: Proj) -> None:
    text = proj.ok("--help", cwd=proj.root).stdout
    rows = text.split("\nCommands:\n", 1)[1].splitlines()
    listed = [row.split()[0] for row in rows if row[2:3] not in ("", " ")]
    assert listed == sorted(_COMMANDS)
    for name, (_, _, summary) in _COMMANDS.items():
        assert summary.split()[0] in text, name


def test_an_unknown_global_option_is_a_usage_error(proj: Proj) -> None:
    proc = proj.fails("--bogus", code=2)
    assert proc.stdout == ""
    assert proc.stderr.splitlines() == [
        "error: no such option '--bogus'.",
        "hint: run 'mlrepro --help' for its usage",
    ]


def broken_cache(proj: Proj) -> None:
    """The cache folder replaced by a file: writing an object fails with ENOTDIR."""
    shutil.rmtree(proj.cache, ignore_errors=True)
    proj.cache.write_text("not a folder")
    proj.write("x.txt", "hi\n")


def test_a_system_error_is_one_line_naming_the_path_and_a_hint(proj: Proj) -> None:
    broken_cache(proj)
    proc = proj.fails("add", "x.txt")
    assert proc.stdout == ""
    assert proc.stderr.splitlines() == [
        "error: .mlrepro/cache/xxh3-128: not a directory",
        "hint: fix that and run the command again (`mlrepro --debug ...` shows where it failed)",
    ]


def test_debug_shows_the_system_errors_traceback(proj: Proj) -> None:
    broken_cache(proj)
    proc = proj.mlrepro("--debug", "add", "x.txt")
    assert proc.returncode != 0
    assert "Traceback" in proc.stderr
    assert proc.stderr.splitlines()[-1].startswith("NotADirectoryError: [Errno 20]")


def test_ctrl_c_at_a_question_is_one_line_and_exit_130(proj: Proj) -> None:
    """Click's Abort (Ctrl-C at gc's question on a terminal) becomes ``error:
    interrupted`` and the documented 130, and nothing is deleted."""
    proj.write("big.bin", "x")
    proj.ok("add", "big.bin")
    proj.write("big.bin", "y")
    proj.ok("add", "big.bin")  # one object to collect: gc asks on a terminal
    master, slave = pty.openpty()
    child = subprocess.Popen(
        [PY, "-m", "mlrepro", "gc", "-w"],
        cwd=proj.root,
        stdin=slave,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=git_env(),
        # as from a terminal: a shell's background job would start it with SIGINT ignored
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        assert child.stdout is not None
        seen = b""
        while not seen.endswith(b"[y/N]: "):
            byte = child.stdout.read(1)
            assert byte, seen
            seen += byte
        out = err = b""
        for _ in range(10):
            # a signal landing between the prompt and the read waits for a line, in
            # Python itself: send it again until the process is reading
            time.sleep(0.1)
            child.send_signal(signal.SIGINT)
            try:
                out, err = child.communicate(timeout=3)
                break
            except subprocess.TimeoutExpired:
                continue
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()
        os.close(slave)
        os.close(master)
    assert child.returncode == 130, err
    assert out == b"" and err.decode() == "error: interrupted\n"
    assert len(proj.objects()) == 2  # nothing was deleted


@pytest.mark.parametrize("args", [["repro", "-j", "0"], ["gc"], ["add"], ["audit", "log", "-x"]])
def test_a_bad_option_value_is_one_error_line_like_every_other_error(
    proj: Proj, args: list[str]
) -> None:
    """docs/cli.md, "Conventions": usage errors (exit 2) too are one ``error:`` line and
    a hint, not Click's usage block ending in ``Error: ...``."""
    proc = proj.fails(*args, code=2)
    lines = proc.stderr.splitlines()
    command = " ".join(a for a in args if not a.startswith("-") and not a.isdigit())
    assert len(lines) == 2 and lines[0].startswith("error: "), proc.stderr
    assert lines[1] == f"hint: run 'mlrepro {command} --help' for its usage"
