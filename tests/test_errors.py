"""The exception root, its exit codes and the one-line messages users see (docs/cli.md,
"Conventions": exit codes, errors, system errors)."""

from __future__ import annotations

import errno
import os
import subprocess
from pathlib import Path

import pytest

from mlrepro import errors
from mlrepro.cli import main as cli_main
from mlrepro.errors import (
    EXIT_CHANGED,
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    FileSystemError,
    MlreproError,
    NotInRepositoryError,
    PipelineError,
    UsageError,
    add_path,
    os_error,
)


def test_exit_codes_are_the_documented_ones() -> None:
    assert (EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_CHANGED, EXIT_INTERRUPTED) == (0, 1, 2, 3, 130)
    assert MlreproError("x").exit_code == 1
    assert UsageError("x").exit_code == 2
    assert NotInRepositoryError("x").exit_code == 1
    assert PipelineError("x").exit_code == 1
    assert FileSystemError("x").exit_code == 1


def test_an_error_is_its_message_and_keeps_its_hint() -> None:
    e = MlreproError("it broke", hint="do this")
    assert str(e) == "it broke" and e.message == "it broke" and e.hint == "do this"
    assert MlreproError("bare").hint is None


UNDEFINED = "'cmd': undefined variable '${model.lr}'"


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        (
            {"path": "dvc.yaml", "line": 14, "stage": "train@cnn"},
            "dvc.yaml:14: stage 'train@cnn': 'cmd': undefined variable '${model.lr}'",
        ),
        (
            {"path": "dvc.yaml", "stage": "t"},
            "dvc.yaml: stage 't': 'cmd': undefined variable '${model.lr}'",
        ),
        (
            {"path": "params.yaml", "line": 3},
            "params.yaml:3: 'cmd': undefined variable '${model.lr}'",
        ),
        ({"stage": "t"}, "stage 't': 'cmd': undefined variable '${model.lr}'"),
        ({}, "'cmd': undefined variable '${model.lr}'"),
    ],
)
def test_a_pipeline_error_names_file_line_then_stage_then_what(
    kw: dict[str, object], message: str
) -> None:
    e = PipelineError("'cmd': undefined variable '${model.lr}'", **kw)  # type: ignore[arg-type]
    assert str(e) == message
    assert "\n" not in str(e)


def test_located_fills_in_only_what_was_missing() -> None:
    e = PipelineError("bad", stage="s", hint="h")
    placed = e.located(path="dvc.yaml", line=7)
    assert (str(placed), placed.hint, placed.stage) == ("dvc.yaml:7: stage 's': bad", "h", "s")
    known = PipelineError("bad", path="a/dvc.yaml", line=2)
    assert str(known.located(path="dvc.yaml", line=9)) == "a/dvc.yaml:2: bad"


def test_add_path_names_an_unnamed_system_error() -> None:
    exc = OSError(errno.ENOSPC, "No space left on device")
    add_path(exc, "out/model.pkl")
    assert exc.filename == "out/model.pkl"
    add_path(exc, "other")  # it has a name now: kept
    assert exc.filename == "out/model.pkl"


def test_add_path_instead_replaces_both_names() -> None:
    exc = OSError(errno.EACCES, "Permission denied", ".tmp-x1f", None, "model.pkl")
    add_path(exc, "model.pkl", instead=True)
    assert (exc.filename, exc.filename2) == ("model.pkl", None)


def test_add_path_leaves_an_error_without_errno_alone() -> None:
    exc = OSError("a message of its own")
    add_path(exc, "x", instead=True)
    assert exc.filename is None and str(exc) == "a message of its own"


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_real_full_disk_is_a_user_error_naming_the_path_and_stage() -> None:
    with pytest.raises(OSError) as caught, open("/dev/full", "wb", buffering=0) as f:
        f.write(b"x")
    exc = caught.value
    assert exc.errno == errno.ENOSPC and exc.filename is None  # a write names nothing
    add_path(exc, ".mlrepro/cache/tmp")
    error = os_error(exc, stage="train", doing="caching its outputs")
    assert isinstance(error, MlreproError) and error.exit_code == EXIT_ERROR
    assert str(error) == (
        "stage 'train': caching its outputs: no space left on the device holding .mlrepro/cache/tmp"
    )
    assert "`mlrepro gc -w`" in (error.hint or "")
    assert (error.errno, error.path, error.stage) == (errno.ENOSPC, ".mlrepro/cache/tmp", "train")


@pytest.mark.parametrize(
    ("code", "message", "hint_says"),
    [
        (errno.ENOSPC, "no space left on the device holding data/x.bin", "free space"),
        (errno.EDQUOT, "disk quota exceeded on the device holding data/x.bin", "free space"),
        (errno.EROFS, "data/x.bin is on a read-only file system", "remount it read-write"),
        (errno.EACCES, "permission denied: data/x.bin", "`ls -ld`"),
        (errno.EPERM, "operation not permitted: data/x.bin", "`lsattr`"),
        (errno.EMFILE, "too many open files (opening data/x.bin)", "ulimit -n"),
        (errno.EIO, "input/output error at data/x.bin", "dmesg"),
        (errno.ENAMETOOLONG, "file name too long: data/x.bin", "shorter"),
    ],
)
def test_known_system_errors_are_one_line_naming_the_path(
    code: int, message: str, hint_says: str
) -> None:
    error = os_error(OSError(code, os.strerror(code), "data/x.bin"))
    assert isinstance(error, FileSystemError)
    assert str(error) == message
    assert hint_says in (error.hint or "")
    assert error.path == "data/x.bin" and error.errno == code and error.stage is None


