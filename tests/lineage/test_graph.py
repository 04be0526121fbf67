"""``mlrepro lineage``: upstream to raw data and code, downstream to every product, any revision."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from tests.ops.conftest import Proj


def sha(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def chain(proj: Proj, *, depth: int = 3) -> None:
    """raw/ (data input) -> prep/ -> feats.txt -> model/ (a folder), with params."""
    proj.write("raw/a.csv", "1,2\n")
    proj.write("raw/b.csv", "3,4\n")
    proj.write("src/train.py", "# the training code (a git-tracked source file)\n")
    proj.git("add", "src/train.py")  # tracked by git: code, not data
    proj.ok("add", "raw")
    proj.params({"prep": {"scale": 2}, "depth": depth})
    proj.pipeline(
        {
            "prepare": {
                "cmd": proj.cmd(["cat", "prep/all.csv", "raw/a.csv", "raw/b.csv"]),
                "deps": ["raw", str(proj.tool)],
                "params": ["prep"],
                "outs": ["prep"],
            },
            "featurize": {
                "cmd": proj.cmd(["cat", "feats.txt", "prep/all.csv"]),
                "deps": ["prep"],
                "outs": ["feats.txt"],
            },
            "train": {
                "cmd": proj.cmd(
                    ["mkfiles", "model", "3", "m"],
                    ["param", "model/depth.json", "params.yaml", "depth"],
                ),
                "deps": ["feats.txt", "src/train.py"],
                "params": ["depth"],
                "outs": ["model"],
            },
        }
    )
    proj.ok("repro")
    proj.commit(f"depth {depth}")


def graph(proj: Proj, *args: str) -> dict:  # type: ignore[type-arg]
    return json.loads(proj.ok("lineage", *args, "--json").stdout)  # type: ignore[no-any-return]


def test_upstream_reaches_raw_data_and_code_with_both_digests(proj: Proj) -> None:
    chain(proj)
    g = graph(proj, "model")
    assert g["version"] == 1 and g["rev"] == "HEAD" and g["target"] == "artifact:model"
    nodes = {n["id"]: n for n in g["nodes"]}
    assert {n["stage"] for n in g["nodes"] if n["type"] == "stage"} == {
        "prepare",
        "featurize",
        "train",
    }
    assert nodes["artifact:raw"]["kind"] == "data"
    assert nodes["artifact:feats.txt"]["sha256"] == sha(proj.root / "feats.txt")
    assert nodes["artifact:model"]["nfiles"] == 4
    assert nodes["stage:train"]["params"] == {"params.yaml": {"depth": 3}}
    assert nodes["stage:prepare"]["params"] == {"params.yaml": {"prep": {"scale": 2}}}
    assert len(nodes["stage:train"]["run_key"]) == 64
    edges = {(e["from"], e["to"], e["relation"]) for e in g["edges"]}
    assert ("stage:train", "artifact:model", "produced") in edges
    assert ("artifact:feats.txt", "stage:train", "input_of") in edges
    assert ("artifact:prep", "stage:featurize", "input_of") in edges
    assert ("artifact:raw", "stage:prepare", "input_of") in edges
    # code is a source dependency, hashed from its bytes at that commit
    code = nodes["artifact:src/train.py"]
    assert code["kind"] == "source" and code["sha256"] == sha(proj.root / "src/train.py")
    assert ("artifact:src/train.py", "stage:train", "input_of") in edges
    # a dependency outside the repository is named, but a commit does not hold its bytes
    outside = nodes[f"artifact:{proj.tool}"]
    assert outside["kind"] == "source" and outside["sha256"] is None
    assert not any("not what stage" in n for n in g["notes"]), g["notes"]


def test_downstream_of_raw_data_reaches_every_product(proj: Proj) -> None:
    chain(proj)
    g = graph(proj, "raw", "--downstream")
    produced = {e["to"] for e in g["edges"] if e["relation"] == "produced"}
    assert produced == {"artifact:prep", "artifact:feats.txt", "artifact:model"}
    text = proj.ok("lineage", "raw/a.csv", "--downstream").stdout
    assert "stage prepare -> prep" in text and "stage train -> model" in text


def test_a_file_inside_a_folder_output(proj: Proj) -> None:
    chain(proj)
    g = graph(proj, "model/depth.json")
    nodes = {n["id"]: n for n in g["nodes"]}
    part = nodes["artifact:model/depth.json"]
    assert part["kind"] == "part"
    assert part["sha256"] == sha(proj.root / "model/depth.json")
    edges = {(e["from"], e["to"], e["relation"]) for e in g["edges"]}
    assert ("artifact:model/depth.json", "artifact:model", "part_of") in edges
    assert ("stage:train", "artifact:model", "produced") in edges


@pytest.mark.slow
def test_older_revisions_without_checkout(proj: Proj) -> None:
    chain(proj, depth=3)
    chain(proj, depth=5)
    old = {n["id"]: n for n in graph(proj, "model", "--rev", "HEAD~1")["nodes"]}
    new = {n["id"]: n for n in graph(proj, "model")["nodes"]}
    assert old["stage:train"]["params"] == {"params.yaml": {"depth": 3}}
    assert new["stage:train"]["params"] == {"params.yaml": {"depth": 5}}
    assert old["artifact:model"]["sha256"] != new["artifact:model"]["sha256"]
    assert old["stage:train"]["run_key"] != new["stage:train"]["run_key"]
    assert old["artifact:feats.txt"] == new["artifact:feats.txt"]  # upstream unchanged


def test_dot_and_mermaid_have_every_node_and_edge(proj: Proj) -> None:
    chain(proj)
    g = graph(proj, "model", "--both")
    dot = proj.ok("lineage", "model", "--both", "--dot").stdout
    assert dot.startswith("digraph lineage {") and dot.rstrip().endswith("}")
    assert dot.count(" -> ") == len(g["edges"])
    mermaid = proj.ok("lineage", "model", "--both", "--mermaid").stdout
    assert mermaid.startswith("flowchart LR\n")
    assert mermaid.count("-->|") == len(g["edges"])


@pytest.mark.slow
def test_digest_query_across_commits_and_branches(proj: Proj) -> None:
    chain(proj, depth=3)
    first = sha(proj.root / "model/depth.json")
    feats = sha(proj.root / "feats.txt")
    proj.git("checkout", "-q", "-b", "side")
    chain(proj, depth=7)
    side_commit = proj.git("rev-parse", "HEAD").strip()
    proj.git("checkout", "-q", "main")
    proj.ok("checkout")
    found = json.loads(proj.ok("lineage", "--digest", feats, "--json").stdout)
    roles = {(h["role"], h["stage"], h["path"]) for h in found["found"]}
    assert roles == {("produced", "featurize", "feats.txt"), ("consumed", "train", "feats.txt")}
    assert {h["commit"] for h in found["found"]} == {proj.git("rev-parse", "HEAD").strip()}
    # the model of the side branch: only with --all-commits
    model_side = json.loads(proj.ok("lineage", "model", "--rev", "side", "--json").stdout)
    side_sha = next(n for n in model_side["nodes"] if n["id"] == "artifact:model")["sha256"]
    assert json.loads(proj.ok("lineage", "--digest", side_sha, "--json").stdout)["found"] == []
    everywhere = json.loads(
        proj.ok("lineage", "--digest", side_sha, "--all-commits", "--json").stdout
    )
    assert {(h["commit"], h["role"], h["stage"]) for h in everywhere["found"]} == {
        (side_commit, "produced", "train")
    }
    assert first != side_sha
    # the index is a cache: rebuilt when deleted, same answers
    (proj.root / ".mlrepro/state/lineage.db").unlink()
    again = json.loads(proj.ok("lineage", "--digest", side_sha, "--all-commits", "--json").stdout)
    assert again == everywhere


def test_unknown_path_and_missing_arguments(proj: Proj) -> None:
    chain(proj)
    proc = proj.fails("lineage", "nowhere.txt")
    assert "'nowhere.txt' is not an output, data input or dependency" in proc.stderr
    proj.fails("lineage", code=2)
    proj.fails("lineage", "model", "--rev", "no-such-rev")


def test_code_changed_since_the_run_is_flagged(proj: Proj) -> None:
    chain(proj)
    proj.write("src/train.py", "# edited, committed, never run\n")
    proj.commit("edit code without repro")
    g = graph(proj, "model")
    assert any(
        n.startswith("src/train.py at HEAD is not what stage train ran on") for n in g["notes"]
    )
    nodes = {n["id"]: n for n in g["nodes"]}
    assert nodes["artifact:src/train.py"]["sha256"] == sha(proj.root / "src/train.py")


def test_stage_nodes_carry_the_audit_entries_of_their_run(proj: Proj) -> None:
    proj.commit("start")  # so the run happens on a commit
    chain(proj)
    g = graph(proj, "model")
    train = next(n for n in g["nodes"] if n.get("stage") == "train")
    [run] = train["runs"]
    assert run["action"] == "stage.run" and run["status"] == "succeeded"
    assert run["actor"]["git_email"] == "tests@mlrepro.invalid"
    assert run["git"]["commit"] is not None and run["env"]["python"]
    audit = json.loads(proj.ok("audit", "log", "--json", "--stage", "train").stdout)["entries"]
    assert run["entry"] == audit[0]["id"]
    text = proj.ok("lineage", "model").stdout
    assert "stage.run succeeded by tests@mlrepro.invalid" in text
