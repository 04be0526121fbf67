"""``.dvcignore`` and ``.gitignore`` files (``mlrepro.spec.ignore``), read as the tools do.

``.dvcignore`` files are what DVC says they are: its own reader and matcher
(``dvc.ignore.DvcIgnorePatterns``) are the oracle, called on the same generated
patterns, lines and paths. The git side (``.gitignore``, ``.git/info/exclude``) is
checked against git itself, here for the exclude file and in ``test_gitmatch`` for
the rules.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from mlrepro.errors import PipelineError
from mlrepro.spec.ignore import (
    DEFAULT_DVCIGNORE,
    dvcignore,
    gitignore,
    parse_patterns,
    rules_match,
)
from tests.spec.gittrees import build, check_against_git, isolated, tree_of


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
        return  # DVC refuses the pattern; test_dvcignore_patterns_match_like_dvc covers those
    rules = parse_patterns(data.decode("utf-8", "surrogateescape"))
    for name in names:
        expected = spec.matches(str(folder), name, False)
        assert (rules_match(rules, name, False) is True) == expected, (lines, end, name)


def test_a_dvcignore_pattern_python_cannot_compile_is_an_error_naming_its_line() -> None:
    """DVC fails on a reversed range too (its regex does not compile); mlrepro says where."""
    with pytest.raises(PipelineError, match=r"^\.dvcignore:2: invalid pattern '\[z-a\]'"):
        parse_patterns("ok\n[z-a]\n")


segments = st.sampled_from(["a", "b", "data", "x.csv", "y.txt", "deep", "dvc.yaml"])
rel_paths = st.lists(segments, min_size=1, max_size=4).map("/".join)
pattern_atoms = st.sampled_from(
    [
        "a",
        "b",
        "data",
        "*",
        "*.csv",
        "?",
        "**",
        "x.*",
        "[ab]",
        "deep",
        "dvc.yaml",
        "[!a]",
        "[a",
        "d*a",
        "\\*",
        "",
    ]
)
patterns = st.builds(
    lambda neg, lead, parts, trail: (
        ("!" if neg else "") + ("/" if lead else "") + "/".join(parts) + ("/" if trail else "")
    ),
    st.booleans(),
    st.booleans(),
    st.lists(pattern_atoms, min_size=1, max_size=3),
    st.booleans(),
)


@given(st.lists(patterns, min_size=1, max_size=4), rel_paths, st.booleans())
@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow])
def test_dvcignore_patterns_match_like_dvc(pats: list[str], path: str, is_dir: bool) -> None:
    from dvc.ignore import DvcIgnorePatterns

    try:
        spec = DvcIgnorePatterns(pats, "/root", "/")
    except ValueError:
        # DVC refuses the file; so does mlrepro, naming the line.
        with pytest.raises(PipelineError, match=r"\.dvcignore:\d+"):
            parse_patterns("\n".join(pats))
        return
    # Walking prunes ignored folders, so a path is only ever asked about
    # when none of its parent folders is ignored.
    parts = path.split("/")
    assume(not any(spec.matches("/root", "/".join(parts[:i]), True) for i in range(1, len(parts))))
    expected = spec.matches("/root", path, is_dir)
    got = rules_match(parse_patterns("\n".join(pats)), path, is_dir) is True
    assert got == expected, (pats, path, is_dir)


# -- .dvcignore files in every folder, as DVC's DvcIgnoreFilter reads a tree ---------------

TREE_FILES = ["a", "b.log", "c.tmp", "sub/a", "sub/b.log", "sub/deep/a", "sub/deep/c.tmp"]
TREE_FILES += ["sub/x/a", "x/a", "other/b.log", "other/deep/a"]
TREE_DIRS = ["sub", "sub/deep", "sub/x", "x", "other", "other/deep"]
_IGNORE_LINES = st.sampled_from(
    [
        "a", "*.log", "!b.log", "/a", "deep/", "x/", "/x", "**/a", "deep/a", "c.*", "!c.tmp",
        "!deep", "sub", "!sub/deep", "other/", "*", "!*.log", "# c", "",
    ]
)  # fmt: skip


@given(
    st.fixed_dictionaries(
        {},
        optional={
            folder: st.lists(_IGNORE_LINES, min_size=1, max_size=4)
            for folder in ["", "sub", "sub/deep", "other"]
        },
    )
)
@settings(max_examples=60, deadline=None)
def test_dvcignore_files_in_a_tree_are_read_as_dvc_reads_them(
    tmp_path_factory: pytest.TempPathFactory, ignores: dict[str, list[str]]
) -> None:
    from dvc.fs import LocalFileSystem
    from dvc.ignore import DvcIgnoreFilter

    root = tmp_path_factory.mktemp("tree")
    for rel in TREE_DIRS:
        (root / rel).mkdir(parents=True, exist_ok=True)
    for rel in TREE_FILES:
        (root / rel).write_text("x")
    for folder, lines in ignores.items():
        (root / folder / ".dvcignore").write_text("\n".join(lines) + "\n")
    dvc = DvcIgnoreFilter(LocalFileSystem(), str(root))
    ours = dvcignore(str(root))

    def dvc_ignores(rel: str, is_dir: bool) -> bool:
        # DVC's walk prunes ignored folders: a path under one is never seen
        parts = rel.split("/")
        parents = ("/".join(parts[:i]) for i in range(1, len(parts)))
        if any(dvc.is_ignored_dir(str(root / p)) for p in parents):
            return True
        full = str(root / rel)
        return dvc.is_ignored_dir(full) if is_dir else dvc.is_ignored_file(full)

    for rel, is_dir in [(d, True) for d in TREE_DIRS] + [(f, False) for f in TREE_FILES]:
        assert ours.path_ignored(rel, is_dir) == dvc_ignores(rel, is_dir), (ignores, rel)


def test_dvc_folders_are_always_ignored(tmp_path: Path) -> None:
    tree = dvcignore(str(tmp_path))
    for rel, is_dir in [(".git", True), (".git", False), (".dvc", True), (".hg", True)]:
        assert tree.path_ignored(rel, is_dir), rel
    assert tree.path_ignored(".git/config", False)
    assert tree.path_ignored("sub/.git", True)  # at any depth, as in DVC
    assert not tree.path_ignored(".dvc", False)  # a file named .dvc is not the folder
    assert not tree.path_ignored(".gitignore", False)
    assert len(DEFAULT_DVCIGNORE) == 4


def test_an_invalid_pattern_in_a_deeper_file_names_that_file(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / ".dvcignore").write_text("ok\n\n[z-a]\n")
    with pytest.raises(PipelineError, match=r"^sub/\.dvcignore:3: invalid pattern"):
        dvcignore(str(tmp_path)).path_ignored("sub/file", False)


def test_a_dvcignore_name_that_is_not_utf8_is_kept_as_its_bytes(tmp_path: Path) -> None:
    (tmp_path / ".dvcignore").write_bytes(b"caf\xe9.csv\n")
    name = b"caf\xe9.csv".decode("utf-8", "surrogateescape")
    tree = dvcignore(str(tmp_path))
    assert tree.path_ignored(name, False)
    assert not tree.path_ignored("caf\u00e9.csv", False)


# -- git's exclude files -------------------------------------------------------------------


def test_the_global_excludes_file_is_read_as_git_reads_it(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with isolated(home):
        (home / ".config" / "git").mkdir(parents=True)
        (home / ".config" / "git" / "ignore").write_bytes(b"*.tmp\n!keep.tmp\n")
        paths = ["a.tmp", "keep.tmp", "d/b.tmp", "c.txt"]
        check_against_git(tmp_path / "repo", tree_of(paths), {"": b"c.txt\n"})


def test_core_excludesfile_of_the_repository_is_read_as_git_reads_it(tmp_path: Path) -> None:
    with isolated(tmp_path / "home"):
        root = tmp_path / "repo"
        paths = ["a.bak", "b.txt", "d/c.bak"]
        build(root, tree_of(paths), {})
        excludes = tmp_path / "my-excludes"
        excludes.write_bytes(b"*.bak\n")
        with open(root / ".git" / "config", "a") as f:
            f.write(f"[core]\n\texcludesFile = {excludes}\n")
        check_against_git(root, tree_of(paths), {})


def test_core_excludesfile_of_the_user_config(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with isolated(home):
        home.mkdir()
        (home / ".gitconfig").write_text('[core]\n    excludesfile = "~/global-ignore"\n')
        (home / "global-ignore").write_bytes(b"*.bak\n")
        root = tmp_path / "repo"
        build(root, tree_of(["a.bak", "b.txt"]), {})
        tree = gitignore(str(root))
        assert tree.path_ignored("a.bak", False)
        assert not tree.path_ignored("b.txt", False)


def test_a_git_file_points_at_the_exclude_file(tmp_path: Path) -> None:
    """A linked work tree or a submodule: ``.git`` is a file naming the git folder."""
    with isolated(tmp_path / "home"):
        gitdir = tmp_path / "gitdir"
        (gitdir / "info").mkdir(parents=True)
        (gitdir / "info" / "exclude").write_bytes(b"secret/\n")
        root = tmp_path / "tree"
        root.mkdir()
        (root / ".git").write_text("gitdir: ../gitdir\n")
        tree = gitignore(str(root))
        assert tree.path_ignored("secret", True)
        assert tree.path_ignored("secret/x", False)
        assert not tree.path_ignored("public/x", False)
