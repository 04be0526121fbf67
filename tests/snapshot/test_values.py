"""Metrics and params values: parsing, DVC's filter, flattening, and comparing (hypothesis)."""

from __future__ import annotations

import csv
import io
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from mlrepro.snapshot import values
from mlrepro.snapshot.revisions import Revision
from mlrepro.snapshot.values import (
    FileError,
    RevisionValues,
    _parse,
    compare,
    flatten,
    keep_metrics,
)

keys = st.text(alphabet="abcxyz_", min_size=1, max_size=5)
scalars = st.one_of(
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=5),
)
nested = st.recursive(
    st.dictionaries(keys, scalars, min_size=1, max_size=4),
    lambda children: st.dictionaries(keys, st.one_of(scalars, children), min_size=1, max_size=4),
    max_leaves=20,
)


def unflatten(flat: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for dotted, value in flat.items():
        node = out
        *parents, last = dotted.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[last] = value
    return out


@given(nested)
def test_flatten_keeps_every_leaf_under_its_dotted_path(value: dict[str, Any]) -> None:
    assert unflatten(flatten(value)) == value


@given(st.dictionaries(keys, st.one_of(scalars, st.none(), st.lists(scalars, max_size=2))))
def test_metrics_keep_numbers_strings_and_booleans_only(value: dict[str, Any]) -> None:
    kept = keep_metrics(value)
    assert set(kept) == {k for k, v in value.items() if isinstance(v, bool | int | float | str)}


@given(nested)
def test_params_lists_are_written_as_python_writes_them(value: dict[str, Any]) -> None:
    value = {**value, "layers": [64, 32], "names": ["x", "y"]}
    flat = flatten(value, lists_as_text=True)
    assert flat["layers"] == "[64, 32]" and flat["names"] == "['x', 'y']"


def rv(files: dict[str, Any]) -> RevisionValues:
    return RevisionValues(Revision("r", None), files=files)


@given(
    st.dictionaries(keys, st.dictionaries(keys, scalars, max_size=4), max_size=3),
    st.dictionaries(keys, st.dictionaries(keys, scalars, max_size=4), max_size=3),
)
def test_compare_is_symmetric_and_shows_exactly_the_changes(
    a: dict[str, Any], b: dict[str, Any]
) -> None:
    forward = compare(rv(a), rv(b))
    backward = compare(rv(b), rv(a))
    assert {(d.path, d.key, d.old, d.new) for d in forward} == {
        (d.path, d.key, d.new, d.old) for d in backward
    }
    for d in forward:
        assert a.get(d.path, {}).get(d.key) != b.get(d.path, {}).get(d.key)
    everything = compare(rv(a), rv(b), all_keys=True)
    assert len(everything) == sum(
        len(a.get(p, {}).keys() | b.get(p, {}).keys()) for p in a.keys() | b.keys()
    )


@given(
    st.lists(keys, min_size=1, max_size=4, unique=True),
    st.lists(st.lists(st.integers(-1000, 1000), min_size=4, max_size=4), min_size=1, max_size=4),
    st.sampled_from([",", "\t"]),
)
def test_csv_and_tsv_tables(columns: list[str], rows: list[list[int]], sep: str) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=sep, lineterminator="\n")
    w.writerow(columns)
    for r in rows:
        w.writerow(r[: len(columns)])
    parsed = _parse("m.tsv" if sep == "\t" else "m.csv", buf.getvalue().encode())
    as_dicts = [dict(zip(columns, r[: len(columns)], strict=True)) for r in rows]
    if len(rows) == 1:
        assert parsed == as_dicts[0]
    else:
        assert parsed == {str(i): d for i, d in enumerate(as_dicts)}


paths = st.lists(
    st.sampled_from(["z.json", "a.json", "eval/m.json", "b.yaml", "c.csv"]), unique=True
)


@given(paths, paths, st.data())
def test_diff_lists_files_as_show_does(
    old_paths: list[str], new_paths: list[str], data: Any
) -> None:
    """The new revision's files in its order, then the files only the old one has (#14)."""
    values = st.dictionaries(keys, st.integers(0, 3), min_size=1, max_size=3)
    old_files = {p: data.draw(values) for p in old_paths}
    new_files = {p: data.draw(values) for p in new_paths}
    old = RevisionValues(Revision("a", None), old_files, paths=tuple(old_paths))
    new = RevisionValues(Revision("b", None), new_files, paths=tuple(new_paths))
    listed = list(dict.fromkeys(d.path for d in compare(old, new, all_keys=True)))
    assert listed == new_paths + [p for p in old_paths if p not in new_paths]


@given(
    st.lists(st.tuples(st.sets(st.sampled_from(["m.json", "n.json"])), st.booleans()), max_size=9)
)
def test_many_revisions_missing_files_are_summed_up(revisions: list[tuple[set[str], bool]]) -> None:
    """One line for the revisions with none of their files, one per path for the others;
    each revision named once, and a long list cut after five names."""
    results = []
    for i, (missing, malformed) in enumerate(revisions):
        label = f"{i:07x}" * 5 + f"{i:05x}"  # a full commit id
        errors = [FileError(label, p, values.NO_SUCH_FILE, missing=True) for p in sorted(missing)]
        if malformed and "n.json" not in missing:
            errors.append(FileError(label, "n.json", "line 1: invalid JSON"))
        r = RevisionValues(Revision(label, label), errors=tuple(errors), paths=("m.json", "n.json"))
        results.append(r)
    lines = values.read_warnings(results, grouped=True)
    empty = [r.rev.label[:7] for r in results if r.none_exist]
    some: dict[str, list[str]] = {}  # path -> revisions, paths as they first come
    for r in results:
        for e in r.errors:
            if e.missing and not r.none_exist:
                some.setdefault(e.path, []).append(r.rev.label[:7])
    expected = []
    for prefix, named in [
        ("no metrics file", empty),
        *((f"{p}: no such file", some[p]) for p in some),
    ]:
        if named:
            noun = "commit" if len(named) == 1 else "commits"
            more = f" and {len(named) - 5} more" if len(named) > 5 else ""
            expected.append(f"{prefix} in {len(named)} {noun}: {', '.join(named[:5])}{more}")
    malformed_lines = [line for line in lines if "invalid JSON" in line]
    assert lines == expected + malformed_lines
    assert len(malformed_lines) == sum(1 for m, bad in revisions if bad and "n.json" not in m)
    # one revision alone (as `metrics diff` reads them): a line per file, as before
    for r in results:
        assert values.read_warnings([r]) == [f"{e.path} at {e.rev}: {e.message}" for e in r.errors]
