"""Matching as git does (``mlrepro.spec.gitmatch``), against git itself (issue 15).

``.gitignore`` files are what git says they are: git is the oracle, over generated
trees of hostile names (spaces, tabs, CR, form feed, ``#``, ``!``, glob characters,
backslashes, bytes that are not UTF-8) and generated lines; each example below is a
behaviour of git's that the reader before issue 15 lacked.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlrepro.spec.gitmatch import git_rules_match, parse_gitignore
from tests.spec.gittrees import Tree, check_against_git, isolated, tree_of

# -- examples: each a behaviour of git's that the reader before issue 15 lacked --------

EXAMPLES: list[tuple[bytes, list[str]]] = [
    (b"/b\rc\n", ["b/x", "b\rc", "c"]),  # the line mlrepro writes for an output "b\rc"
    (b"a\x0cb\n", ["a", "b", "a\x0cb"]),  # a form feed is part of the pattern
    (b"a\r\r\n", ["a", "a\r"]),  # one CR dropped (CRLF files), and only one
    (b"a\r \n", ["a", "a\r", "a\r "]),  # CR kept: it does not end the line
    (b"a\\ \n", ["a", "a "]),  # an escaped trailing space stays
    (b"a\\  \n", ["a", "a ", "a  "]),  # ... the spaces after it do not
    (b" a\n", ["a", " a"]),  # leading spaces are part of the pattern
    (b"\xef\xbb\xbfa\n", ["a"]),  # a byte order mark is skipped
    (b"a\\\n", ["a", "a\\"]),  # a trailing lone backslash matches nothing, no error
    (b"[z-a]\n", ["a", "m", "z"]),  # a reversed range: only its first character
    (b"[\\]]\n", ["]", "\\"]),  # a backslash escapes inside brackets
    (b"[[:space:]]x\n", [" x", "\tx", "\x0cx"]),  # git's space: no form feed
    (b"caf?\n", ["caf\udce9", "caf\u00e9"]),  # ? is one byte
    (b"caf??\n", ["caf\udce9", "caf\u00e9"]),
    (b"caf\xe9\n", ["caf\udce9", "caf\u00e9"]),  # a name that is not UTF-8
    (b"ab**/c\n", ["ab/c", "abc", "abx/y/c"]),  # git's literal prefix, then **
    (b"**\\/b\n", ["b", "x/b"]),
    (b"a\x00b\n", ["a", "ab"]),
]


@pytest.mark.parametrize(("data", "paths"), EXAMPLES, ids=[repr(e[0]) for e in EXAMPLES])
def test_gitignore_examples_match_git(tmp_path: Path, data: bytes, paths: list[str]) -> None:
    with isolated(tmp_path / "home"):
        check_against_git(tmp_path / "repo", tree_of(paths), {"": data})


# -- generated trees and lines -------------------------------------------------------

_CHARS = [" ", "\t", "\r", "\x0c", "#", "!", "*", "?", "[", "]", "\\", "-", "^", ":", "a", "b"]
_CHARS += ["é", "\udce9", "\udcff"]
_NAME = (
    st.lists(st.sampled_from([*_CHARS, "\n"]), min_size=1, max_size=4)
    .map("".join)
    .filter(lambda n: n not in (".", "..") and n != "dvc.yaml")
)
_TREE: st.SearchStrategy[Tree] = st.dictionaries(
    _NAME,
    st.recursive(
        st.none(), lambda inner: st.dictionaries(_NAME, inner, min_size=1, max_size=3), max_leaves=5
    ),
    min_size=1,
    max_size=4,
)

_PIECES = st.sampled_from(
    [*_CHARS, "/", "**", "[a-z]", "[!a]", "[[:alpha:]]", "[^ ]", "\\ ", "[]-a]", "[[:a]", "\\/"]
)
_RANDOM_LINE = st.lists(_PIECES, max_size=6).map("".join)


def _paths(tree: Tree, prefix: str = "") -> Iterator[str]:
    for name, child in tree.items():
        yield prefix + name
        if child is not None:
            yield from _paths(child, f"{prefix}{name}/")


@st.composite
def _glob_of(draw: st.DrawFn, path: str) -> str:
    """A pattern made from a path of the tree: each character kept, escaped or
    turned into a wildcard that matches it (or does not)."""
    out = []
    for ch in path:
        how = draw(st.sampled_from(["keep"] * 4 + ["?", "*", "class", "escape", "**"]))
        if ch == "/" or how == "keep":
            out.append(ch)
        elif how == "class":
            out.append(f"[{ch}]")
        elif how == "escape":
            out.append("\\" + ch)
        else:
            out.append(how)
    return "".join(out)


@st.composite
def _line(draw: st.DrawFn, tree: Tree) -> str:
    if draw(st.booleans()):
        return draw(_RANDOM_LINE)
    path = draw(st.sampled_from(sorted(_paths(tree))))
    head = draw(st.sampled_from(["", "!", "/", "**/", "#"]))
    tail = draw(st.sampled_from(["", "/", " ", "  ", "\r", "\\ ", "/**"]))
    return (head + draw(_glob_of(path)) + tail).replace("\n", "?")


@st.composite
def _ignores(draw: st.DrawFn, tree: Tree) -> dict[str, bytes]:
    """A .gitignore at the root and perhaps in one folder, lines ending LF or CRLF."""
    folders = [""] + [name for name, child in tree.items() if child is not None]
    chosen = draw(st.lists(st.sampled_from(folders), min_size=1, max_size=2, unique=True))
    out = {}
    for folder in chosen:
        sub = tree[folder] if folder else tree
        lines = draw(st.lists(_line(sub), min_size=1, max_size=5))
        end = draw(st.sampled_from(["\n", "\r\n"]))
        text = end.join(lines) + draw(st.sampled_from([end, ""]))
        bom = draw(st.sampled_from([b"", b"\xef\xbb\xbf"]))
        out[folder] = bom + os.fsencode(text)
    return out


@pytest.mark.slow  # ~10 s: a git repository and `git status` per example
@given(st.data())
@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_the_walk_ignores_exactly_what_git_ignores(
    tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    tree = data.draw(_TREE)
    ignores = data.draw(_ignores(tree))
    root = tmp_path_factory.mktemp("walk")
    with isolated(root / "home"):
        check_against_git(root / "repo", tree, ignores)


# -- the everyday rules, each checked against git ------------------------------------

EVERYDAY: list[tuple[bytes, list[str]]] = [
    (b"*.log\n!keep.log\n", ["a.log", "keep.log", "d/b.log", "d/keep.log", "x.txt"]),
    (b"/top\n", ["top", "d/top"]),  # anchored by a leading slash
    (b"d/x\n", ["d/x", "e/d/x", "x"]),  # anchored by an inner slash
    (b"build/\n", ["build/o", "src/build/o", "buildx"]),  # folders only, at any depth
    (b"**/cache\n", ["cache", "a/cache", "a/b/cache/f"]),
    (b"logs/**\n", ["logs/a", "logs/b/c", "logslike"]),
    (b"a/**/z\n", ["a/z", "a/b/z", "a/b/c/z", "b/a/z"]),
    (b"# comment\n\n\\#hash\n", ["# comment", "#hash"]),
    (b"\\!bang\n", ["!bang", "bang"]),
    (b"[a-c]?.csv\n[!x]\n", ["ab.csv", "dz.csv", "y", "x"]),
    (b"d/\n!d/keep\n", ["d/keep", "d/other"]),  # a file in an ignored folder stays ignored
]


@pytest.mark.parametrize(("data", "paths"), EVERYDAY, ids=[repr(e[0]) for e in EVERYDAY])
def test_everyday_patterns_match_git(tmp_path: Path, data: bytes, paths: list[str]) -> None:
    with isolated(tmp_path / "home"):
        check_against_git(tmp_path / "repo", tree_of(paths), {"": data})


def test_parse_gitignore_reads_rules_as_git_does() -> None:
    data = b"# c\n\n!keep\nout/\n/anchored\n  \n[unclosed\nx\\\n[[:nope:]]\n"
    rules = parse_gitignore(data)
    # a comment, a blank line, a line of spaces and the patterns git cannot read (an
    # unclosed "[", a trailing lone backslash, an unknown class) give no rule, no error
    assert [(r.negate, r.dir_only, r.basename) for r in rules] == [
        (True, False, True),
        (False, True, True),
        (False, False, False),
    ]
    names = ["keep", "out", "anchored"]
    assert all(r.regex.match(n) for r, n in zip(rules, names, strict=True))


@pytest.mark.parametrize(
    ("lines", "path", "is_dir", "verdict"),
    [
        (b"*.log\n", "a/b.log", False, True),
        (b"*.log\n!b.log\n", "a/b.log", False, False),
        (b"!b.log\n*.log\n", "b.log", False, True),  # the last matching rule wins
        (b"out/\n", "out", False, None),  # folders only
        (b"out/\n", "out", True, True),
        (b"a/b\n", "x/a/b", False, None),  # anchored
        (b"a/**\n", "a", True, None),  # "a/**" is what is inside a/, not a/ itself
        (b"a/**\n", "a/b/c", False, True),
        (b"?\n", "\u00e9", False, None),  # "?" is one byte; "é" is two
        (b"??\n", "\u00e9", False, True),
        (b"", "anything", False, None),
    ],
)
def test_git_rules_match(lines: bytes, path: str, is_dir: bool, verdict: bool | None) -> None:
    assert git_rules_match(parse_gitignore(lines), path, is_dir) is verdict
