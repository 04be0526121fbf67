"""``mlrepro repro`` and ``status --check`` end to end: what runs, is recorded, is cached."""

from __future__ import annotations

import json
import os

import pytest
import yaml

from tests.ops.conftest import Proj, xxh_file


def two_stage(proj: Proj) -> None:
    """prepare: raw.txt -> mid.txt; train: mid.txt + params -> model/ (a folder)."""
    log = str(proj.ext("runs.log"))
    proj.write("raw.txt", "raw data\n")
    proj.params({"model": {"lr": 0.1, "depth": 3}, "seed": 1})
    proj.pipeline(
        {
            "prepare": {
                "cmd": proj.cmd(["log", log, "prepare"], ["cat", "mid.txt", "raw.txt", "raw.txt"]),
                "deps": ["raw.txt"],
                "outs": ["mid.txt"],
            },
            "train": {
                "cmd": proj.cmd(
                    ["log", log, "train"],
                    ["cat", "model/weights.bin", "mid.txt"],
                    ["param", "model/lr.json", "params.yaml", "model.lr"],
                ),
                "deps": ["mid.txt"],
                "params": ["model.lr"],
                "outs": ["model"],
            },
        }
    )
    proj.commit("pipeline")


def test_first_repro_runs_everything_then_nothing(proj: Proj) -> None:
    two_stage(proj)
    first = proj.ok("repro")
    assert proj.runs("prepare") == 1 and proj.runs("train") == 1
    assert "Done: 2 ran" in first.stdout
    assert proj.read("mid.txt") == "raw data\nraw data\n"
    assert proj.read("model/weights.bin") == "raw data\nraw data\n"
    assert proj.read("model/lr.json") == "0.1"

    stages = proj.locked_stages()
    assert sorted(stages) == ["prepare", "train"]
    mid = proj.out_record("prepare", "mid.txt")
    assert mid["digest"] == xxh_file(proj.root / "mid.txt")
    assert mid["sha256"].startswith("sha256:") and len(mid["sha256"]) == 7 + 64
    assert mid["size"] == len("raw data\n") * 2
    assert stages["prepare"]["deps"][0]["path"] == "raw.txt"
    assert stages["prepare"]["deps"][0]["digest"] == xxh_file(proj.root / "raw.txt")
    model = proj.out_record("train", "model")
    assert model["isdir"] is True and model["nfiles"] == 2
    assert stages["train"]["params"] == {"params.yaml": {"model.lr": 0.1}}
    # the train stage's dependency on mid.txt carries prepare's output digest
    assert stages["train"]["deps"][0]["digest"] == mid["digest"]

    # every output file is in the cache, under its own digest, and verifies
    objects = proj.objects()
    for f in ("mid.txt", "model/weights.bin", "model/lr.json"):
        assert xxh_file(proj.root / f).split(":")[1] in objects, f
    assert model["digest"].split(":")[1] in objects  # the tree object
    proj.assert_cache_verifies()
    # cached outputs are kept out of git
    ignored = proj.read(".gitignore").splitlines()
    assert "/mid.txt" in ignored and "/model" in ignored

    lock_before = proj.lock_text()
    second = proj.ok("repro")
    assert "Everything is up to date." in second.stdout
    assert proj.runs("prepare") == 1 and proj.runs("train") == 1
    assert proj.lock_text() == lock_before

    status = proj.ok("status")
    assert status.stdout.strip() == "Everything is up to date."
    proj.ok("status", "--check")


def test_status_check_exit_code_after_a_change(proj: Proj) -> None:
    two_stage(proj)
    proj.ok("repro")
    proj.ok("status", "--check")
    proj.write("raw.txt", "new raw data\n")
    proc = proj.fails("status", "--check", code=3)
    assert "prepare" in proc.stdout and "train" in proc.stdout
    # without --check a change is not an error
    proj.ok("status")
    proj.ok("repro")
    assert proj.runs("prepare") == 2 and proj.runs("train") == 2
    proj.ok("status", "--check")


def test_only_what_changed_runs(proj: Proj) -> None:
    two_stage(proj)
    proj.ok("repro")
    proj.params({"model": {"lr": 0.5, "depth": 3}, "seed": 1})
    proj.ok("repro")
    assert proj.runs("prepare") == 1 and proj.runs("train") == 2
    assert proj.read("model/lr.json") == "0.5"
    # an untracked param changing runs nothing
    proj.params({"model": {"lr": 0.5, "depth": 4}, "seed": 2})
    proj.ok("status", "--check")
    proj.ok("repro")
    assert proj.runs("train") == 2


# -- failures -------------------------------------------------------------------


