"""``mlrepro cache verify`` (mlrepro/cli/cache.py) through the real CLI: its problem lines
(``corrupt``, ``missing``, ``re-cached``, with ``(removed)`` under ``--repair``), its two
summary lines, and which error and hint it ends with, or exit 0 (docs/cli.md, "mlrepro
cache verify").

What verify checks and repairs is tests/ops/test_cache.py's subject."""

from __future__ import annotations

import xxhash

from tests.ops.conftest import Proj


def one_stage(proj: Proj) -> None:
    """a: in.txt -> a.txt, the same bytes, so the data input and the output share an object."""
    proj.write("in.txt", "in\n")
    proj.pipeline(
        {"a": {"cmd": proj.cmd(["cat", "a.txt", "in.txt"]), "deps": ["in.txt"], "outs": ["a.txt"]}}
    )
    proj.ok("repro")


def test_an_empty_and_a_sound_cache_give_the_two_summary_lines_and_exit_0(proj: Proj) -> None:
    empty = proj.ok("cache", "verify")
    assert (empty.stdout, empty.stderr) == (
        "0 run-cache entries checked, 0 not bound to the audit log.\n"
        "0 objects checked, 0 corrupt, 0 missing that mlrepro.lock needs.\n",
        "",
    )
    one_stage(proj)
    # one run-cache entry: "entry", not "entries"
    assert proj.ok("cache", "verify").stdout == (
        "1 run-cache entry checked, 0 not bound to the audit log.\n"
        "1 objects checked, 0 corrupt, 0 missing that mlrepro.lock needs.\n"
    )


def test_a_corrupt_object_is_listed_fails_and_is_removed_by_repair(proj: Proj) -> None:
    one_stage(proj)
    proj.write("x.txt", "old\n")
    proj.ok("add", "x.txt")
    proj.write("x.txt", "new\n")
    proj.ok("add", "x.txt")  # the object of "old\n" stays in the cache, needed by nothing
    hexd = xxhash.xxh3_128_hexdigest(b"old\n")
    obj = proj.cache / "xxh3-128" / hexd[:2] / hexd[2:]
    obj.chmod(0o644)
    obj.write_bytes(b"junk")

    proc = proj.fails("cache", "verify")
    assert proc.stdout.splitlines() == [
        f"corrupt  xxh3-128:{hexd}",
        "1 run-cache entry checked, 0 not bound to the audit log.",
        "3 objects checked, 1 corrupt, 0 missing that mlrepro.lock needs.",
    ]
    assert proc.stderr.splitlines() == [
        "error: 1 corrupt object(s) in the cache",
        "hint: run `mlrepro cache verify --repair`, then rebuild them (repro, add)",
    ]
    assert obj.exists()  # without --repair it only reads

    repaired = proj.ok("cache", "verify", "--repair")
    assert repaired.stdout.splitlines()[0] == f"corrupt  xxh3-128:{hexd}  (removed)"
    assert repaired.stderr == "" and not obj.exists()
    assert proj.ok("cache", "verify").stdout.splitlines()[1] == (
        "2 objects checked, 0 corrupt, 0 missing that mlrepro.lock needs."
    )


def test_a_missing_object_is_named_once_per_use_but_counted_once(proj: Proj) -> None:
    one_stage(proj)
    digest = proj.out_record("a", "a.txt")["digest"]
    proj.object_path(digest).unlink()
    proc = proj.fails("cache", "verify")
    assert proc.stdout.splitlines() == [
        f"missing  {digest} (stage 'a', output 'a.txt')",
        f"missing  {digest} (data 'in.txt')",
        "1 run-cache entry checked, 0 not bound to the audit log.",
        "0 objects checked, 0 corrupt, 1 missing that mlrepro.lock needs.",
    ]
    assert proc.stderr.splitlines()[0] == (
        "error: 1 object(s) that mlrepro.lock needs are not in the cache"
    )
    assert proc.stderr.splitlines()[1].startswith("hint: run `mlrepro cache verify --repair`")

    # the workspace still holds the bytes: --repair says it cached them again, and passes
    repaired = proj.ok("cache", "verify", "--repair")
    assert repaired.stdout.splitlines()[0] == "re-cached a.txt from the workspace"
    assert "0 missing that mlrepro.lock needs." in repaired.stdout
    assert proj.object_path(digest).exists()


def test_a_bad_wait_value_is_a_usage_error(proj: Proj) -> None:
    proc = proj.fails("cache", "verify", "--wait", "x", code=2)
    assert proc.stdout == ""
    assert proc.stderr.splitlines()[0] == (
        "error: invalid value for '--wait': 'x' is not a valid float."
    )
