"""``mlrepro repro`` (mlrepro/cli/repro.py) through the real CLI: the progress lines it
prints, its summary, ``--quiet`` and ``--dry`` output, the error it raises for failed
stages and the validation of its option values (docs/cli.md, "mlrepro repro").

What runs and what is recorded is tests/ops/test_repro.py's subject; here, what the
command module itself decides."""

from __future__ import annotations

import re

import pytest

from tests.ops.conftest import Proj


def params_and_plain(proj: Proj) -> str:
    """``a`` tracks the param ``n``; ``b`` does not. Returns the counter file."""
    log = str(proj.ext("runs.log"))
    proj.params({"n": 1})
    proj.write("in.txt", "in\n")
    proj.pipeline(
        {
            "a": {
                "cmd": proj.cmd(["log", log, "a"], ["param", "a.txt", "params.yaml", "n"]),
                "deps": ["in.txt"],
                "params": ["n"],
                "outs": ["a.txt"],
            },
            "b": {
                "cmd": proj.cmd(["log", log, "b"], ["write", "b.txt", "b"]),
                "deps": ["in.txt"],
                "outs": ["b.txt"],
            },
        }
    )
    return log


def test_each_stage_is_announced_with_its_reason_and_the_summary_counts_runs(
    proj: Proj,
) -> None:
    params_and_plain(proj)
    lines = proj.ok("repro", "-j", "1").stdout.splitlines()
    a_cmd = proj.cmd(
        ["log", str(proj.ext("runs.log")), "a"], ["param", "a.txt", "params.yaml", "n"]
    )
    start = lines.index("Running stage 'a': never run (no entry in mlrepro.lock)")
    assert lines[start + 1] == f"> {a_cmd}"
    assert re.fullmatch(r"Stage 'a' finished in \S+", lines[start + 2]), lines
    assert "Running stage 'b': never run (no entry in mlrepro.lock)" in lines
    assert lines[-1] == "Done: 2 ran, 0 restored from the run-cache."

    # a changed param: the reason is the one status gives, the other stage says it is skipped
    proj.params({"n": 2})
    lines = proj.ok("repro", "-j", "1").stdout.splitlines()
    assert "Running stage 'a': param 'n' changed: 1 -> 2" in lines
    assert "Stage 'b' is up to date" in lines
    assert lines[-1] == "Done: 1 ran, 0 restored from the run-cache."


def test_a_restore_from_the_run_cache_is_announced_and_counted_apart(proj: Proj) -> None:
    params_and_plain(proj)
    proj.ok("repro")
    proj.params({"n": 2})
    proj.ok("repro")
    proj.params({"n": 1})
    proc = proj.ok("repro")
    assert proc.stdout.splitlines() == [
        "Stage 'a' restored from the run-cache",
        "Stage 'b' is up to date",
        "Done: 0 ran, 1 restored from the run-cache.",
    ]
    assert proj.runs("a") == 2 and proj.read("a.txt") == "1"


def test_nothing_to_do_says_so_and_dry_says_so_too(proj: Proj) -> None:
    params_and_plain(proj)
    proj.ok("repro")
    assert proj.ok("repro").stdout.splitlines() == [
        "Stage 'a' is up to date",
        "Stage 'b' is up to date",
        "Everything is up to date.",
    ]
    # --dry lists only what it would do
    assert proj.ok("repro", "--dry").stdout == "Everything is up to date.\n"


def test_quiet_prints_nothing_of_its_own(proj: Proj) -> None:
    """docs/cli.md: ``-q`` drops which stage runs, ``> CMD`` and the summary."""
    params_and_plain(proj)
    proc = proj.ok("repro", "-q")
    assert (proc.stdout, proc.stderr) == ("", "")
    assert proj.runs("a") == 1 and proj.runs("b") == 1
    proj.ok("repro", "-q")  # up to date: not even "Everything is up to date."
    assert proj.ok("repro", "--quiet").stdout == ""
    proj.params({"n": 5})
    dry = proj.ok("repro", "--dry", "-q")
    assert dry.stdout == "" and proj.runs("a") == 1  # --dry ran nothing and said nothing
    assert "would run 'a'" in proj.ok("repro", "--dry").stdout


def test_failed_stages_are_named_in_one_error_line_with_a_hint(proj: Proj) -> None:
    proj.write("in.txt", "in\n")
    proj.pipeline(
        {
            "bad1": {"cmd": proj.cmd(["fail", "3"]), "deps": ["in.txt"], "outs": ["x.txt"]},
            "bad2": {"cmd": proj.cmd(["fail", "4"]), "deps": ["in.txt"], "outs": ["y.txt"]},
            "good": {
                "cmd": proj.cmd(["write", "z.txt", "z"]),
                "deps": ["in.txt"],
                "outs": ["z.txt"],
            },
        }
    )
    proc = proj.fails("repro", "-k", "-j", "1")
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("error: ")]
    assert len(errors) == 1, proc.stderr
    assert re.fullmatch(
        r"error: stage '(bad1', 'bad2|bad2', 'bad1)' failed: command exited with status [34]",
        errors[0],
    ), errors
    hints = [ln for ln in proc.stderr.splitlines() if ln.startswith("hint: ")]
    assert hints == ["hint: fix the stage and run `mlrepro repro` again; finished stages are kept"]
    # each failure is also reported as it happens, on standard error
    assert "Stage 'bad1' failed: command exited with status 3" in proc.stderr
    assert "Stage 'bad2' failed: command exited with status 4" in proc.stderr
    # the summary is not printed for a failed run; the good stage finished and is kept
    assert "Done:" not in proc.stdout
    assert sorted(proj.locked_stages()) == ["good"]


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["-j", "0"], "invalid value for '-j' / '--jobs': 0 is not in the range x>=1"),
        (
            ["--jobs", "two"],
            "invalid value for '-j' / '--jobs': 'two' is not a valid integer range",
        ),
        (["--wait", "soon"], "invalid value for '--wait': 'soon' is not a valid float"),
        (["--no-such-option"], "no such option '--no-such-option'"),
    ],
)
def test_bad_option_values_are_refused_before_anything_runs(
    proj: Proj, args: list[str], fragment: str
) -> None:
    log = params_and_plain(proj)
    proc = proj.fails("repro", *args, code=2)
    assert proc.stdout == ""
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("error: ")]
    assert len(errors) == 1 and errors[0].endswith(f"{fragment}."), proc.stderr
    assert proj.runs("a", log) == 0
    assert not (proj.root / "mlrepro.lock").exists()