def failing_pipeline(proj: Proj) -> None:
    """a_ok; b_bad (writes its output, then fails); c_after needs b_bad; d_indep is alone."""
    log = str(proj.ext("runs.log"))
    proj.pipeline(
        {
            "a_ok": {
                "cmd": proj.cmd(["log", log, "a_ok"], ["write", "a.txt", "a"]),
                "deps": [str(proj.tool)],  # not a callback stage: those always run
                "outs": ["a.txt"],
            },
            "b_bad": {
                "cmd": proj.cmd(
                    ["log", log, "b_bad"], ["write", "b.txt", "partial-b-output"], ["fail", "3"]
                ),
                "outs": ["b.txt"],
            },
            "c_after": {
                "cmd": proj.cmd(["log", log, "c_after"], ["cat", "c.txt", "b.txt"]),
                "deps": ["b.txt"],
                "outs": ["c.txt"],
            },
            "d_indep": {
                "cmd": proj.cmd(["log", log, "d_indep"], ["write", "d.txt", "d"]),
                "deps": [str(proj.tool)],
                "outs": ["d.txt"],
            },
        }
    )


def test_failing_stage_stops_the_run_and_records_nothing_for_it(proj: Proj) -> None:
    failing_pipeline(proj)
    proc = proj.fails("repro", "-j", "1")
    assert "b_bad" in proc.stderr
    assert "status 3" in proc.stderr
    error_lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("error: ")]
    assert len(error_lines) == 1 and "'b_bad'" in error_lines[0]
    # a_ok ran before (run order is by id) and is recorded; b_bad is not, nor what needs it
    stages = proj.locked_stages()
    assert "a_ok" in stages
    assert "b_bad" not in stages and "c_after" not in stages
    assert proj.runs("c_after") == 0
    # without --keep-going nothing new starts after the failure
    assert proj.runs("d_indep") == 0 and "d_indep" not in stages
    # the failed stage's output never reached the cache or the run-cache
    partial = xxh_file(proj.root / "b.txt").split(":")[1]
    assert partial not in proj.objects()
    assert len(proj.run_entries()) == 1  # a_ok's
    proj.assert_cache_verifies()


def test_keep_going_runs_independent_branches(proj: Proj) -> None:
    failing_pipeline(proj)
    proc = proj.fails("repro", "-j", "1", "--keep-going")
    assert "b_bad" in proc.stderr
    stages = proj.locked_stages()
    assert sorted(stages) == ["a_ok", "d_indep"]
    assert proj.runs("d_indep") == 1
    assert proj.runs("c_after") == 0  # blocked: its input failed
    assert not (proj.root / "c.txt").exists()
    assert len(proj.run_entries()) == 2
    # fixing the stage and running again runs only what is left
    proj.pipeline(
        {
            **{
                k: v
                for k, v in yaml.safe_load(proj.read("dvc.yaml"))["stages"].items()
                if k != "b_bad"
            },
            "b_bad": {"cmd": proj.cmd(["write", "b.txt", "fixed"]), "outs": ["b.txt"]},
        }
    )
    proj.ok("repro", "-j", "1")
    assert proj.runs("a_ok") == 1 and proj.runs("d_indep") == 1 and proj.runs("c_after") == 1
    assert proj.read("c.txt") == "fixed"


def test_missing_declared_output_fails_naming_it(proj: Proj) -> None:
    proj.pipeline(
        {
            "lazy": {
                "cmd": proj.cmd(["write", "made.txt", "x"]),
                "outs": ["made.txt", "never/made.bin"],
            }
        }
    )
    proc = proj.fails("repro")
    assert "lazy" in proc.stderr
    assert "never/made.bin" in proc.stderr
    assert "lazy" not in proj.locked_stages()
    assert proj.run_entries() == []
    assert xxh_file(proj.root / "made.txt").split(":")[1] not in proj.objects()


# -- persist and cache: false ---------------------------------------------------


def test_persist_output_is_kept_and_others_are_deleted_before_the_run(proj: Proj) -> None:
    proj.params({"n": 1})
    proj.pipeline(
        {
            "grow": {
                # the persistent output is appended to; the plain one must be gone at start
                "cmd": proj.cmd(
                    ["absent", "fresh.txt"],
                    ["append", "history.txt", "run;"],
                    ["append", "fresh.txt", "run;"],
                ),
                "params": ["n"],
                "outs": [{"history.txt": {"persist": True}}, "fresh.txt"],
            }
        }
    )
    proj.ok("repro")
    assert proj.read("history.txt") == "run;"
    proj.params({"n": 2})
    proj.ok("repro")
    assert proj.read("history.txt") == "run;run;"
    assert proj.read("fresh.txt") == "run;"
    rec = proj.out_record("grow", "history.txt")
    assert rec["digest"] == xxh_file(proj.root / "history.txt")
    proj.ok("status", "--check")


