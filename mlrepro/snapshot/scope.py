"""Which commits a command that works across history reads: the tips of branches and
tags, every commit, or named revisions (``gc``, ``push``, ``fetch``, ``pull``)."""

from __future__ import annotations

from collections.abc import Iterable

from mlrepro.git.api import GitReader


def commits_in_scope(
    git: GitReader,
    all_branches: bool = False,
    all_tags: bool = False,
    all_commits: bool = False,
    revs: Iterable[str] = (),
) -> list[str]:
    """The full ids of the commits asked for, each once, in the order asked."""
    if all_commits:
        commits = git.all_commits()
    else:
        commits = []
        if all_branches:
            commits += [sha for _, sha in git.refs("heads")]
        if all_tags:
            commits += [sha for _, sha in git.refs("tags")]
    commits += [git.resolve(rev) for rev in revs]
    return list(dict.fromkeys(commits))
