"""Corners where DVC's behaviour decides (DESIGN.md, decision 1); the cache stays immutable.

References are to DVC 3 as installed with the test extras:
``dvc/stage/__init__.py`` (``is_callback``), ``dvc/stage/cache.py`` (``_can_hash``),
``dvc/stage/run.py`` (``run_stage``), ``dvc/repo/checkout.py`` (``with_deps=False``).
"""

from __future__ import annotations

import json
import os

from tests.ops.conftest import Proj, xxh_file


def test_callback_stage_runs_every_time(proj: Proj) -> None:
    log = str(proj.ext("runs.log"))
    proj.pipeline({"notify": {"cmd": proj.cmd(["log", log, "notify"])}})
    proj.ok("repro")
    proj.ok("repro")
    assert proj.runs("notify") == 2


def test_stage_without_deps_is_not_restored_from_the_run_cache(proj: Proj) -> None:
    log = str(proj.ext("runs.log"))
    proj.pipeline(
        {
            "fetch": {
                "cmd": proj.cmd(["log", log, "fetch"], ["write", "now.txt", "x"]),
                "outs": ["now.txt"],
            }
        }
    )
    proj.ok("repro")
    os.unlink(proj.root / "now.txt")
    proj.ok("repro")
    assert proj.runs("fetch") == 2


def test_cache_false_output_is_kept_for_the_run_cache_only(proj: Proj) -> None:
    # As DVC's run-cache does (StageCache.save commits uncached outputs), mlrepro keeps
    # `cache: false` outputs in the local cache so a run can be restored; checkout
    # leaves them to git (docs/format.md, "Run-cache").
    proj.pipeline(
        {
            "s": {
                "cmd": proj.cmd(
                    ["write", "big.bin", "not for the cache"], ["write", "m.bin", "cached"]
                ),
                "deps": [str(proj.tool)],
                "outs": [{"big.bin": {"cache": False}}, "m.bin"],
            }
        }
    )
    proj.ok("repro")
    assert xxh_file(proj.root / "m.bin").split(":")[1] in proj.objects()
    assert xxh_file(proj.root / "big.bin").split(":")[1] in proj.objects()
    os.unlink(proj.root / "big.bin")
    os.unlink(proj.root / "m.bin")
    proj.ok("checkout")
    assert (proj.root / "m.bin").exists()
    assert not (proj.root / "big.bin").exists()


def test_checkout_target_restores_only_that_stage(proj: Proj) -> None:
    proj.pipeline(
        {
            "prep": {"cmd": proj.cmd(["write", "prep.txt", "p"]), "outs": ["prep.txt"]},
            "train": {
                "cmd": proj.cmd(["cat", "model.txt", "prep.txt"]),
                "deps": ["prep.txt"],
                "outs": ["model.txt"],
            },
        }
    )
    proj.ok("repro")
    os.unlink(proj.root / "prep.txt")
    os.unlink(proj.root / "model.txt")
    proj.ok("checkout", "train")
    assert (proj.root / "model.txt").read_text() == "p"
    assert not (proj.root / "prep.txt").exists()


def test_persist_output_hardlinked_from_the_cache_is_unprotected_before_running(proj: Proj) -> None:
    config = proj.root / ".mlrepro" / "config.json"
    doc = json.loads(config.read_text())
    doc["cache"] = {"type": ["hardlink", "copy"]}
    config.write_text(json.dumps(doc))
    proj.params({"n": 1})
    proj.pipeline(
        {
            "grow": {
                "cmd": proj.cmd(["append", "hist.txt", "run;"]),
                "params": ["n"],
                "outs": [{"hist.txt": {"persist": True}}],
            }
        }
    )
    proj.ok("repro")
    os.unlink(proj.root / "hist.txt")
    proj.ok("checkout")
    assert proj.read("hist.txt") == "run;"
    proj.params({"n": 2})
    proc = proj.mlrepro("repro")
    proj.assert_cache_verifies()
    assert proc.returncode == 0, proc.stderr
    assert proj.read("hist.txt") == "run;run;"
