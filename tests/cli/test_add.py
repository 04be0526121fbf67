"""``mlrepro add`` (mlrepro/cli/add.py) through the real CLI: one ``added PATH (N files,
B bytes) DIGEST`` line a path, in the order given, paths shown from the repository root
and quoted as git quotes them; PATH is required (docs/cli.md, "mlrepro add").

What gets cached and recorded is tests/ops/test_add.py's subject."""

from __future__ import annotations

import pytest

from tests.ops.conftest import Proj, xxh_file


def test_one_line_a_path_with_files_bytes_and_the_recorded_digest(proj: Proj) -> None:
    proj.write("data/raw/x.txt", "12345")
    proj.write("data/raw/y.txt", "1")
    proj.write("one.csv", "abc\n")
    proc = proj.ok("add", "data/raw", "one.csv")
    records = proj.data_records()
    assert proc.stdout.splitlines() == [
        f"added data/raw (2 files, 6 bytes) {records['data/raw']['digest']}",
        # one file: "1 file", and the digest is the file's own xxh3-128
        f"added one.csv (1 file, 4 bytes) {xxh_file(proj.root / 'one.csv')}",
    ]
    assert records["one.csv"]["digest"] == xxh_file(proj.root / "one.csv")
    assert proc.stderr == ""


def test_paths_are_shown_from_the_root_and_quoted_like_git(proj: Proj) -> None:
    proj.write("sub/deep/z.txt", "zz")
    proj.write('sub/q"uote.txt', "abc\n")
    proc = proj.ok("add", "deep/z.txt", 'q"uote.txt', cwd=proj.root / "sub")
    assert [ln.rsplit(" ", 1)[0] for ln in proc.stdout.splitlines()] == [
        "added sub/deep/z.txt (1 file, 2 bytes)",
        'added "sub/q\\"uote.txt" (1 file, 4 bytes)',
    ]
    assert sorted(proj.data_records()) == ["sub/deep/z.txt", 'sub/q"uote.txt']


def test_a_path_that_does_not_exist_is_one_error_line(proj: Proj) -> None:
    proj.write("one.csv", "abc\n")
    proc = proj.fails("add", "one.csv", "nope.txt")
    assert proc.stdout == ""
    assert proc.stderr == "error: 'nope.txt' does not exist\n"
    assert not (proj.root / "mlrepro.lock").exists()  # nothing of one.csv recorded either


@pytest.mark.parametrize(
    ("args", "error"),
    [
        ([], "error: missing argument 'PATHS...'."),
        (
            ["--wait", "x", "one.csv"],
            "error: invalid value for '--wait': 'x' is not a valid float.",
        ),
    ],
)
def test_usage_errors_exit_2_and_add_nothing(proj: Proj, args: list[str], error: str) -> None:
    proj.write("one.csv", "abc\n")
    proc = proj.fails("add", *args, code=2)
    assert proc.stdout == "" and proc.stderr.splitlines()[0] == error
    assert not (proj.root / "mlrepro.lock").exists() and proj.objects() == {}
