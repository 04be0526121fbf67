"""Lineage as text, JSON (docs/format.md, "Lineage record"), DOT and Mermaid, and the
``lineage --digest`` answer (docs/cli.md, "mlrepro lineage")."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlrepro.lineage.graph import ArtifactKind, Lineage, Node, NodeType, Relation
from mlrepro.lineage.index import Hit
from mlrepro.render.lineage import (
    digest_json,
    digest_text,
    to_dot,
    to_json,
    to_mermaid,
    to_text,
)
from mlrepro.render.names import shown_path
from mlrepro.snapshot.revisions import Revision

HEAD = Revision("HEAD", "3f2a" + "0" * 36)
XM, SM = "xxh3-128:ff83f412698e0000aaaa", "sha256:b41f84f3f5470000bbbb"
XF, SF = "xxh3-128:1a0a89be335d1111cccc", "sha256:b1153df9a3231111dddd"
C = "03f328b38412" + "9" * 28
RUN = "88db2112679e" + "2" * 52


def art(
    path: str,
    kind: ArtifactKind,
    digest: str | None,
    sha: str | None,
    size: int | None,
    nfiles: int | None = None,
) -> Node:
    return Node(
        f"artifact:{path}",
        NodeType.ARTIFACT,
        path=path,
        kind=kind,
        digest=digest,
        sha256=sha,
        size=size,
        nfiles=nfiles,
    )


def graph() -> Lineage:
    nodes = [
        art("metrics.json", ArtifactKind.OUTPUT, XM, SM, 67),
        art("data/features", ArtifactKind.OUTPUT, XF, SF, 42480, 2),
        art("eval.py", ArtifactKind.SOURCE, None, None, None),
        Node(
            "stage:evaluate",
            NodeType.STAGE,
            stage="evaluate",
            cmd=["python eval.py", "echo done"],
            params={"params.yaml": {"seed": 7, "model": {"C": 0.5}}},
            run_key=RUN,
            runs=(
                {
                    "action": "stage.run",
                    "status": "ok",
                    "actor": {"git_email": "alice@example.com", "os_user": "alice"},
                    "host": "build-7",
                    "time": "2026-11-27T03:05:11.555Z",
                    "git": {"commit": "1c9e0d7a2f11abcdef"},
                    "env": {"python": "3.11.9", "packages_sha256": "0123456789abcdef"},
                },
            ),
        ),
        Node("stage:featurize", NodeType.STAGE, stage="featurize", cmd="python feat.py"),
    ]
    return Lineage(
        HEAD,
        "metrics.json",
        {n.id: n for n in nodes},
        (
            ("stage:evaluate", "artifact:metrics.json", Relation.PRODUCED),
            ("artifact:data/features", "stage:evaluate", Relation.INPUT_OF),
            ("artifact:eval.py", "stage:evaluate", Relation.INPUT_OF),
            ("stage:featurize", "artifact:data/features", Relation.PRODUCED),
        ),
        ("eval.py changed since evaluate ran",),
    )


def test_text_upstream_is_the_documented_indented_tree() -> None:
    assert to_text(graph(), "upstream").splitlines() == [
        "lineage of metrics.json at HEAD",
        "upstream:",
        "    metrics.json  [output]  xxh3-128:ff83f412698e…  sha256:b41f84f3f547…  67 B",
        "        stage evaluate  run sha256:88db2112679e…",
        "          cmd: python eval.py && echo done",
        '          params params.yaml: model={"C": 0.5}, seed=7',
        "          stage.run ok by alice@example.com on build-7 at 2026-11-27T03:05:11.555Z"
        " (commit 1c9e0d7a2f11, Python 3.11.9, packages 0123456789ab…)",
        "            data/features  [output]  xxh3-128:1a0a89be335d…  sha256:b1153df9a323…"
        "  42480 B (2 files)",
        "                stage featurize  run -",
        "                  cmd: python feat.py",
        "            eval.py  [source]  -  -",
        "note: eval.py changed since evaluate ran",
    ]


def test_text_downstream_lists_each_production() -> None:
    assert to_text(graph(), "downstream").splitlines() == [
        "lineage of metrics.json at HEAD",
        "downstream (stages that used it, and what they produced):",
        "    stage evaluate -> metrics.json  [output]  xxh3-128:ff83f412698e…"
        "  sha256:b41f84f3f547…  67 B",
        "    stage featurize -> data/features  [output]  xxh3-128:1a0a89be335d…"
        "  sha256:b1153df9a323…  42480 B (2 files)",
        "note: eval.py changed since evaluate ran",
    ]


def test_text_marks_a_node_reached_twice() -> None:
    g = graph()
    shared = (("artifact:eval.py", "stage:featurize", Relation.INPUT_OF),)
    g = Lineage(g.rev, g.target, g.nodes, g.edges + shared)
    lines = to_text(g, "both").splitlines()
    assert lines.count("                    eval.py  [source]  -  -") == 1  # first reached
    assert lines.count("            eval.py  (see above)") == 1
    assert not any(line.strip() == "eval.py  [source]  -  -" for line in lines[:9])
    assert lines.index("upstream:") < lines.index(
        "downstream (stages that used it, and what they produced):"
    )


def test_json_is_the_lineage_record_sorted() -> None:
    doc = json.loads(to_json(graph()))
    assert doc["version"] == 1
    assert (doc["rev"], doc["commit"]) == ("HEAD", HEAD.commit)
    assert doc["target"] == "artifact:metrics.json"
    assert [n["id"] for n in doc["nodes"]] == [
        "artifact:data/features",
        "artifact:eval.py",
        "artifact:metrics.json",
        "stage:evaluate",
        "stage:featurize",
    ]
    assert doc["nodes"][0] == {
        "id": "artifact:data/features",
        "type": "artifact",
        "path": "data/features",
        "kind": "output",
        "digest": XF,
        "sha256": SF,
        "size": 42480,
        "nfiles": 2,
    }
    assert doc["nodes"][4] == {
        "id": "stage:featurize",
        "type": "stage",
        "stage": "featurize",
        "cmd": "python feat.py",
        "params": None,
        "run_key": None,
        "runs": [],
    }
    assert doc["edges"][0] == {
        "from": "artifact:data/features",
        "to": "stage:evaluate",
        "relation": "input_of",
    }
    assert doc["edges"] == sorted(doc["edges"], key=lambda e: (e["from"], e["to"]))
    assert doc["notes"] == ["eval.py changed since evaluate ran"]


def test_dot_has_every_node_and_edge_sorted() -> None:
    lines = to_dot(graph()).splitlines()
    assert lines[:2] == ["digraph lineage {", "  rankdir=LR;"] and lines[-1] == "}"
    nodes = [
        re.fullmatch(r'  ("[^"]*") \[label="(.*)", shape=(\w+)\];', line) for line in lines[2:7]
    ]
    assert [(m.group(1), m.group(3)) for m in nodes if m] == [
        ('"artifact:data/features"', "ellipse"),
        ('"artifact:eval.py"', "ellipse"),
        ('"artifact:metrics.json"', "ellipse"),
        ('"stage:evaluate"', "box"),
        ('"stage:featurize"', "box"),
    ]
    labels = [m.group(2) for m in nodes if m]
    assert labels[0].startswith("data/features") and labels[0].endswith("sha256:b1153df9a323…")
    assert labels[3:] == ["stage evaluate", "stage featurize"]
    assert lines[7:-1] == [
        '  "artifact:data/features" -> "stage:evaluate" [label="input_of"];',
        '  "artifact:eval.py" -> "stage:evaluate" [label="input_of"];',
        '  "stage:evaluate" -> "artifact:metrics.json" [label="produced"];',
        '  "stage:featurize" -> "artifact:data/features" [label="produced"];',
    ]


def test_dot_artifact_label_breaks_the_line_between_path_and_sha256() -> None:
    dot = to_dot(graph())
    assert '[label="data/features\\nsha256:b1153df9a323…", shape=ellipse];' in dot


def test_mermaid() -> None:
    assert to_mermaid(graph()).splitlines() == [
        "flowchart LR",
        '  n0(["data/features<br/>sha256:b1153df9a323…"])',
        '  n1(["eval.py<br/>-"])',
        '  n2(["metrics.json<br/>sha256:b41f84f3f547…"])',
        '  n3["stage evaluate"]',
        '  n4["stage featurize"]',
        "  n0 -->|input_of| n3",
        "  n1 -->|input_of| n3",
        "  n3 -->|produced| n2",
        "  n4 -->|produced| n0",
    ]


def odd_graph(names: list[str]) -> Lineage:
    nodes = {f"artifact:{p}": art(p, ArtifactKind.DATA, XM, SM, 1) for p in names}
    stage = Node("stage:s", NodeType.STAGE, stage="s", cmd="c")
    nodes[stage.id] = stage
    edges = tuple((f"artifact:{p}", "stage:s", Relation.INPUT_OF) for p in names)
    return Lineage(HEAD, names[0], nodes, edges)


def test_odd_names_are_shown_as_git_shows_them_but_json_keeps_them() -> None:
    name = 'caf\udce9 "x".csv'  # a byte that is not UTF-8, and quotes
    g = odd_graph([name])
    assert to_text(g, "upstream").splitlines()[0] == 'lineage of "caf\\351 \\"x\\".csv" at HEAD'
    dot = to_dot(g)
    # the label as in text: git's quoting, then DOT's (a backslash doubled, a quote escaped)
    assert '[label="\\"caf\\\\351 \\\\\\"x\\\\\\".csv\\"' in dot
    assert '  "artifact:caf\\udce9 \\"x\\".csv" -> "stage:s"' in dot  # the id: the exact name
    mermaid = to_mermaid(g)
    assert '  n0(["#quot;caf\\351 \\#quot;x\\#quot;.csv#quot;<br/>sha256:' in mermaid
    doc = json.loads(to_json(g))
    assert doc["nodes"][0]["path"] == name


DOT_STRING = r'"(?:[^"\\\n]|\\.)*"'
DOT_LINE = re.compile(rf"  ({DOT_STRING}) \[label={DOT_STRING}, shape=(?:box|ellipse)\];")
names = st.lists(
    st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=12)
    | st.text(st.characters(min_codepoint=0xDC80, max_codepoint=0xDCFF), min_size=1, max_size=3),
    min_size=1,
    max_size=5,
    unique=True,
)


@given(names)
def test_any_name_has_a_valid_unique_dot_id_and_one_line(names: list[str]) -> None:
    lines = to_dot(odd_graph(names)).splitlines()
    assert len(lines) == 3 + 2 * len(names) + 1  # header, nodes, edges, "}"
    ids = []
    for line in lines[2 : 3 + len(names)]:
        m = DOT_LINE.fullmatch(line)
        assert m, line
        ids.append(m.group(1))
    assert len(set(ids)) == len(ids)
    assert sorted(json.loads(i) for i in ids) == sorted(
        ["stage:s", *(f"artifact:{p}" for p in names)]
    )


@given(names)
def test_any_name_has_a_valid_unique_mermaid_id_and_a_quote_free_label(names: list[str]) -> None:
    lines = to_mermaid(odd_graph(names)).splitlines()
    nodes = lines[1 : 2 + len(names)]
    assert len(lines) == 2 + 2 * len(names)
    ids = []
    for line in nodes:
        m = re.fullmatch(r'  (n\d+)(\(\[|\[)"([^"\n]*)"(\]\)|\])', line)
        assert m, line
        ids.append(m.group(1))
    assert len(set(ids)) == len(ids) == len(names) + 1


@pytest.mark.parametrize("name", ["new\nline.csv", "back\\name.csv"])
def test_mermaid_label_shows_the_name_as_git_does(name: str) -> None:
    shown = shown_path(name).replace('"', "#quot;")
    assert f'(["{shown}<br/>sha256:' in to_mermaid(odd_graph([name]))


def test_digest_text_and_json() -> None:
    hits = [
        Hit(C, "consumed", "evaluate@forest", "models/forest.pkl", "xxh3-128:aa", None),
        Hit(C, "data", None, "raw/caf\udce9.csv", "xxh3-128:aa", "sha256:bb"),
    ]
    assert digest_text(hits, "sha256:bb").splitlines() == [
        "03f328b38412  consumed  stage evaluate@forest  models/forest.pkl",
        '03f328b38412  data      data input  "raw/caf\\351.csv"',
    ]
    assert digest_text([], "sha256:46ee") == "sha256:46ee: not found in any lock file searched\n"
    assert json.loads(digest_json([{"commit": "c"}], "sha256:46ee")) == {
        "version": 1,
        "digest": "sha256:46ee",
        "found": [{"commit": "c"}],
    }
