"""The walk's ignore files against the tools it follows (issue 15).

``.gitignore`` files are what git says they are: git itself is the oracle, over
generated trees of hostile names (spaces, tabs, CR, form feed, ``#``, ``!``, glob
characters, backslashes, bytes that are not UTF-8) and generated lines. ``.dvcignore``
files are what DVC says they are: its own reader is the oracle.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from mlrepro.errors import PipelineError
from mlrepro.spec.discover import walk_pipeline_files
from mlrepro.spec.ignore import gitignore, parse_patterns, rules_match
from tests.ops.conftest import git_env

Tree = dict[str, Any]  # name -> None (a file) or a Tree (a folder)


@contextmanager
def isolated(home: Path) -> Iterator[None]:
    """No global excludes file of this machine, for git and for mlrepro alike."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HOME", str(home))
        mp.setenv("XDG_CONFIG_HOME", str(home / ".config"))
        yield


def build(root: Path, tree: Tree, ignores: dict[str, bytes]) -> None:
    """A git work tree holding ``tree`` (a dvc.yaml in every folder) and the .gitignore
    files ``ignores`` (folder -> bytes)."""
    subprocess.run(["git", "init", "-q", str(root)], check=True, env=git_env())

    def write(base: bytes, sub: Tree) -> None:
        os.makedirs(base, exist_ok=True)
        with open(os.path.join(base, b"dvc.yaml"), "wb") as f:
            f.write(b"stages: {}\n")
        for name, child in sub.items():
            path = os.path.join(base, os.fsencode(name))
            if child is None:
                with open(path, "wb") as f:
                    f.write(b"x")
            else:
                write(path, child)

    write(os.fsencode(root), tree)
    for folder, data in ignores.items():
        with open(os.path.join(os.fsencode(root / folder), b".gitignore"), "wb") as f:
            f.write(data)


def every_file(root: Path) -> set[bytes]:
    base = os.fsencode(root)
    found: set[bytes] = set()
    for dirpath, dirs, names in os.walk(base):
        dirs[:] = [d for d in dirs if d != b".git"]
        found.update(os.path.relpath(os.path.join(dirpath, n), base) for n in names)
    return found


def ignored_by_git(root: Path) -> set[bytes]:
    """The files git reports as ignored, one by one (inside ignored folders too)."""
    out = subprocess.run(
        ["git", "status", "--porcelain", "--ignored=traditional", "-uall", "-z"],
        cwd=root,
        capture_output=True,
        check=True,
        env=git_env(),
    ).stdout
    return {rec[3:] for rec in out.split(b"\0") if rec.startswith(b"!! ")}


def check_against_git(root: Path, tree: Tree, ignores: dict[str, bytes]) -> None:
    build(root, tree, ignores)
    expected = ignored_by_git(root)
    files = every_file(root)
    rules = gitignore(str(root))
    got = {f for f in files if rules.path_ignored(os.fsdecode(f), is_dir=False)}
    assert got == expected, (ignores, sorted(got ^ expected))
    # the pipeline walk finds exactly the dvc.yaml files git does not ignore
    walked = walk_pipeline_files(str(root), lambda rel: [])
    wanted = {f for f in files - expected if os.path.basename(f) == b"dvc.yaml"}
    assert {os.fsencode(w) for w in walked} == wanted, ignores


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


def tree_of(paths: list[str]) -> Tree:
    tree: Tree = {}
    for p in paths:
        *folders, name = p.split("/")
        node = tree
        for folder in folders:
            node = node.setdefault(folder, {})
        node[name] = None
    return tree


@pytest.mark.parametrize(("data", "paths"), EXAMPLES, ids=[repr(e[0]) for e in EXAMPLES])
def test_gitignore_examples_match_git(tmp_path: Path, data: bytes, paths: list[str]) -> None:
    with isolated(tmp_path / "home"):
        check_against_git(tmp_path / "repo", tree_of(paths), {"": data})


def test_a_line_with_a_cr_hides_the_output_and_not_the_folder(tmp_path: Path) -> None:
    """Before issue 15's reader, ``/b<CR>c`` was two lines, and the walk skipped ``b/``."""
    with isolated(tmp_path / "home"):
        build(tmp_path / "repo", {"b": {}, "b\rc": None}, {"": b"/b\rc\n"})
        assert sorted(walk_pipeline_files(str(tmp_path / "repo"), lambda rel: [])) == [
            "b/dvc.yaml",
            "dvc.yaml",
        ]


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


def test_the_exclude_file_is_read_as_git_reads_it(tmp_path: Path) -> None:
    with isolated(tmp_path / "home"):
        root = tmp_path / "repo"
        build(root, tree_of(["a", "a\x0cb", "b", "c "]), {})
        (root / ".git/info/exclude").write_bytes(b"a\x0cb\r\nc\\ \n")
        check_against_git(root, tree_of(["a", "a\x0cb", "b", "c "]), {})


# -- .dvcignore: as DVC reads it --------------------------------------------------------

_DVC_LINE = st.lists(
    st.sampled_from(["a", "b", "*", "/", " ", "\t", "\x0c", "\x0b", "\x1c", "\x85", "\u2028", "#"]),
    max_size=5,
).map("".join)


@given(
    st.lists(_DVC_LINE, min_size=1, max_size=4),
    st.sampled_from(["\n", "\r\n", "\r"]),
    st.lists(
        st.sampled_from(["a", "b", "a\x0cb", "a\x85b", "a\u2028b", "b\x1c", "ab"]), min_size=1
    ),
)
@example(["a\x0cb"], "\n", ["a", "b", "a\x0cb"])  # a form feed does not end a line
@example(["a\u2028b"], "\n", ["a", "b", "a\u2028b"])
@settings(max_examples=200, deadline=None)
def test_dvcignore_lines_are_read_as_dvc_reads_them(
    tmp_path_factory: pytest.TempPathFactory, lines: list[str], end: str, names: list[str]
) -> None:
    from dvc.fs import LocalFileSystem
    from dvc.ignore import DvcIgnorePatterns

    folder = tmp_path_factory.mktemp("dvcignore")
    data = end.join(lines).encode()
    (folder / ".dvcignore").write_bytes(data)
    try:
        spec = DvcIgnorePatterns.from_file(
            str(folder / ".dvcignore"), LocalFileSystem(), ".dvcignore"
        )
    except ValueError:
        return  # DVC refuses the pattern; test_loader_unit covers those
    rules = parse_patterns(data.decode("utf-8", "surrogateescape"))
    for name in names:
        expected = spec.matches(str(folder), name, False)
        assert (rules_match(rules, name, False) is True) == expected, (lines, end, name)


def test_a_dvcignore_pattern_python_cannot_compile_is_an_error_naming_its_line() -> None:
    """DVC fails on a reversed range too (its regex does not compile); mlrepro says where."""
    with pytest.raises(PipelineError, match=r"^\.dvcignore:2: invalid pattern '\[z-a\]'"):
        parse_patterns("ok\n[z-a]\n")
