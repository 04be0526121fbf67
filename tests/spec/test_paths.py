"""Path rules for pipeline files (``mlrepro.spec.paths``).

A path written in a dvc.yaml, relative to its stage's folder, becomes one normalised,
root-relative form (the same file, however spelled, is one path); URLs and absolute
paths are kept as written; URL schemes are the ones DVC has file systems for.
"""

from __future__ import annotations

import posixpath

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from mlrepro.spec import paths

segments = st.sampled_from(["a", "b", "data", ".", "..", "", "x.csv", "é"])
rel_paths = (
    st.lists(segments, min_size=1, max_size=5)
    .map("/".join)
    .filter(lambda p: p and not p.startswith("/"))  # absolute paths are kept as written
)
bases = st.lists(st.sampled_from(["sub", "w", "a"]), max_size=3).map(
    lambda parts: "/".join(parts) or "."
)


@settings(max_examples=100)
@given(bases, rel_paths)
@example("sub", "./x//y/../z/")
@example(".", ".")
@example("sub", "..")
def test_join_rel_normalises(base: str, path: str) -> None:
    joined = paths.join_rel(base, path)
    assert joined == posixpath.normpath(posixpath.join(base, path))
    # one form: no "./" or "x/..", no doubled or trailing slash; "." is the root
    parts = joined.split("/")
    assert "" not in parts
    assert joined == "." or "." not in parts
    inner = parts[parts.count("..") :] if joined.startswith("..") else parts
    assert ".." not in inner
    # normalising again changes nothing
    assert paths.join_rel(".", joined) == joined


@pytest.mark.parametrize(
    ("base", "path", "expected"),
    [
        ("sub", "data.csv", "sub/data.csv"),
        ("sub", "../data.csv", "data.csv"),
        ("sub", "../../up", "../up"),
        (".", "./a//b/", "a/b"),
        ("sub", ".", "sub"),
        (".", "..", ".."),
        ("sub", "/abs//path/", "/abs//path/"),
        ("sub", "s3://bucket//k/./x", "s3://bucket//k/./x"),
        ("sub", "x:///p", "sub/x:/p"),  # no authority: a local path, as in DVC
    ],
)
def test_join_rel_examples(base: str, path: str, expected: str) -> None:
    assert paths.join_rel(base, path) == expected


@pytest.mark.parametrize(
    ("path", "url", "external"),
    [
        ("data.csv", False, False),
        ("/opt/data", False, True),
        ("s3://bucket/key", True, True),
        ("https://example.com", True, True),
        ("x:///p", True, False),
        ("a:b", False, False),
    ],
)
def test_urls_and_external_paths(path: str, url: bool, external: bool) -> None:
    assert paths.is_url(path) is url
    assert paths.is_external(path) is external


@pytest.mark.parametrize("scheme", sorted(paths.URL_SCHEMES))
def test_dvc_schemes_are_accepted(scheme: str) -> None:
    assert paths.url_problem(f"{scheme}://host/path") is None


def test_url_problems() -> None:
    assert paths.url_problem("data.csv") is None
    assert paths.url_problem("x:///local") is None
    remote = paths.url_problem("remote://store/x")
    assert remote is not None and "DVC remote" in remote
    ftp = paths.url_problem("ftp://host/x")
    assert ftp == "'ftp://host/x' has an unsupported URL scheme 'ftp://'"


def test_every_scheme_dvc_registers_is_known() -> None:
    """DVC's own table of schemes (its remote types) holds every scheme mlrepro accepts."""
    dvc_fs = pytest.importorskip("dvc.fs")
    known = {value for name, value in vars(dvc_fs.Schemes).items() if name.isupper()}
    assert known >= paths.URL_SCHEMES


def absolute_parts(root: str, rel: str) -> tuple[str, ...]:
    return tuple(p for p in posixpath.normpath(posixpath.join(root, rel)).split("/") if p)


@settings(max_examples=100)
@given(rel_paths)
def test_parts_of_a_root_relative_path(path: str) -> None:
    rel = paths.join_rel(".", path)
    root = "/work/project"
    assert paths.parts(root, rel) == absolute_parts(root, rel)


def test_parts_of_the_folder_above_the_root() -> None:
    assert paths.parts("/work/project", "..") == ("work",)


def test_parts_of_urls_and_absolute_paths() -> None:
    assert paths.parts("/r", "s3://bucket/a//b") == ("s3://bucket", "a", "b")
    assert paths.parts("/r", "/opt/./x/") == ("opt", "x")
    assert paths.parts("/r/p", ".") == ("r", "p")
    assert paths.parts("/r/p", "../q") == ("r", "q")
    # a URL never overlaps a local path: its first part has "://"
    assert paths.parts("/r", "s3://r/x")[0] != paths.parts("/", "r/x")[0]