def test_cache_false_output_is_recorded_but_not_checked_out(proj: Proj) -> None:
    proj.pipeline(
        {
            "report": {
                "cmd": proj.cmd(
                    ["write", "metrics.json", '{"acc": 0.9}'], ["write", "model.bin", "M"]
                ),
                "outs": ["model.bin"],
                "metrics": [{"metrics.json": {"cache": False}}],
            }
        }
    )
    proj.ok("repro")
    rec = proj.out_record("report", "metrics.json")
    assert rec["digest"] == xxh_file(proj.root / "metrics.json")
    assert rec["sha256"].startswith("sha256:")
    # git keeps it, not mlrepro: it is not ignored
    ignored = proj.read(".gitignore").splitlines()
    assert "/metrics.json" not in ignored and "/model.bin" in ignored
    os.unlink(proj.root / "metrics.json")
    os.unlink(proj.root / "model.bin")
    proj.ok("checkout")
    assert (proj.root / "model.bin").read_text() == "M"
    assert not (proj.root / "metrics.json").exists()
    # status says the output is missing; repro rebuilds it
    why = proj.ok("status", "--why").stdout
    assert "output 'metrics.json' is missing" in why


# -- targets, --dry, --downstream, --single-item, groups --------------------------


def chain_with_group(proj: Proj) -> None:
    """prep -> train@a, train@b -> report; other is independent."""
    log = str(proj.ext("runs.log"))
    proj.pipeline(
        {
            "prep": {
                "cmd": proj.cmd(["log", log, "prep"], ["write", "prep.txt", "p"]),
                "deps": [str(proj.tool)],  # not a callback stage: those always run
                "outs": ["prep.txt"],
            },
            "train": {
                "foreach": ["a", "b"],
                "do": {
                    "cmd": proj.cmd(
                        ["log", log, "train@${item}"], ["cat", "model-${item}.txt", "prep.txt"]
                    ),
                    "deps": ["prep.txt"],
                    "outs": ["model-${item}.txt"],
                },
            },
            "report": {
                "cmd": proj.cmd(
                    ["log", log, "report"], ["cat", "report.txt", "model-a.txt", "model-b.txt"]
                ),
                "deps": ["model-a.txt", "model-b.txt"],
                "outs": ["report.txt"],
            },
            "other": {
                "cmd": proj.cmd(["log", log, "other"], ["write", "other.txt", "o"]),
                "deps": [str(proj.tool)],
                "outs": ["other.txt"],
            },
        }
    )


ALL = ("prep", "train@a", "train@b", "report", "other")


def counts(proj: Proj) -> dict[str, int]:
    return {s: proj.runs(s) for s in ALL}


def test_dry_runs_nothing_and_lists_what_would_run(proj: Proj) -> None:
    chain_with_group(proj)
    proc = proj.ok("repro", "--dry")
    assert counts(proj) == dict.fromkeys(ALL, 0)
    assert not (proj.root / "mlrepro.lock").exists()
    assert not (proj.root / "prep.txt").exists()
    for sid in ALL:
        assert f"would run '{sid}'" in proc.stdout
    proj.ok("repro")
    proj.write("prep.txt", "edited by hand")
    proc = proj.ok("repro", "--dry")
    would = sorted(
        ln.split("'")[1] for ln in proc.stdout.splitlines() if ln.startswith("would run")
    )
    # the edited output comes back from the cache as recorded (as DVC's run-cache does),
    # so the stages after it have nothing to do
    assert "would restore 'prep' from the cache: output 'prep.txt' was modified" in proc.stdout
    assert would == []
    assert proj.read("prep.txt") == "edited by hand"
    assert counts(proj) == dict.fromkeys(ALL, 1)


def test_target_runs_it_and_its_upstream_only(proj: Proj) -> None:
    chain_with_group(proj)
    proj.ok("repro", "train@a")
    assert counts(proj) == {"prep": 1, "train@a": 1, "train@b": 0, "report": 0, "other": 0}
    assert sorted(proj.locked_stages()) == ["prep", "train@a"]


def test_group_name_runs_every_member(proj: Proj) -> None:
    chain_with_group(proj)
    proj.ok("repro", "train")
    assert counts(proj) == {"prep": 1, "train@a": 1, "train@b": 1, "report": 0, "other": 0}


