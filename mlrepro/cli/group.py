"""The Click group every mlrepro command group uses: whole descriptions in its help,
and an unknown subcommand reported in the tool's own ``error:``/``hint:`` form.

Click's own listing shortens each description to the room left on the line
(``Fetch a remote's audit log and join it with this clone's...``) and stops at a
period that looks like a sentence end (``e.g.``); the reader then has to open each
command's help to learn what it does. Here the listing shows the whole first
paragraph of each command's help, wrapped by Click's formatter (issue 14).

An unknown command is a usage error (exit 2) like Click's, but printed as every
other error of the tool, naming the closest commands instead of Click's usage block.
"""

from __future__ import annotations

import click

from mlrepro.errors import UsageError


def summary(command: click.Command) -> str:
    """A command's description for a listing: its ``short_help``, or else the whole
    first paragraph of its help with whitespace collapsed, never shortened."""
    text = command.short_help or command.help or ""
    words = text.split("\n\n", 1)[0].split()
    if words and words[0] == "\b":  # Click's "do not rewrap" marker
        words = words[1:]
    return " ".join(words)


def unknown_command(ctx: click.Context, name: str, known: list[str]) -> UsageError:
    """``error: unknown command 'audit verfy'`` with the closest names as the hint."""
    import difflib  # here, not at the top: only an unknown command pays for it, not --version

    # the words typed after the program's name to reach this group, to name it whole
    words: list[str] = []
    root = ctx
    while root.parent is not None:
        words.insert(0, root.info_name or "")
        root = root.parent
    prefix = "".join(f"{w} " for w in words)
    close = [f"'{prefix}{c}'" for c in difflib.get_close_matches(name, known, n=3)]
    if len(close) > 1:
        hint = f"did you mean {', '.join(close[:-1])} or {close[-1]}?"
    elif close:
        hint = f"did you mean {close[0]}?"
    else:
        hint = f"run '{root.info_name} {prefix}--help' for the commands"
    return UsageError(f"unknown command '{prefix}{name}'", hint=hint)


class Group(click.Group):
    """A command group: ``@click.group(cls=Group)``."""

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, summary(command)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0]
        # an option in the command's place (`mlrepro audit --bogus`) and shell completion
        # keep Click's own handling
        if ctx.resilient_parsing or name.startswith("-") or self.get_command(ctx, name):
            return super().resolve_command(ctx, args)
        raise unknown_command(ctx, name, self.list_commands(ctx))
