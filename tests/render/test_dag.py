"""The stage graph as text, JSON, DOT and Mermaid (docs/cli.md, "mlrepro dag")."""

from __future__ import annotations

import itertools
import json
import re

from hypothesis import given
from hypothesis import strategies as st

from mlrepro.dag.select import Subgraph
from mlrepro.render.dag import DAG_JSON_VERSION, to_dot, to_json, to_mermaid, to_text

TUTORIAL = Subgraph(
    order=(
        "prepare",
        "featurize",
        "train@forest",
        "evaluate@forest",
        "train@logreg",
        "evaluate@logreg",
    ),
    edges=(
        ("featurize", "prepare"),
        ("train@forest", "featurize"),
        ("evaluate@forest", "featurize"),
        ("evaluate@forest", "train@forest"),
        ("train@logreg", "featurize"),
        ("evaluate@logreg", "featurize"),
        ("evaluate@logreg", "train@logreg"),
    ),
)


def test_text_as_documented() -> None:
    assert to_text(TUTORIAL) == (
        "prepare\n"
        "featurize        <- prepare\n"
        "train@forest     <- featurize\n"
        "evaluate@forest  <- featurize, train@forest\n"
        "train@logreg     <- featurize\n"
        "evaluate@logreg  <- featurize, train@logreg"
    )


def test_empty_graph() -> None:
    empty = Subgraph((), ())
    assert to_text(empty) == ""
    assert json.loads(to_json(empty)) == {"version": 1, "stages": [], "edges": []}
    assert to_dot(empty) == "strict digraph {\n}"
    assert to_mermaid(empty) == "flowchart TD"


def test_json_keeps_dependent_producer_edges() -> None:
    doc = json.loads(to_json(TUTORIAL))
    assert DAG_JSON_VERSION == 1
    assert doc == {
        "version": 1,
        "stages": list(TUTORIAL.order),
        "edges": [list(e) for e in TUTORIAL.edges],
    }
    assert doc["edges"][0] == ["featurize", "prepare"]


def test_dot_arrows_go_from_producer_to_consumer() -> None:
    g = Subgraph(("prepare", "train"), (("train", "prepare"),))
    assert to_dot(g) == 'strict digraph {\n\t"prepare";\n\t"train";\n\t"prepare" -> "train";\n}'


def test_mermaid_flowchart() -> None:
    g = Subgraph(("prepare", 'say "hi"'), (('say "hi"', "prepare"),))
    assert to_mermaid(g) == (
        'flowchart TD\n\tnode0["prepare"]\n\tnode1["say #quot;hi#quot;"]\n\tnode0-->node1'
    )


def test_dot_quotes_odd_names() -> None:
    g = Subgraph(('a "b"', "c\\d", "dir/dvc.yaml:st ü"), ())
    assert to_dot(g).splitlines()[1:4] == [
        '\t"a \\"b\\"";',
        '\t"c\\\\d";',
        '\t"dir/dvc.yaml:st ü";',
    ]


def test_json_keeps_non_ascii_names_as_they_are() -> None:
    out = to_json(Subgraph(("stäge",), ()))
    assert "stäge" in out and json.loads(out)["stages"] == ["stäge"]


stage_ids = st.lists(
    st.text(st.characters(codec="utf-8"), min_size=1, max_size=15),
    min_size=1,
    max_size=6,
    unique=True,
)

STRING = r'"((?:[^"\\]|\\.)*)"'
DOT_STATEMENT = re.compile(rf"\t{STRING}(?: -> {STRING})?;\n", re.DOTALL)


def _unquote(s: str) -> str:
    return re.sub(r"\\(.)", r"\1", s, flags=re.DOTALL)


def chain(ids: list[str]) -> Subgraph:
    return Subgraph(tuple(ids), tuple(zip(ids[1:], ids[:-1], strict=True)))


@given(stage_ids)
def test_any_stage_id_is_a_valid_unique_dot_string(ids: list[str]) -> None:
    dot = to_dot(chain(ids))
    assert dot.startswith("strict digraph {\n") and dot.endswith("\n}")
    body, at = dot[len("strict digraph {\n") : -1], 0
    statements = []
    while at < len(body):  # the body is statements back to back, and nothing else
        m = DOT_STATEMENT.match(body, at)
        assert m, body[at:]
        statements.append([_unquote(g) for g in m.groups() if g is not None])
        at = m.end()
    assert statements == [[i] for i in ids] + [list(pair) for pair in itertools.pairwise(ids)]


@given(stage_ids)
def test_any_stage_id_gets_a_valid_unique_mermaid_id_and_quote_free_label(ids: list[str]) -> None:
    mermaid = to_mermaid(chain(ids))
    node = re.compile(r'\n\t(node\d+)\["([^"]*)"\]', re.DOTALL)
    at, seen = len("flowchart TD"), []
    assert mermaid.startswith("flowchart TD")
    for name in ids:
        m = node.match(mermaid, at)
        assert m, mermaid[at:]
        if "#" not in name:  # (a name with `#` can read as an entity: see below)
            assert m.group(2).replace("#quot;", '"') == name
        seen.append(m.group(1))
        at = m.end()
    assert len(set(seen)) == len(ids)
    edges = "".join(f"\n\t{a}-->{b}" for a, b in itertools.pairwise(seen))
    assert mermaid[at:] == edges


@given(
    st.lists(
        st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp")), min_size=1),
        min_size=2,
        max_size=6,
        unique=True,
    )
)
def test_text_aligns_the_arrows(ids: list[str]) -> None:
    lines = to_text(chain(ids)).split("\n")
    assert lines[0] == ids[0]
    width = max(map(len, ids))
    for line, name, needs in zip(lines[1:], ids[1:], ids[:-1], strict=True):
        assert line == name.ljust(width) + "  <- " + needs


def test_a_mermaid_label_that_looks_like_an_entity_is_not_one() -> None:
    mermaid = to_mermaid(Subgraph(('"', "#quot;"), ()))
    labels = re.findall(r'\["([^"]*)"\]', mermaid)
    assert len(set(labels)) == 2
    assert "#quot;" not in labels[1]
