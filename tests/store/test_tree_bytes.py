"""Tree.to_bytes writes canonical JSON by hand; it must equal the reference encoder."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mlrepro.store.tree import Tree, TreeEntry

HEX32 = st.text("0123456789abcdef", min_size=32, max_size=32)
HEX64 = st.text("0123456789abcdef", min_size=64, max_size=64)
# a file name: any text but "/" and NUL, or any bytes as Linux allows them (not UTF-8 too),
# held as Python holds them (surrogateescape); "." and ".." name no file
_NAME = (
    st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="/\0"), min_size=1)
    | st.binary(min_size=1, max_size=8)
    .filter(lambda b: b"/" not in b and b"\0" not in b)
    .map(lambda b: b.decode("utf-8", "surrogateescape"))
).filter(lambda s: s not in (".", ".."))
PATHS = st.lists(_NAME, min_size=1, max_size=3).map("/".join)


@given(st.lists(st.builds(TreeEntry, PATHS, st.integers(0, 2**53), HEX32, HEX64), max_size=30))
def test_fast_bytes_equal_canonical_json(entries: list[TreeEntry]) -> None:
    tree = Tree.build(entries)
    assert tree.to_bytes() == tree.to_bytes_slow()
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
