"""Tree.to_bytes writes canonical JSON by hand; it must equal the reference encoder."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mlrepro.store.tree import Tree, TreeEntry

HEX32 = st.text("0123456789abcdef", min_size=32, max_size=32)
HEX64 = st.text("0123456789abcdef", min_size=64, max_size=64)
PATHS = st.text(st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=12)


@given(st.lists(st.builds(TreeEntry, PATHS, st.integers(0, 2**53), HEX32, HEX64), max_size=30))
def test_fast_bytes_equal_canonical_json(entries: list[TreeEntry]) -> None:
    tree = Tree.build(entries)
    assert tree.to_bytes() == tree.to_bytes_slow()
    assert Tree.from_bytes(tree.to_bytes()) == tree
