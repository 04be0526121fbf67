"""A full, read-only or refusing disk (issue 15, bug 6): every command that must write
fails with one line naming the path and a hint, never "internal error"; nothing
half-written stays behind; the commands that only read work on; and the next command
after space is freed works.

The disks are real: a small tmpfs (full: a real ENOSPC), remounted read-only (a real
EROFS), an immutable file (a real EPERM, even for root). Tests skip where mounting is
not permitted, and always unmount.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ops.conftest import Proj, make_repo

MiB = 1 << 20


@contextlib.contextmanager
def small_disk(where: Path, size: int = 8 * MiB) -> Iterator[Path]:
    """A tmpfs of ``size`` bytes mounted at ``where`` (skips where that is not
    permitted); unmounted afterwards whatever happened, immutable flags cleared."""
    where.mkdir(parents=True, exist_ok=True)
    try:
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(where)],
            check=True,
            capture_output=True,
        )
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"cannot mount a tmpfs here: {exc}")
    try:
        yield where
    finally:
        subprocess.run(["mount", "-o", "remount,rw", str(where)], check=False, capture_output=True)
        subprocess.run(["chattr", "-R", "-i", str(where)], check=False, capture_output=True)
        done = subprocess.run(["umount", str(where)], check=False, capture_output=True)
        if done.returncode != 0:  # still busy (a process a failed test left): detach it
            subprocess.run(["umount", "-l", str(where)], check=False, capture_output=True)


def fill(disk: Path, *, leave: int = 0) -> Path:
    """Write a file until the disk is full, then give back ``leave`` bytes."""
    filler = disk / "filler"
    block = bytes(64 << 10)
    with open(filler, "wb", buffering=0) as f:
        try:
            while True:
                f.write(block)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC, exc
    if leave:
        os.truncate(filler, max(0, filler.stat().st_size - leave))
    return filler


def free_bytes(disk: Path) -> int:
    st = os.statvfs(disk)
    return st.f_bavail * st.f_frsize


def remount_read_only(disk: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True, capture_output=True)


def error_line(stderr: str) -> str:
    lines = [ln for ln in stderr.splitlines() if ln.startswith("error: ")]
    assert len(lines) == 1, stderr
    return lines[0]


def hint_line(stderr: str) -> str:
    lines = [ln for ln in stderr.splitlines() if ln.startswith("hint: ")]
    assert len(lines) == 1, stderr
    return lines[0]


def debris(proj: Proj) -> list[str]:
    """Temporary files anywhere in the repository (a write that did not finish)."""
    return sorted(
        str(p.relative_to(proj.root))
        for p in proj.root.rglob("*")
        if p.name.startswith(".tmp-") and ".git" not in p.parts
    )


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Path]:
    with small_disk(tmp_path / "disk") as mounted:
        yield mounted


@pytest.fixture
def dproj(disk: Path, tmp_path: Path, tool: Path) -> Proj:
    """A repository on the small disk with one stage run and committed, and a data input."""
    proj = make_repo(disk / "repo", tool, tmp_path / "outside")
    proj.write("data.txt", "one\n")
    proj.pipeline(
        {
            "make": {
                "cmd": proj.cmd(["cat", "out.txt", "data.txt"]),
                "deps": ["data.txt"],
                "outs": ["out.txt"],
            }
        }
    )
    proj.ok("repro")
    proj.commit("first")
    return proj


READ_ONLY_COMMANDS = [
    ("status",),
    ("diff",),
    ("cache", "verify"),
    ("audit", "verify"),
    ("audit", "log"),
    ("metrics", "show"),
    ("stage", "list"),
    ("dag",),
]


# -- the one mapping of OSError to a user error ---------------------------------


@pytest.mark.parametrize(
    ("code", "names", "what", "hint"),
    [
        (errno.ENOSPC, ("/x/cache",), "no space left on the device holding /x/cache", "free space"),
        (errno.ENOSPC, (), "no space left on the device", "mlrepro gc -w"),
        (errno.EDQUOT, ("/x/y",), "disk quota exceeded on the device holding /x/y", "free space"),
        (errno.EROFS, ("/x/a",), "/x/a is on a read-only file system", "remount it read-write"),
        (errno.EACCES, ("/x/a", "/x/b"), "permission denied: /x/a -> /x/b", "owner and mode"),
        (errno.EPERM, ("/x/a",), "operation not permitted: /x/a", "lsattr"),
        (errno.EMFILE, ("/x/a",), "too many open files (opening /x/a)", "ulimit -n"),
        (errno.EIO, ("/x/a",), "input/output error at /x/a", "dmesg"),
        (errno.ETXTBSY, ("/x/a",), "/x/a: text file busy", "--debug"),
    ],
)  # fmt: skip
def test_os_error_says_what_went_wrong_where_and_what_to_do(
    code: int, names: tuple[str, ...], what: str, hint: str
) -> None:
    from mlrepro.errors import EXIT_ERROR, MlreproError, os_error

    err = os_error(OSError(code, os.strerror(code), *names[:1], None, *names[1:]))
    assert isinstance(err, MlreproError) and err.exit_code == EXIT_ERROR
    assert what in err.message and "\n" not in err.message
    assert err.hint is not None and hint in err.hint
    staged = os_error(OSError(code, os.strerror(code)), stage="train", doing="caching its outputs")
    assert staged.message.startswith("stage 'train': caching its outputs: ")


def test_os_error_names_paths_below_the_current_folder_relative_to_it(tmp_path: Path) -> None:
    from mlrepro.errors import os_error

    inside = tmp_path / ".mlrepro" / "cache"
    here = os.getcwd()
    os.chdir(tmp_path)
    try:
        err = os_error(OSError(errno.ENOSPC, "No space left on device", str(inside)))
    finally:
        os.chdir(here)
    assert err.message == "no space left on the device holding .mlrepro/cache"


# -- a full disk ---------------------------------------------------------------------


def test_a_full_disk_fails_add_and_checkout_with_one_line_and_nothing_half_written(
    dproj: Proj, disk: Path
) -> None:
    proj = dproj
    proj.write("raw.bin", os.urandom(2 * MiB))  # large: copied through mapped windows
    (proj.root / "out.txt").unlink()  # for checkout to bring back
    lock_before, objects_before = proj.lock_text(), set(proj.objects())
    filler = fill(disk)

    proc = proj.fails("add", "raw.bin")
    line = error_line(proc.stderr)
    assert line.startswith("error: no space left on the device holding .mlrepro/"), line
    assert hint_line(proc.stderr).startswith("hint: free space there"), proc.stderr
    assert proj.lock_text() == lock_before
    assert set(proj.objects()) == objects_before
    assert debris(proj) == []

    proc = proj.fails("checkout")
    assert error_line(proc.stderr).startswith("error: no space left on the device"), proc.stderr
    assert "free space there" in hint_line(proc.stderr)
    assert not (proj.root / "out.txt").exists()
    assert debris(proj) == []

    filler.unlink()  # space again: the same commands work, from where they stopped
    proj.ok("add", "raw.bin")
    proj.ok("checkout")
    assert proj.read("out.txt") == "one\n"
    assert "raw.bin" in proj.data_records()
    proj.ok("cache", "verify")
    proj.ok("audit", "verify")
    proj.assert_cache_verifies()


def test_running_out_of_space_while_caching_a_stage_output(dproj: Proj, disk: Path) -> None:
    """The command writes its 1.5 MiB output; caching it needs as much again, which the
    disk no longer has. The stage is named, nothing of it is recorded or left half
    in the cache, and once space is freed the next repro finishes it."""
    proj = dproj
    write_big = "import os; open('big.bin', 'wb').write(os.urandom(1536 * 1024))"
    proj.pipeline(
        {
            "make": {
                "cmd": proj.cmd(["cat", "out.txt", "data.txt"]),
                "deps": ["data.txt"],
                "outs": ["out.txt"],
            },
            "big": {
                "cmd": f"{shlex.quote(sys.executable)} -c {shlex.quote(write_big)}",
                "deps": ["data.txt"],
                "outs": ["big.bin"],
            },
        }
    )
    filler = fill(disk, leave=2 * MiB)
    proc = proj.fails("repro", "big")
    line = error_line(proc.stderr)
    assert "no space left on the device holding .mlrepro/cache" in line, proc.stderr
    assert "'big'" in proc.stderr, proc.stderr
    assert "big" not in proj.locked_stages()
    assert debris(proj) == []
    proj.assert_cache_verifies()
    proj.ok("audit", "verify")

    filler.unlink()
    proj.ok("repro", "big")
    assert "big" in proj.locked_stages()
    assert "Everything is up to date" in proj.ok("status").stdout
    proj.ok("cache", "verify")


@pytest.mark.slow
def test_commands_that_only_read_work_on_a_full_disk(dproj: Proj, disk: Path) -> None:
    proj = dproj
    proj.write("data.txt", "two\n")  # something to report
    verified = proj.root / ".mlrepro" / "audit" / "verified"
    remembered = verified.read_bytes() if verified.exists() else None
    fill(disk)
    assert free_bytes(disk) == 0
    for args in READ_ONLY_COMMANDS:
        proc = proj.ok(*args)
        assert "error" not in proc.stderr, (args, proc.stderr)
    assert "dependency 'data.txt' changed" in proj.ok("status").stdout
    assert "data.txt" in proj.ok("diff").stdout
    assert "audit log OK" in proj.ok("audit", "verify").stdout
    # the head verified before is kept as it was (not torn by the full disk)
    assert (verified.read_bytes() if verified.exists() else None) == remembered
    assert debris(proj) == []


def test_gc_works_on_a_full_disk_and_frees_space(dproj: Proj, disk: Path) -> None:
    """On a full disk, `gc` is the way out: it must not fail for want of space."""
    proj = dproj
    proj.write("data.txt", "x" * (1200 << 10))  # an output of 1.2 MiB, then of a few bytes
    proj.ok("repro")
    old = set(proj.objects())
    proj.write("data.txt", "small\n")
    proj.ok("repro")
    fill(disk)
    proc = proj.ok("gc", "-w")
    assert not old <= set(proj.objects()), proc.stdout
    assert free_bytes(disk) >= MiB
    proj.ok("status")
    proj.assert_cache_verifies()


# -- a read-only file system ---------------------------------------------------------


@pytest.mark.slow
def test_a_read_only_file_system(dproj: Proj, disk: Path) -> None:
    proj = dproj
    proj.write("data.txt", "two\n")
    proj.write("raw.txt", "raw\n")
    remount_read_only(disk)
    for args in READ_ONLY_COMMANDS:
        proc = proj.ok(*args)
        assert "error" not in proc.stderr, (args, proc.stderr)
    assert "dependency 'data.txt' changed" in proj.ok("status").stdout
    for args in [("repro",), ("add", "raw.txt"), ("checkout",), ("gc", "-w")]:
        proc = proj.fails(*args)
        line = error_line(proc.stderr)
        assert line.endswith("is on a read-only file system"), (args, line)
        assert line.startswith("error: .mlrepro/") or line.startswith("error: mlrepro.lock"), line
        assert hint_line(proc.stderr).startswith("hint: remount it read-write"), proc.stderr


# -- a file the system refuses to replace ----------------------------------------


def test_an_immutable_lock_file_is_a_user_error_naming_it(dproj: Proj) -> None:
    proj = dproj
    lock = proj.root / "mlrepro.lock"
    before = proj.lock_text()
    done = subprocess.run(["chattr", "+i", str(lock)], capture_output=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"chattr +i is not available here: {done.stderr!r}")
    proj.write("raw.txt", "raw\n")
    proc = proj.fails("add", "raw.txt")
    assert error_line(proc.stderr) == "error: operation not permitted: mlrepro.lock", proc.stderr
    assert "lsattr" in hint_line(proc.stderr)
    assert proj.lock_text() == before
    assert debris(proj) == []
    subprocess.run(["chattr", "-i", str(lock)], check=True)
    proj.ok("add", "raw.txt")
    assert "raw.txt" in proj.data_records()
