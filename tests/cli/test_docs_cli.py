"""docs/cli.md against the commands themselves (issue 16): every command has a section,
and every option its ``--help`` lists is named in that section, so the reference cannot
fall behind the code without a test failing."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from mlrepro.cli.main import cli

DOC = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def leaves(
    group: click.Group, ctx: click.Context, path: tuple[str, ...] = ()
) -> list[tuple[tuple[str, ...], click.Command]]:
    """Every command that runs something, by its words after ``mlrepro``."""
    found = []
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None, name
        if command.hidden:
            continue
        if isinstance(command, click.Group):
            found += leaves(command, ctx, (*path, name))
        else:
            found.append(((*path, name), command))
    return found


def sections() -> dict[str, str]:
    """docs/cli.md's sections: heading -> text up to the next heading of its level."""
    text = DOC.read_text(encoding="utf-8")
    parts = re.split(r"^## ", text, flags=re.MULTILINE)[1:]
    return {p.split("\n", 1)[0]: p for p in parts}


def section_for(words: tuple[str, ...]) -> str:
    """The text of the sections whose heading names the command: ``mlrepro audit
    verify``, or a group's subcommands listed as ``mlrepro remote add|modify|...``."""
    *parent, last = words
    prefix = " ".join(("mlrepro", *parent))
    texts = []
    for heading, text in sections().items():
        for mention in re.findall(r"`(mlrepro [^`]*)`", heading):
            if mention.startswith(prefix + " ") or mention == prefix:
                rest = mention[len(prefix) :].split()
                named = rest[0].split("|") if rest else []
                if last in named or (not parent and mention.split()[1:2] == [last]):
                    texts.append(text)
    return "\n".join(texts)


CTX = click.Context(cli)
COMMANDS = leaves(cli, CTX)


def test_every_command_is_found() -> None:
    names = {" ".join(w) for w, _ in COMMANDS}
    assert {"repro", "status", "audit verify", "cache verify", "remote add"} <= names


@pytest.mark.parametrize("words,command", COMMANDS, ids=[" ".join(w) for w, _ in COMMANDS])
def test_every_command_and_option_is_documented(
    words: tuple[str, ...], command: click.Command
) -> None:
    text = section_for(words)
    assert text, f"docs/cli.md has no section for `mlrepro {' '.join(words)}`"
    missing = []
    for param in command.params:
        if not isinstance(param, click.Option) or param.hidden or "--help" in param.opts:
            continue
        flags = [*param.opts, *param.secondary_opts]
        if not any(re.search(rf"(?<![\w-]){re.escape(f)}(?![\w-])", text) for f in flags):
            missing.append("/".join(flags))
    assert not missing, f"`mlrepro {' '.join(words)}`: docs/cli.md does not name {missing}"
