"""``mlrepro metrics show|diff|history`` and ``mlrepro params diff`` (DVC's flags and
shapes).

``metrics history`` imports its use case and renderer when it runs: they bring GitPython
and the chart code (60-70 ms), which ``metrics show``, ``metrics diff``, ``params diff``
and the groups' ``--help`` do not need.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import click

from mlrepro.cli.common import project_at
from mlrepro.cli.group import Group
from mlrepro.errors import UsageError
from mlrepro.ops.metrics import RevisionValues, compare, read_metrics, read_params, read_warnings
from mlrepro.render import metrics as render
from mlrepro.snapshot.revisions import WORKSPACE, Revision, Revisions


@contextlib.contextmanager
def _revisions_here() -> Iterator[Revisions]:
    """The revisions of the git work tree here (an mlrepro project or not), closed after."""
    with project_at(require_init=False) as project, Revisions.of(project) as revs:
        yield revs


def _warn(results: list[RevisionValues], *, grouped: bool = False) -> None:
    for line in read_warnings(results, grouped=grouped):
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
    with _revisions_here() as revs:
        many = all_branches or all_tags or all_commits
        results = [
            read_metrics(revs, rev, targets)
            for rev in _revisions(revs, all_branches, all_tags, all_commits)
        ]
        if many:
            results = _hide_clean_workspace(revs, results)
    _warn(results, grouped=many)
    if as_json:
        click.echo(render.show_json(results, with_revision=many))
    else:
        click.echo(
            render.show_table(
                results, with_revision=many, md=md, precision=precision or render.DEFAULT_PRECISION
            ),
            nl=False,
        )


def _revisions(revs: Revisions, branches: bool, tags: bool, commits: bool) -> list[Revision]:
    """The workspace, then branches, tags or all commits; one per commit, names joined."""
    found = [revs.revision(None)]
    if not (branches or tags or commits):
        return found
    labels: dict[str, list[str]] = {}
    if commits:
        for sha in revs.git.all_commits():
            labels.setdefault(sha, []).append(sha)
    else:
        kinds = (["heads"] if branches else []) + (["tags"] if tags else [])
        for kind in kinds:
            for name, sha in revs.git.refs(kind):
                labels.setdefault(sha, []).append(name)
    found += [Revision(",".join(names), sha) for sha, names in labels.items()]
    return found


def _hide_clean_workspace(revs: Revisions, results: list[RevisionValues]) -> list[RevisionValues]:
    """As DVC: the workspace row goes when it equals the active branch's."""
    active = revs.git.active_branch()
    if active is None:
        return results
    branch = next((r for r in results[1:] if active in r.rev.label.split(",")), None)
    ws = results[0]
    if branch is not None and branch.files == ws.files and not ws.errors and not branch.errors:
        return results[1:]
    return results


def _pair(revs: Revisions, a_rev: str | None, b_rev: str | None) -> tuple[Revision, Revision]:
    return revs.revision(a_rev or "HEAD"), revs.revision(b_rev or WORKSPACE)


def _print_diff(
    old: RevisionValues,
    new: RevisionValues,
    a: Revision,
    b: Revision,
    kind: str,
    all_keys: bool,
    as_json: bool,
    md: bool,
    no_path: bool,
    precision: int | None,
) -> None:
    """What `metrics diff` and `params diff` print: DVC's JSON, or its table."""
    _warn([old, new])
    deltas = compare(old, new, all_keys=all_keys)
    if as_json:
        click.echo(render.diff_json(deltas))
        return
    table = render.diff_table(
        deltas, a.label, b.label, kind=kind, md=md, no_path=no_path, precision=precision
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
    with _revisions_here() as revs:
        a, b = _pair(revs, a_rev, b_rev)
        old, new = read_metrics(revs, a, targets), read_metrics(revs, b, targets)
    _print_diff(
        old,
        new,
        a,
        b,
        "Metric",
        all_keys,
        as_json,
        md,
        no_path,
        precision or render.DEFAULT_PRECISION,
    )


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
    with _revisions_here() as revs:
        a, b = _pair(revs, a_rev, b_rev)
        old = read_params(revs, a, deps_only=deps, targets=targets)
        new = read_params(revs, b, deps_only=deps, targets=targets)
    _print_diff(old, new, a, b, "Param", all_keys, as_json, md, no_path, None)


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
    with _revisions_here() as revs:
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