def test_downstream_runs_the_target_and_what_depends_on_it(proj: Proj) -> None:
    chain_with_group(proj)
    proj.ok("repro")
    proj.write("prep.txt", "edited")  # prep would run again ...
    proj.ok("repro", "--downstream", "train@a", "-f")
    # ... but --downstream starts at the target: train@a and report run, nothing upstream
    assert counts(proj) == {"prep": 1, "train@a": 2, "train@b": 1, "report": 2, "other": 1}
    assert proj.read("model-a.txt") == "edited"


def test_single_item_ignores_upstream_changes(proj: Proj) -> None:
    chain_with_group(proj)
    proj.ok("repro")
    proj.write("prep.txt", "changed by hand")
    proj.ok("repro", "-s", "train@b")
    assert counts(proj) == {"prep": 1, "train@a": 1, "train@b": 2, "report": 1, "other": 1}
    assert proj.read("model-b.txt") == "changed by hand"
    assert proj.read("prep.txt") == "changed by hand"


def test_unknown_target_is_a_usage_error(proj: Proj) -> None:
    chain_with_group(proj)
    proc = proj.fails("repro", "nosuch", code=2)
    assert "nosuch" in proc.stderr
    assert counts(proj) == dict.fromkeys(ALL, 0)


def test_commands_work_from_a_subfolder(proj: Proj) -> None:
    two_stage(proj)
    (proj.root / "deep" / "er").mkdir(parents=True)
    sub = proj.root / "deep" / "er"
    proj.ok("repro", cwd=sub)
    assert proj.read("model/lr.json") == "0.1"
    assert sorted(proj.locked_stages()) == ["prepare", "train"]
    doc = json.loads(proj.ok("status", "--json", cwd=sub).stdout)
    assert doc["version"] == 1 and doc["changed"] is False
    assert all(s["changed"] is False and s["reasons"] == [] for s in doc["stages"])
    os.unlink(proj.root / "mid.txt")
    proj.ok("checkout", cwd=sub)
    assert proj.read("mid.txt") == "raw data\nraw data\n"


@pytest.mark.slow
def test_unreadable_or_unknown_lock_file_is_a_clear_error(proj: Proj) -> None:
    two_stage(proj)
    proj.ok("repro")
    good = proj.lock_text()
    for text, fragment in (
        ("stages: [\n", "mlrepro.lock"),
        ("version: 99\nstages: {}\n", "version 99"),
    ):
        proj.write("mlrepro.lock", text)
        for args in (("status",), ("repro",), ("checkout",)):
            proc = proj.fails(*args)
            first = proc.stderr.splitlines()[0]
            assert first.startswith("error: ") and fragment in first, (args, proc.stderr)
        # nothing ran and nothing overwrote the file
        assert proj.read("mlrepro.lock") == text
        assert proj.runs("prepare") == 1
    proj.write("mlrepro.lock", good)
    proj.ok("status", "--check")


def test_each_command_is_echoed_as_it_starts_and_quiet_keeps_errors(proj: Proj) -> None:
    """Issue 14: as DVC does, ``> CMD`` for each command of a stage before its output;
    ``-q`` drops the progress lines, never a command's output or the error."""
    first = proj.cmd(["write", "a.txt", "a"])
    second = f"{first} && echo second-says-hi"
    proj.write("in.txt", "in\n")
    proj.pipeline(
        {
            "two": {"cmd": [first, second], "deps": ["in.txt"], "outs": ["a.txt"]},
            "bad": {"cmd": proj.cmd(["fail", "3"]), "deps": ["a.txt"], "outs": ["b.txt"]},
        }
    )
    proc = proj.mlrepro("repro", "-j", "1")
    assert proc.returncode == 1
    lines = proc.stdout.splitlines()
    assert lines.index(f"> {first}") < lines.index(f"> {second}")
    assert lines.index(f"> {second}") < lines.index("[two] second-says-hi")
    assert lines.index("Running stage 'two': never run (no entry in mlrepro.lock)") < (
        lines.index(f"> {first}")
    )
    assert f"> {proj.cmd(['fail', '3'])}" in lines

    proj.write("in.txt", "in v2\n")
    quiet = proj.mlrepro("repro", "-q")
    assert quiet.returncode == 1
    # the commands' own output stays, the progress goes
    assert quiet.stdout.splitlines() == ["[two] second-says-hi", "[bad] tool: failing on purpose"]
    assert "error: stage 'bad' failed: command exited with status 3" in quiet.stderr
    assert "Stage 'bad' failed" in quiet.stderr

    proj.pipeline({"two": {"cmd": [first, second], "deps": ["in.txt"], "outs": ["a.txt"]}})
    assert proj.ok("repro", "-q").stdout == ""  # up to date: nothing at all
