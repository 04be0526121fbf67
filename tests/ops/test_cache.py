"""``mlrepro cache verify``: besides re-hashing every object, every object that
mlrepro.lock needs must be there (issue 15: it passed with the model's object gone)."""

from __future__ import annotations

import os
import shutil

from tests.ops.conftest import Proj, xxh_file


def two_outputs(proj: Proj) -> None:
    """A file output, a folder output of unique files, a `cache: false` metric, and a
    data input (raw.csv) besides data no stage uses (extra.csv, added by hand)."""
    proj.write("raw.csv", "a,b\n1,2\n")
    proj.write("extra.csv", "x\n")
    proj.pipeline(
        {
            "train": {
                "cmd": proj.cmd(
                    ["cat", "model.pkl", "raw.csv", "raw.csv"],
                    ["mkfiles", "feats", "4", "unique-"],
                    ["write", "metrics.json", '{"acc": 1}'],
                ),
                "deps": ["raw.csv"],
                "outs": ["model.pkl", "feats"],
                "metrics": [{"metrics.json": {"cache": False}}],
            }
        }
    )
    proj.ok("repro")
    proj.ok("add", "extra.csv")


def drop(proj: Proj, digest: str) -> str:
    """Delete the object; its bare hex."""
    path = proj.object_path(digest)
    os.chmod(path, 0o644)
    path.unlink()
    return digest.split(":", 1)[1]


def summary(stdout: str) -> str:
    return stdout.strip().splitlines()[-1]


def test_a_missing_file_object_fails_verify_and_names_the_stage_and_output(proj: Proj) -> None:
    two_outputs(proj)
    proj.ok("cache", "verify")
    model = drop(proj, proj.out_record("train", "model.pkl")["digest"])
    # a `cache: false` output is git's to keep: its object is not needed
    drop(proj, proj.out_record("train", "metrics.json")["digest"])
    proc = proj.fails("cache", "verify")
    assert f"missing  xxh3-128:{model} (stage 'train', output 'model.pkl')" in proc.stdout
    assert "metrics.json" not in proc.stdout
    assert summary(proc.stdout).endswith("0 corrupt, 1 missing that mlrepro.lock needs.")
    error = [ln for ln in proc.stderr.splitlines() if ln.startswith("error: ")]
    assert error == ["error: 1 object(s) that mlrepro.lock needs are not in the cache"]
    hint = proc.stderr.splitlines()[-1]
    assert hint.startswith("hint: ") and "--repair" in hint and "repro" in hint, hint


def test_missing_folder_objects_are_named_inside_the_folder(proj: Proj) -> None:
    two_outputs(proj)
    inner = drop(proj, xxh_file(proj.root / "feats/d1/f1.txt"))
    proc = proj.fails("cache", "verify")
    line = f"missing  xxh3-128:{inner} (stage 'train', output 'feats', file 'd1/f1.txt')"
    assert line in proc.stdout.splitlines()
    # the tree object gone: its files cannot be listed, the tree itself is named
    tree = drop(proj, proj.out_record("train", "feats")["digest"])
    proc = proj.fails("cache", "verify")
    assert f"missing  xxh3-128:{tree} (stage 'train', output 'feats', its tree object)" in (
        proc.stdout.splitlines()
    )
    assert inner not in proc.stdout


def test_missing_data_objects_are_named_as_data(proj: Proj) -> None:
    two_outputs(proj)
    raw = drop(proj, proj.data_records()["raw.csv"]["digest"])
    extra = drop(proj, proj.data_records()["extra.csv"]["digest"])
    proc = proj.fails("cache", "verify")
    assert f"missing  xxh3-128:{raw} (data 'raw.csv')" in proc.stdout
    assert f"missing  xxh3-128:{extra} (data 'extra.csv')" in proc.stdout
    assert summary(proc.stdout).endswith("2 missing that mlrepro.lock needs.")


def test_repair_caches_again_what_the_workspace_holds(proj: Proj) -> None:
    two_outputs(proj)
    before = set(proj.objects())
    drop(proj, proj.out_record("train", "model.pkl")["digest"])
    drop(proj, xxh_file(proj.root / "feats/d2/f2.txt"))
    drop(proj, proj.data_records()["extra.csv"]["digest"])
    proc = proj.ok("cache", "verify", "--repair")
    for path in ("model.pkl", "feats", "extra.csv"):
        assert f"re-cached {path} from the workspace" in proc.stdout
    assert summary(proc.stdout).endswith("0 corrupt, 0 missing that mlrepro.lock needs.")
    assert set(proj.objects()) >= before - {proj.out_record("train", "metrics.json")["digest"]}
    proj.ok("cache", "verify")
    proj.assert_cache_verifies()


def test_repair_fails_on_what_nothing_holds_any_more(proj: Proj) -> None:
    two_outputs(proj)
    model = drop(proj, proj.out_record("train", "model.pkl")["digest"])
    os.unlink(proj.root / "model.pkl")
    shutil.rmtree(proj.root / "feats")  # still in the cache: not reported
    proc = proj.fails("cache", "verify", "--repair")
    assert f"missing  xxh3-128:{model} (stage 'train', output 'model.pkl')" in proc.stdout
    assert "feats" not in proc.stdout
    assert "re-cached" not in proc.stdout
    hint = proc.stderr.splitlines()[-1]
    assert "mlrepro repro" in hint and "remote" in hint and "--repair" not in hint, hint
    # the way out the hint names
    proj.ok("repro")
    proj.ok("cache", "verify")


def test_corrupt_and_missing_together(proj: Proj) -> None:
    two_outputs(proj)
    model = drop(proj, proj.out_record("train", "model.pkl")["digest"])
    victim = proj.object_path(proj.data_records()["raw.csv"]["digest"])
    os.chmod(victim, 0o644)
    victim.write_bytes(b"tampered")
    proc = proj.fails("cache", "verify")
    assert f"corrupt  xxh3-128:{victim.parent.name}{victim.name}" in proc.stdout
    assert f"missing  xxh3-128:{model}" in proc.stdout
    assert "error: 1 corrupt object(s) in the cache, and 1 object(s)" in proc.stderr
    # repair removes the corrupt one and caches both again from the workspace
    proc = proj.ok("cache", "verify", "--repair")
    assert "re-cached raw.csv" in proc.stdout and "re-cached model.pkl" in proc.stdout
    proj.ok("cache", "verify")


def test_an_invalid_pipeline_is_reported_not_taken_for_a_complete_cache(proj: Proj) -> None:
    two_outputs(proj)
    drop(proj, proj.out_record("train", "model.pkl")["digest"])
    proj.write("dvc.yaml", "stages:\n  train:\n    cmd: [unclosed\n")
    proc = proj.fails("cache", "verify")
    assert "error: mlrepro.lock could not be checked against the cache: dvc.yaml" in proc.stderr
    assert "fix the pipeline" in proc.stderr
