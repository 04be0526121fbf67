"""The command's help and its unknown commands, as a user meets them: each group lists
its subcommands with their whole descriptions, and a mistyped command gets the tool's
``error:``/``hint:`` lines with the closest names, without loading any command."""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest

from mlrepro.cli.main import _COMMANDS
from mlrepro.errors import EXIT_USAGE
from tests.cli.test_cli import assert_user_error, run


def help_text(cwd: Path, *args: str, columns: int) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "mlrepro", *args, "--help"],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": str(columns)},
        timeout=60,
        check=True,
    )
    return proc.stdout


def listed(text: str) -> dict[str, str]:
    """The Commands section: name -> description, its wrapped lines joined."""
    rows: dict[str, str] = {}
    name = ""
    for line in text.split("\nCommands:\n", 1)[1].splitlines():
        match = re.match(r"^  (\S+)\s+(.*)$", line)
        if match:
            name = match[1]
            rows[name] = match[2]
        elif line.strip():
            rows[name] += " " + line.strip()
    return rows


def group(name: str) -> click.Group:
    module, attr, _ = _COMMANDS[name]
    command = getattr(importlib.import_module(module), attr)
    assert isinstance(command, click.Group)
    return command


# every group but `metrics` and `params`, whose module another change is editing
@pytest.mark.parametrize("name", ["audit", "cache", "metrics", "params", "remote", "stage"])
def test_a_group_lists_each_subcommand_with_its_whole_description(
    tmp_path: Path, name: str
) -> None:
    commands = group(name).commands
    for columns in (60, 200):  # wrapped on a narrow terminal, never cut
        rows = listed(help_text(tmp_path, name, columns=columns))
        assert sorted(rows) == sorted(commands)
        for sub, command in commands.items():
            first_paragraph = " ".join((command.help or "").split("\n\n")[0].split())
            assert rows[sub] == first_paragraph, (columns, sub, rows[sub])


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        (["reprp"], "repro"),
        (["chekout"], "checkout"),
        (["audit", "verfy"], "audit verify"),
        (["remote", "ad"], "remote add"),
        (["stage", "lst"], "stage list"),
    ],
)
def test_an_unknown_command_names_the_closest_one(
    tmp_path: Path, typed: list[str], meant: str
) -> None:
    proc = run(tmp_path, *typed)
    assert_user_error(proc, f"unknown command '{' '.join(typed)}'", code=EXIT_USAGE)
    assert proc.stderr.splitlines()[1:] == [f"hint: did you mean '{meant}'?"]
    assert "Usage:" not in proc.stderr and proc.stdout == ""


@pytest.mark.parametrize(
    ("typed", "help_of"), [(["xyzzy"], "mlrepro"), (["audit", "zzzz"], "mlrepro audit")]
)
def test_an_unknown_command_with_nothing_close_points_to_the_help(
    tmp_path: Path, typed: list[str], help_of: str
) -> None:
    proc = run(tmp_path, *typed)
    assert_user_error(proc, f"unknown command '{' '.join(typed)}'", code=EXIT_USAGE)
    assert proc.stderr.splitlines()[1:] == [f"hint: run '{help_of} --help' for the commands"]
    # and the command it points to works
    assert "Commands:" in help_text(tmp_path, *typed[:-1], columns=80)


def test_an_unknown_command_loads_no_command_module(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "mlrepro", "reprp"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == EXIT_USAGE
    assert "error: unknown command 'reprp'" in proc.stderr
    imported = {line.split("|")[-1].strip() for line in proc.stderr.splitlines() if "|" in line}
    commands = {module for module, _, _ in _COMMANDS.values()}
    assert not imported & commands, imported & commands
