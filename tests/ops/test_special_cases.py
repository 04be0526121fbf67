"""Corners found by the benchmarks: callback stages, and params DVC reads as inf/nan."""

from __future__ import annotations

from tests.ops.conftest import Proj


def test_stage_with_outputs_but_no_deps_is_not_rerun(proj: Proj) -> None:
    # DVC's callback rule: only a stage with neither dependencies nor outputs always runs.
    log = str(proj.ext("runs.log"))
    proj.pipeline(
        {"gen": {"cmd": proj.cmd(["log", log, "gen"], ["write", "g.txt", "g"]), "outs": ["g.txt"]}}
    )
    proj.ok("repro")
    proj.ok("repro")
    assert proj.runs("gen") == 1
    assert "Everything is up to date." in proj.ok("status").stdout


def test_infinite_and_nan_params_do_not_break_repro(proj: Proj) -> None:
    log = str(proj.ext("runs.log"))
    proj.write("params.yaml", "lo: -.inf\nhi: .inf\nmissing: .nan\n")
    proj.pipeline(
        {
            "s": {
                "cmd": proj.cmd(["log", log, "s"], ["write", "o.txt", "x"]),
                "params": ["lo", "hi", "missing"],
                "outs": ["o.txt"],
            }
        }
    )
    proj.ok("repro")
    assert proj.runs("s") == 1
    lock = proj.lock_text()
    assert '"hi": .inf' in lock and '"lo": -.inf' in lock and '"missing": .nan' in lock
    proj.ok("repro", "--no-run-cache")
