"""``mlrepro gc`` (mlrepro/cli/gc.py) through the real CLI: the scope it insists on, its
``would remove`` / ``removed`` / ``nothing to remove`` lines with sizes in bytes, KiB and
MiB, and the question it asks on a terminal, not in scripts, unless ``-f`` (docs/cli.md,
"mlrepro gc").

Which objects each scope keeps is tests/ops/test_gc.py's subject."""

from __future__ import annotations

import os
import pty
import subprocess

import pytest

from tests.ops.conftest import PY, Proj, git_env


def garbage(proj: Proj, size: int) -> None:
    """One object of ``size`` bytes that no lock needs any more (and one that is needed)."""
    proj.write("big.bin", "x" * size)
    proj.ok("add", "big.bin")
    proj.write("big.bin", "y")
    proj.ok("add", "big.bin")
    assert len(proj.objects()) == 2


def on_a_terminal(proj: Proj, answer: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``mlrepro ARGS`` with a terminal as standard input, ``answer`` typed ahead."""
    master, slave = pty.openpty()
    try:
        os.write(master, answer.encode())
        return subprocess.run(
            [PY, "-m", "mlrepro", *args],
            cwd=proj.root,
            stdin=slave,
            capture_output=True,
            text=True,
            env=git_env(),
            timeout=60,
        )
    finally:
        os.close(slave)
        os.close(master)


@pytest.mark.parametrize(
    ("size", "shown"),
    [
        (1023, "1023 bytes"),
        (1024, "1.0 KiB"),
        (3 * 1024 + 512, "3.5 KiB"),
        (3 * 1024 * 1024 // 2, "1.5 MiB"),
    ],
)
def test_dry_then_removal_report_the_count_and_the_size(proj: Proj, size: int, shown: str) -> None:
    garbage(proj, size)
    dry = proj.ok("gc", "-w", "--dry")
    assert dry.stdout == f"would remove 1 object(s), {shown}\n"
    assert len(proj.objects()) == 2
    done = proj.ok("gc", "--workspace")  # not a terminal: no question
    assert done.stdout == f"removed 1 object(s), {shown}; kept 1 for 1 revision(s)\n"
    assert len(proj.objects()) == 1


def test_nothing_to_remove_is_said_by_dry_and_by_a_real_run(proj: Proj) -> None:
    garbage(proj, 10)
    proj.ok("gc", "-w", "-f")
    assert proj.ok("gc", "-w", "--dry").stdout == "nothing to remove\n"
    assert proj.ok("gc", "-w").stdout == "nothing to remove\n"


def test_on_a_terminal_it_asks_and_no_keeps_everything(proj: Proj) -> None:
    garbage(proj, 3072)
    refused = on_a_terminal(proj, "n\n", "gc", "-w")
    assert refused.stdout == "remove 1 object(s), 3.0 KiB from the cache? [y/N]: "
    assert refused.returncode != 0 and "Traceback" not in refused.stderr
    assert len(proj.objects()) == 2
    accepted = on_a_terminal(proj, "y\n", "gc", "-w")
    assert accepted.returncode == 0, accepted.stderr
    assert accepted.stdout == (
        "remove 1 object(s), 3.0 KiB from the cache? [y/N]: "
        "removed 1 object(s), 3.0 KiB; kept 1 for 1 revision(s)\n"
    )
    assert len(proj.objects()) == 1


def test_on_a_terminal_force_and_nothing_to_remove_do_not_ask(proj: Proj) -> None:
    garbage(proj, 3072)
    forced = on_a_terminal(proj, "", "gc", "-w", "-f")
    assert forced.returncode == 0, forced.stderr
    assert forced.stdout == "removed 1 object(s), 3.0 KiB; kept 1 for 1 revision(s)\n"
    again = on_a_terminal(proj, "", "gc", "-w")
    assert (again.returncode, again.stdout) == (0, "nothing to remove\n")


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (
            [],
            "error: say what to keep: -w (the workspace), -a (branches), -T (tags) "
            "or -A (all commits)",
        ),
        (["--dry", "-f"], "error: say what to keep"),
        (["-a", "--wait", "x"], "error: invalid value for '--wait': 'x' is not a valid float."),
    ],
)
def test_usage_errors_exit_2_and_remove_nothing(proj: Proj, args: list[str], error: str) -> None:
    garbage(proj, 10)
    proc = proj.fails("gc", *args, code=2)
    assert proc.stdout == "" and proc.stderr.splitlines()[0].startswith(error), proc.stderr
    assert len(proj.objects()) == 2
