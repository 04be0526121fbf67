"""``mlrepro config`` and ``mlrepro remote`` (mlrepro/cli/config.py) through the real CLI:
how values are shown (a list comma-joined, a flag as ``true``), ``--list`` and its
``--local`` / ``--project`` scopes, the combinations of arguments the command refuses
as usage errors, and the one-line errors for what is not set (docs/cli.md, "mlrepro
config" and "mlrepro remote").

What each setting does and what the audit log records are the subject of
tests/ops/test_config.py and tests/ops/test_remotes.py."""

from __future__ import annotations

import json

import pytest

from tests.ops.conftest import Proj


def test_a_list_value_is_shown_comma_joined_as_it_is_typed(proj: Proj) -> None:
    assert proj.ok("config", "cache.type").stdout == "reflink,copy\n"
    assert proj.ok("config", "cache.type", "hardlink,copy").stdout == ""  # setting is silent
    assert proj.ok("config", "cache.type").stdout == "hardlink,copy\n"
    stored = json.loads((proj.root / ".mlrepro" / "config.json").read_text())
    assert stored["cache"]["type"] == ["hardlink", "copy"]  # a list in the file


def test_a_true_option_is_shown_as_true(proj: Proj) -> None:
    proj.ok("remote", "add", "s", "/tmp/somewhere")
    proj.ok("remote", "modify", "s", "verify", "true")
    assert proj.ok("config", "remote.s.verify").stdout == "true\n"
    assert "remote.s.verify=true" in proj.ok("config", "--list").stdout.splitlines()


def test_list_shows_the_settings_in_force_or_one_file(proj: Proj) -> None:
    proj.ok("config", "cache.type", "hardlink,copy")
    proj.ok("config", "--local", "cache.type", "copy")
    proj.ok("remote", "add", "-d", "s", "/tmp/somewhere")
    # config.local overrides config.json option by option
    assert proj.ok("config", "--list").stdout.splitlines() == [
        "cache.type=copy",
        "core.remote=s",
        "remote.s.url=/tmp/somewhere",
    ]
    assert proj.ok("config", "-l", "--project").stdout.splitlines() == [
        "cache.type=hardlink,copy",
        "core.remote=s",
        "remote.s.url=/tmp/somewhere",
    ]
    assert proj.ok("config", "-l", "--local").stdout.splitlines() == ["cache.type=copy"]


def test_showing_or_unsetting_what_is_not_set_is_one_error_and_a_hint(proj: Proj) -> None:
    shown = proj.fails("config", "core.remote")
    assert (shown.stdout, shown.stderr) == (
        "",
        "error: 'core.remote' is not set\nhint: see `mlrepro config --list`\n",
    )
    unset = proj.fails("config", "--unset", "core.remote")
    assert unset.stderr.splitlines() == [
        "error: 'core.remote' is not set in .mlrepro/config.json",
        "hint: see `mlrepro config --list` (or try --local)",
    ]


@pytest.mark.parametrize(
    ("args", "error"),
    [
        ([], "name a setting, or use --list"),
        (["--list", "cache.type"], "--list takes no NAME, VALUE or --unset"),
        (["-l", "--unset"], "--list takes no NAME, VALUE or --unset"),
        (["-u", "cache.type", "copy"], "--unset takes no VALUE"),
    ],
)
def test_argument_combinations_it_refuses_are_usage_errors(
    proj: Proj, args: list[str], error: str
) -> None:
    before = (proj.root / ".mlrepro" / "config.json").read_bytes()
    proc = proj.fails("config", *args, code=2)
    assert proc.stdout == "" and proc.stderr.splitlines()[0] == f"error: {error}"
    assert (proj.root / ".mlrepro" / "config.json").read_bytes() == before


def test_remote_list_and_default_show_what_is_in_force(proj: Proj) -> None:
    assert proj.ok("remote", "list").stdout == ""
    none = proj.fails("remote", "default")
    assert none.stderr == "error: no default remote\nhint: mlrepro remote default NAME\n"
    proj.ok("remote", "add", "a", "/tmp/a")
    proj.ok("remote", "add", "-d", "b", "s3://bucket/path")
    # one NAME<TAB>URL line a remote, "(default)" after the default
    assert proj.ok("remote", "list").stdout == "a\t/tmp/a\nb\ts3://bucket/path\t(default)\n"
    assert proj.ok("remote", "default").stdout == "b\n"
    proj.ok("remote", "default", "--unset")
    assert proj.ok("remote", "list").stdout == "a\t/tmp/a\nb\ts3://bucket/path\n"


def test_remote_modify_needs_a_known_remote_and_a_value(proj: Proj) -> None:
    unknown = proj.fails("remote", "modify", "nope", "region", "x")
    assert unknown.stderr == "error: no remote 'nope'\nhint: see `mlrepro remote list`\n"
    proj.ok("remote", "add", "s", "/tmp/s")
    no_value = proj.fails("remote", "modify", "s", "region", code=2)
    assert no_value.stderr.splitlines()[0] == "error: give a VALUE, or --unset"
    assert "remote.s.region" not in proj.ok("config", "--list").stdout
