"""The command groups' class (mlrepro/cli/group.py) through the real CLI: an unknown
subcommand at any depth is the tool's ``error:``/``hint:`` pair naming up to three close
commands by their whole name (docs/cli.md, "Conventions"), while an option in the
command's place keeps Click's usage error, and a group run alone shows its listing.

The listing's whole descriptions and the one-suggestion and no-suggestion hints are
checked by tests/cli/test_help.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlrepro.errors import EXIT_USAGE
from tests.cli.test_cli import assert_user_error, run


@pytest.mark.parametrize(
    ("typed", "hint"),
    [
        (["stat"], "hint: did you mean 'status' or 'stage'?"),
        (["remote", "defualt"], "hint: did you mean 'remote default'?"),
        (["cache", "verfiy"], "hint: did you mean 'cache verify'?"),
    ],
)
def test_an_unknown_subcommand_names_the_close_ones_with_the_group(
    tmp_path: Path, typed: list[str], hint: str
) -> None:
    proc = run(tmp_path, *typed)
    assert_user_error(proc, f"unknown command '{' '.join(typed)}'", code=EXIT_USAGE)
    assert proc.stderr.splitlines()[1:] == [hint]
    assert proc.stdout == ""


def test_an_option_in_the_command_place_is_the_groups_usage_error(tmp_path: Path) -> None:
    proc = run(tmp_path, "cache", "--bogus")
    assert proc.returncode == EXIT_USAGE and "Traceback" not in proc.stderr
    assert proc.stdout == ""
    assert proc.stderr.splitlines() == [
        "error: no such option '--bogus'.",
        "hint: run 'mlrepro cache --help' for its usage",
    ]
    assert "unknown command" not in proc.stderr


@pytest.mark.parametrize(("group", "subs"), [("cache", ["verify"]), ("stage", ["list"])])
def test_a_group_alone_is_a_usage_error_showing_its_commands(
    tmp_path: Path, group: str, subs: list[str]
) -> None:
    proc = run(tmp_path, group)
    assert proc.returncode == EXIT_USAGE and "Traceback" not in proc.stderr
    assert proc.stdout == ""  # the listing goes to standard error, as for any usage error
    listing = proc.stderr.split("\nCommands:\n", 1)[1].splitlines()
    assert [line.split()[0] for line in listing if line[2:3] not in ("", " ")] == subs
