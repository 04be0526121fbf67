"""``mlrepro metrics show|diff|history`` and ``mlrepro params diff`` (DVC's flags and
shapes).

``metrics history`` imports its use case and renderer when it runs: they bring GitPython
and the chart code (60-70 ms), which ``metrics show``, ``metrics diff``, ``params diff``
and the groups' ``--help`` do not need.
"""

from __future__ import annotations

from collections.abc import Sequence

import click

from mlrepro.cli.common import project_at
from mlrepro.cli.group import Group
from mlrepro.errors import UsageError
from mlrepro.ops import metrics as metrics_ops
from mlrepro.ops import params as params_ops
from mlrepro.render import metrics as render
from mlrepro.snapshot.revisions import Revisions


def _warn(lines: Sequence[str]) -> None:
    for line in lines:
        click.echo(f"warning: {line}", err=True)


precision_option = click.option(
    "--precision",
    type=int,
    default=None,
    help="Round floats in tables to this many decimal places (default 5).",
)


@click.group(cls=Group)
def metrics() -> None:
    """Show and compare metrics (DVC's `metrics show` and `metrics diff`)."""


@metrics.command()
@click.argument("targets", nargs=-1)
@click.option("-a", "--all-branches", is_flag=True, help="Show every branch too.")
@click.option("-T", "--all-tags", is_flag=True, help="Show every tag too.")
@click.option("-A", "--all-commits", is_flag=True, help="Show every commit too.")
@click.option("--json", "as_json", is_flag=True, help="JSON, in DVC's shape.")
@click.option("--md", is_flag=True, help="A Markdown table.")
@precision_option
def show(
    targets: tuple[str, ...],
    all_branches: bool,
    all_tags: bool,
    all_commits: bool,
    as_json: bool,
    md: bool,
    precision: int | None,
) -> None:
    """Show the metrics of the workspace (and of branches, tags or commits)."""
    with project_at(require_init=False) as project:
        shown = metrics_ops.metrics_show(
            project,
            targets,
            all_branches=all_branches,
            all_tags=all_tags,
            all_commits=all_commits,
        )
    _warn(shown.warnings)
    if as_json:
        click.echo(render.show_json(shown.revisions, with_revision=shown.many))
    else:
        click.echo(
            render.show_table(
                shown.revisions,
                with_revision=shown.many,
                md=md,
                precision=precision or render.DEFAULT_PRECISION,
            ),
            nl=False,
        )


def _print_diff(
    result: metrics_ops.MetricsDiff | params_ops.ParamsDiff,
    kind: str,
    as_json: bool,
    md: bool,
    no_path: bool,
    precision: int | None,
) -> None:
    """What `metrics diff` and `params diff` print: DVC's JSON, or its table."""
    _warn(result.warnings)
    if as_json:
        click.echo(render.diff_json(result.deltas))
        return
    table = render.diff_table(
        result.deltas,
        result.old.rev.label,
        result.new.rev.label,
        kind=kind,
        md=md,
        no_path=no_path,
        precision=precision,
    )
    click.echo(table, nl=False)


@metrics.command("diff")
@click.argument("a_rev", required=False)
@click.argument("b_rev", required=False)
@click.option("--targets", multiple=True, help="Only these metrics files (repeatable).")
@click.option("--all", "all_keys", is_flag=True, help="Show unchanged metrics too.")
@click.option("--json", "as_json", is_flag=True, help="JSON, in DVC's shape.")
@click.option("--md", is_flag=True, help="A Markdown table.")
@click.option("--no-path", is_flag=True, help="Leave out the Path column.")
@precision_option
def metrics_diff(
    a_rev: str | None,
    b_rev: str | None,
    targets: tuple[str, ...],
    all_keys: bool,
    as_json: bool,
    md: bool,
    no_path: bool,
    precision: int | None,
) -> None:
    """Compare metrics between A_REV (default HEAD) and B_REV (default the workspace)."""
    with project_at(require_init=False) as project:
        result = metrics_ops.metrics_diff(project, a_rev, b_rev, targets=targets, all_keys=all_keys)
    _print_diff(result, "Metric", as_json, md, no_path, precision or render.DEFAULT_PRECISION)


@click.group(cls=Group)
def params() -> None:
    """Compare params (DVC's `params diff`)."""


@params.command("diff")
@click.argument("a_rev", required=False)
@click.argument("b_rev", required=False)
@click.option("--targets", multiple=True, help="Only these params files (repeatable).")
@click.option("--all", "all_keys", is_flag=True, help="Show unchanged params too.")
@click.option("--deps", is_flag=True, help="Only params that stages depend on.")
@click.option("--json", "as_json", is_flag=True, help="JSON, in DVC's shape.")
@click.option("--md", is_flag=True, help="A Markdown table.")
@click.option("--no-path", is_flag=True, help="Leave out the Path column.")
def params_diff(
    a_rev: str | None,
    b_rev: str | None,
    targets: tuple[str, ...],
    all_keys: bool,
    deps: bool,
    as_json: bool,
    md: bool,
    no_path: bool,
) -> None:
    """Compare params between A_REV (default HEAD) and B_REV (default the workspace)."""
    with project_at(require_init=False) as project:
        result = params_ops.params_diff(
            project, a_rev, b_rev, targets=targets, all_keys=all_keys, deps_only=deps
        )
    _print_diff(result, "Param", as_json, md, no_path, None)


@metrics.command()
@click.argument("names", nargs=-1)
@click.option("-n", "limit", type=int, default=None, help="Look at the last N commits only.")
@click.option("--rev-range", default="HEAD", show_default=True, help="A revision or A..B.")
@click.option("--json", "fmt", flag_value="json", help="Versioned JSON.")
@click.option("--csv", "fmt", flag_value="csv", help="CSV, one row per commit.")
@click.option(
    "--plot",
    type=click.Path(dir_okay=False, writable=True),
    help="Also write a line chart (.svg or .png).",
)
@precision_option
def history(
    names: tuple[str, ...],
    limit: int | None,
    rev_range: str,
    fmt: str | None,
    plot: str | None,
    precision: int | None,
) -> None:
    """One row per commit that changed the metrics (NAMES: only these metrics)."""
    from mlrepro.ops.history import metrics_history
    from mlrepro.render import history as render_history

    if plot is not None and not plot.lower().endswith((".svg", ".png")):
        raise UsageError(f"--plot {plot}: the chart is written as .svg or .png")
    with project_at(require_init=False) as project, Revisions.of(project) as revs:
        result = metrics_history(revs, rev_range=rev_range, limit=limit, wanted=names)
    for note in result.notes:
        click.echo(f"warning: {note}", err=True)
    if fmt == "json":
        click.echo(render_history.to_json(result))
    elif fmt == "csv":
        click.echo(render_history.to_csv(result), nl=False)
    else:
        click.echo(render_history.to_text(result, precision or render.DEFAULT_PRECISION), nl=False)
    if plot is not None:
        render_history.write_plot(result, plot)
        click.echo(f"wrote {plot}", err=True)
