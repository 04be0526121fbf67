"""Tree objects: canonical bytes (written by hand, equal to the reference encoder's), lossless
round trip, digests that see every change, raw entries split exactly."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlrepro.canonical import canonical_bytes
from mlrepro.errors import MlreproError
from mlrepro.store.digest import sha_bytes, xxh_bytes
from mlrepro.store.tree import (
    MalformedTreeError,
    Tree,
    TreeEntry,
    entry_json,
    entry_json_reference,
)

HEX32 = st.text("0123456789abcdef", min_size=32, max_size=32)
HEX64 = st.text("0123456789abcdef", min_size=64, max_size=64)
SEGMENT = st.text(
    st.characters(blacklist_categories=["Cs"], blacklist_characters="/\0"), min_size=1, max_size=8
).filter(lambda s: s not in (".", ".."))
PATH = st.lists(SEGMENT, min_size=1, max_size=3).map("/".join)


@st.composite
def entries(draw: st.DrawFn, min_size: int = 0) -> list[TreeEntry]:
    paths = draw(st.lists(PATH, min_size=min_size, max_size=12, unique=True))
    return [TreeEntry(p, draw(st.integers(0, 2**53)), draw(HEX32), draw(HEX64)) for p in paths]


@given(entries())
def test_round_trip(items: list[TreeEntry]) -> None:
    tree = Tree.build(items)
    data = tree.to_bytes()
    again = Tree.from_bytes(data)
    assert again == tree
    assert again.to_bytes() == data
    assert again.digests() == tree.digests()
    assert tree.size == sum(e.size for e in items)


@given(entries(), st.randoms(use_true_random=False))
def test_entry_order_does_not_matter(items: list[TreeEntry], rnd: object) -> None:
    shuffled = list(items)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    a, b = Tree.build(items), Tree.build(shuffled)
    assert a == b
    assert a.to_bytes() == b.to_bytes()
    assert a.digests() == b.digests()


@given(entries())
def test_bytes_are_canonical_json_sorted_by_path(items: list[TreeEntry]) -> None:
    tree = Tree.build(items)
    data = tree.to_bytes()
    raw = json.loads(data)
    assert canonical_bytes(raw) == data  # sorted keys, compact, UTF-8
    assert [e["path"] for e in raw] == sorted(e.path for e in items)
    xxh, sha = tree.digests()
    assert (xxh, sha) == (xxh_bytes(data), sha_bytes(data))


@st.composite
def tree_and_change(draw: st.DrawFn) -> tuple[list[TreeEntry], list[TreeEntry]]:
    items = draw(entries(min_size=1))
    i = draw(st.integers(0, len(items) - 1))
    e = items[i]
    what = draw(st.sampled_from(["path", "size", "xxh", "sha", "drop", "add"]))
    changed = list(items)
    if what == "path":
        new = draw(PATH.filter(lambda p: p not in {x.path for x in items}))
        changed[i] = TreeEntry(new, e.size, e.xxh, e.sha)
    elif what == "size":
        changed[i] = TreeEntry(
            e.path, draw(st.integers(0, 2**53).filter(lambda n: n != e.size)), e.xxh, e.sha
        )
    elif what == "xxh":
        changed[i] = TreeEntry(e.path, e.size, draw(HEX32.filter(lambda h: h != e.xxh)), e.sha)
    elif what == "sha":
        changed[i] = TreeEntry(e.path, e.size, e.xxh, draw(HEX64.filter(lambda h: h != e.sha)))
    elif what == "drop":
        del changed[i]
    else:
        new = draw(PATH.filter(lambda p: p not in {x.path for x in items}))
        changed.append(TreeEntry(new, e.size, e.xxh, e.sha))
    return items, changed


@given(tree_and_change())
def test_any_change_changes_both_digests(pair: tuple[list[TreeEntry], list[TreeEntry]]) -> None:
    before, after = (Tree.build(x) for x in pair)
    xb, sb = before.digests()
    xa, sa = after.digests()
    assert xb != xa
    assert sb != sa


def test_empty_tree() -> None:
    tree = Tree.build([])
    assert tree.to_bytes() == b"[]"
    assert Tree.from_bytes(b"[]") == tree
    assert tree.size == 0


def test_not_a_list_is_refused() -> None:
    with pytest.raises(ValueError, match="JSON list"):
        Tree.from_bytes(b'{"path": "a"}')


@pytest.mark.parametrize(
    "data",
    [
        b"[1]",
        b'[{"path": "a"}]',
        b"\xff\xfe binary file bytes",
        b'[{"path": 1, "size": "x", "xxh3-128": 0, "sha256": null}]',
    ],
)
def test_malformed_tree_objects_are_refused_cleanly(data: bytes) -> None:
    with pytest.raises(MlreproError):
        Tree.from_bytes(data)


# -- names that are not UTF-8 (issue 15) -------------------------------------------------

# a name as Linux has it: any bytes but "/" and NUL (not "." or "..")
RAW_NAME = st.binary(min_size=1, max_size=8).filter(
    lambda b: b"/" not in b and b"\0" not in b and b not in (b".", b"..")
)
RAW_PATH = st.lists(RAW_NAME, min_size=1, max_size=3).map(b"/".join)


@given(st.lists(RAW_PATH, max_size=12, unique=True), HEX32, HEX64)
def test_any_bytes_names_round_trip_exactly(raw: list[bytes], xxh: str, sha: str) -> None:
    items = [TreeEntry(p.decode("utf-8", "surrogateescape"), 1, xxh, sha) for p in raw]
    tree = Tree.build(items)
    data = tree.to_bytes()
    data.decode("utf-8")  # always valid UTF-8: a byte that is not is written \udcNN
    again = Tree.from_bytes(data)
    assert again == tree and again.to_bytes() == data
    assert sorted(e.path.encode("utf-8", "surrogateescape") for e in again.entries) == sorted(raw)
    assert data == tree.to_bytes_reference()


def _only_bad(raw: bytes) -> bool:
    """Every byte is ASCII or not part of any UTF-8 sequence (so becomes one surrogate)."""
    text = raw.decode("utf-8", "surrogateescape")
    return all(c.isascii() or "\udc80" <= c <= "\udcff" for c in text)


# printable ASCII but "/", and bytes that are never part of UTF-8 as they stand
_PLAIN_OR_BAD = (
    st.lists(
        st.sampled_from(
            [bytes([b]) for b in range(0x20, 0x7F) if b != 0x2F] + [b"\xff", b"\xe9", b"\x80"]
        ),
        min_size=1,
        max_size=6,
    )
    .map(b"".join)
    .filter(lambda b: _only_bad(b) and b not in (b".", b".."))
)


@given(st.lists(_PLAIN_OR_BAD, max_size=12, unique=True))
def test_bytes_equal_an_independent_encoder(raw: list[bytes]) -> None:
    """For names that are printable ASCII but for bytes that are not UTF-8, the tree is
    what json.dumps writes with ensure_ascii (as DVC writes its .dir objects)."""
    tree = Tree.build(
        TreeEntry(p.decode("utf-8", "surrogateescape"), 3, "a" * 32, "b" * 64) for p in raw
    )
    doc = [
        {"path": e.path, "sha256": e.sha, "size": e.size, "xxh3-128": e.xxh} for e in tree.entries
    ]
    assert tree.to_bytes() == json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


@pytest.mark.parametrize(
    "path",
    [
        "../x",
        "a/../../x",
        "/etc/passwd",
        "a//b",
        "a/",
        "",
        ".",
        "a/./b",
        "a\0b",
        "\ud800",
        "\udcc3\udca9",
    ],
    ids=repr,
)
def test_paths_no_folder_holds_are_refused(path: str) -> None:
    """A tree whose path climbs out of the folder, or could not be a name (a surrogate
    no byte gives, or one two bytes of UTF-8 would give), is damaged or crafted."""
    data = json.dumps([{"path": path, "sha256": "b" * 64, "size": 1, "xxh3-128": "a" * 32}])
    with pytest.raises(MlreproError, match="bad path"):
        Tree.from_bytes(data.encode())


@pytest.mark.parametrize(
    ("xxh", "sha"),
    [
        ("../../../../../home/someone/.bashrc", "b" * 64),  # a path: checkout would read it
        ("ab/home/someone/.bashrc", "b" * 64),  # and drop_corrupt delete it
        ("a" * 31, "b" * 64),
        ("A" * 32, "b" * 64),
        ("a" * 32, "b" * 63),
        ("a" * 32, "xxh3-128:" + "b" * 55),
    ],
)
def test_digests_that_could_not_name_an_object_are_refused(xxh: str, sha: str) -> None:
    """A tree object is addressed by its bytes, so anyone can write a valid one: its
    entries' digests are checked before any becomes the name of a file."""
    data = json.dumps([{"path": "f", "sha256": sha, "size": 1, "xxh3-128": xxh}]).encode()
    with pytest.raises(MalformedTreeError, match="bad entry"):
        Tree.from_bytes(data)