def test_the_path_given_is_used_when_the_error_names_none() -> None:
    error = os_error(OSError(errno.EROFS, "Read-only file system"), path="mlrepro.lock")
    assert str(error) == "mlrepro.lock is on a read-only file system"
    unnamed = os_error(OSError(errno.EROFS, "Read-only file system"))
    assert str(unnamed) == "read-only file system" and unnamed.path is None


def test_a_rename_names_both_paths_where_that_helps() -> None:
    def rename(code: int) -> str:
        return str(os_error(OSError(code, os.strerror(code), "a.tmp", None, "b.txt")))

    assert rename(errno.EACCES) == "permission denied: a.tmp -> b.txt"
    assert rename(errno.ENOSPC) == "no space left on the device holding a.tmp"
    assert rename(errno.EXDEV) == "a.tmp -> b.txt: invalid cross-device link"


def test_an_unknown_system_error_keeps_its_reason() -> None:
    error = os_error(OSError(errno.ENODEV, "No such device", "x"), doing="reading it")
    assert str(error) == "reading it: x: no such device"
    assert "--debug" in (error.hint or "")


def test_paths_inside_the_current_folder_are_shown_relative(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    inside = os.path.join(os.getcwd(), "sub", "f.bin")
    assert str(os_error(OSError(errno.EACCES, "x", inside))) == "permission denied: sub/f.bin"
    assert str(os_error(OSError(errno.EACCES, "x", "/elsewhere/f"))) == (
        "permission denied: /elsewhere/f"
    )
    raw = os.fsencode(tmp_path) + b"/caf\xe9"  # a name in bytes, not UTF-8
    shown = os_error(OSError(errno.EACCES, "x", raw)).path
    assert shown == b"caf\xe9".decode("utf-8", "surrogateescape")


def test_a_real_permission_error_names_the_path(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root is never refused")
    folder = tmp_path / "locked"
    folder.mkdir(mode=0o500)
    with pytest.raises(OSError) as caught:
        (folder / "f").write_text("x")
    assert str(os_error(caught.value)).startswith("permission denied: ")
    assert str(os_error(caught.value)).endswith("locked/f")


# -- the CLI boundary: exit codes and error lines --------------------------------


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[object, str, str]:
    """Exit status (None or 0: success), standard output and standard error of a command
    run in-process through the CLI boundary."""
    code: object = None
    try:
        cli_main.main(argv)
    except SystemExit as done:
        code = done.code
    out, err = capsys.readouterr()
    return code, out, err


def test_outside_a_repository_exits_1_with_one_error_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = run(["status"], capsys)
    assert code == EXIT_ERROR and out == ""
    lines = err.splitlines()
    assert lines[0].startswith("error: ") and "Traceback" not in err
    assert len(lines) <= 2 and all(line.startswith(("error: ", "hint: ")) for line in lines)


def test_a_usage_error_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["audit", "verfy"], capsys)
    assert code == EXIT_USAGE and out == ""
    assert err.splitlines() == [
        "error: unknown command 'audit verfy'",
        "hint: did you mean 'audit verify'?",
    ]


def test_an_invalid_pipeline_names_the_file_line_and_stage(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    monkeypatch.chdir(tmp_path)
    assert run(["init"], capsys)[0] in (0, None)
    (tmp_path / "dvc.yaml").write_text(
        "stages:\n  prepare:\n    cmd: echo ok\n  train:\n    cmd: python ${model.lr}\n",
        encoding="utf-8",
    )
    code, out, err = run(["status"], capsys)
    assert code == EXIT_ERROR and out == ""
    # the documented example (docs/cli.md, "Errors"): file and line, stage, what; a hint
    assert err.splitlines() == [
        "error: dvc.yaml:5: stage 'train': 'cmd': undefined variable '${model.lr}'",
        "hint: define it in params.yaml or in 'vars'",
    ]


def test_a_system_error_at_the_boundary_is_a_user_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def full(**kw: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", "/nowhere/.mlrepro/cache/tmp")

    monkeypatch.setattr(cli_main.cli, "main", full)
    code, out, err = run(["status"], capsys)
    assert code == EXIT_ERROR and out == ""
    assert err.splitlines()[0] == (
        "error: no space left on the device holding /nowhere/.mlrepro/cache/tmp"
    )
    assert err.splitlines()[1].startswith("hint: free space there")
    assert len(err.splitlines()) == 2


def test_every_errno_mapping_names_its_path_placeholder() -> None:
    for code, (named, unnamed, hint) in errors._KNOWN.items():
        assert "{path}" in named and "{path}" not in unnamed, errno.errorcode[code]
        assert hint and "\n" not in named + unnamed + hint