# -- the bytes written by hand equal the reference encoder's; raw entries ------------------

# a file name: any text but "/" and NUL, or any bytes as Linux allows them (not UTF-8 too),
# held as Python holds them (surrogateescape); "." and ".." name no file
_NAME = (
    st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="/\0"), min_size=1)
    | RAW_NAME.map(lambda b: b.decode("utf-8", "surrogateescape"))
).filter(lambda s: s not in (".", ".."))
PATHS = st.lists(_NAME, min_size=1, max_size=3).map("/".join)


@given(st.lists(st.builds(TreeEntry, PATHS, st.integers(0, 2**53), HEX32, HEX64), max_size=30))
def test_fast_bytes_equal_the_reference(entries: list[TreeEntry]) -> None:
    """to_bytes (entries written by hand) and to_bytes_reference (the canonical-JSON
    encoder) give the same bytes, entry by entry too (what workspace.folders joins)."""
    tree = Tree.build(entries)
    assert tree.to_bytes() == tree.to_bytes_reference()
    for e in entries:
        assert entry_json(*e) == entry_json_reference(*e)
    assert Tree.from_bytes(tree.to_bytes()) == tree


# paths that try to break the raw split: quotes, braces and the delimiter's own text
TRICKY = st.lists(
    st.sampled_from(['"', "{", "}", ",", ":", "\\", "a", '"path":', "},{", "é"]), min_size=1
).map("".join)
ENTRIES = st.lists(
    st.builds(TreeEntry, PATHS | TRICKY, st.integers(0, 2**53), HEX32, HEX64),
    max_size=30,
    unique_by=lambda e: e.path,
)


@given(ENTRIES)
def test_raw_entries_split_exactly_into_the_entries(entries: list[TreeEntry]) -> None:
    tree = Tree.build(entries)
    raw = Tree.raw_entries(tree.to_bytes())
    assert raw is not None
    assert [Tree.parse_entry(r) for r in raw] == list(tree.entries)


@given(ENTRIES, ENTRIES)
def test_raw_difference_equals_the_parsed_difference(
    a: list[TreeEntry], b: list[TreeEntry]
) -> None:
    ta, tb = Tree.build(a), Tree.build(b)
    ra, rb = Tree.raw_entries(ta.to_bytes()), Tree.raw_entries(tb.to_bytes())
    assert ra is not None and rb is not None
    only_a = {Tree.parse_entry(r) for r in set(ra) - set(rb)}
    only_b = {Tree.parse_entry(r) for r in set(rb) - set(ra)}
    assert only_a == set(ta.entries) - set(tb.entries)
    assert only_b == set(tb.entries) - set(ta.entries)


def test_non_canonical_bytes_are_not_split() -> None:
    assert Tree.raw_entries(b'[ {"path": "a"} ]') is None
    assert Tree.raw_entries(b"[]") == []
