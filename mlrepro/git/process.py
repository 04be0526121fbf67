"""Starting ``git`` processes and collecting their answers, without GitPython.

Most of mlrepro's questions to git are a process each: the who/where of an audit
entry, which files git tracks, a file at ``HEAD``. Importing GitPython costs about
90 ms, more than any of these questions, so they start ``git`` directly, and in
the way that costs least: several at once when several are asked (:func:`git_start`),
each by ``posix_spawn`` (:func:`spawn_args`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from functools import cache

Started = list["subprocess.Popen[str] | None"]

PACK_LIMIT = 50  # git's gc.autoPackLimit: more packs than this, and `gc --auto` packs them


@cache
def git_path() -> str:
    """The full path of ``git`` (a full path is one of posix_spawn's conditions)."""
    return shutil.which("git") or "git"


def spawn_args(root: str, *args: str) -> list[str]:
    """The argv of ``git args`` run in ``root``. "-C" rather than cwd=, a full path and
    no closing of descriptors (Python opens its own non-inheritable) let Python start
    git with posix_spawn, a few times cheaper than fork and exec from here."""
    return [git_path(), "-C", root, *args]


def git_output(root: str, *args: str) -> bytes | None:
    """The output of one ``git`` command run in ``root``; None when it failed or git
    could not be started."""
    try:
        proc = subprocess.run(
            spawn_args(root, *args),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            close_fds=False,
            check=False,
        )
    except OSError:
        return None
    return proc.stdout if proc.returncode == 0 else None


def git_start(root: str, *commands: tuple[str, ...]) -> Started:
    """Start several read-only ``git`` commands at once, without waiting: each costs
    a process start, and they overlap with each other and with the caller's work."""
    procs: Started = []
    for args in commands:
        try:
            procs.append(
                subprocess.Popen(
                    # never the index's optional lock: these may be stopped unfinished
                    spawn_args(root, "--no-optional-locks", *args),
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL,
                    close_fds=False,
                    text=True,
                )
            )
        except OSError:
            procs.append(None)
    return procs


def git_collect(procs: Started) -> list[str | None]:
    """The outputs of :func:`git_start`'s commands (None for one that failed)."""
    out: list[str | None] = []
    for proc in procs:
        if proc is None:
            out.append(None)
            continue
        try:
            text, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            out.append(None)
            continue
        out.append(text.strip() if proc.returncode == 0 else None)
    return out


def git_stop(procs: Started) -> None:
    """Stop commands whose answers are no longer wanted."""
    for proc in procs:
        if proc is not None:
            proc.kill()
            proc.communicate()


def git_all(root: str, *commands: tuple[str, ...]) -> list[str | None]:
    """Several ``git`` commands run at once; their outputs."""
    return git_collect(git_start(root, *commands))


def fast_import_env() -> dict[str, str]:
    """fast-import's environment, with glibc's allocator told to keep freed memory.

    fast-import sets up a zlib stream (about 256 KiB) and a delta index for every
    object it stores; by default glibc hands that memory back to the kernel when it
    is freed and faults it in again for the next object: 2,300 page faults and half
    of fast-import's CPU time for a 100-entry publication, against 300 with this
    setting. Other C libraries ignore the variable."""
    env = dict(os.environ)
    tune = "glibc.malloc.trim_threshold=67108864"
    env["GLIBC_TUNABLES"] = f"{env['GLIBC_TUNABLES']}:{tune}" if env.get("GLIBC_TUNABLES") else tune
    return env


def pack_count(root: str) -> int | None:
    """How many packs the repository at ``root`` holds (None: its object folder is not
    at ``root/.git/objects``, e.g. a linked worktree; the caller then leaves tidying
    to git's own commands)."""
    try:
        return sum(
            1
            for n in os.listdir(os.path.join(root, ".git", "objects", "pack"))
            if n.endswith(".pack")
        )
    except OSError:
        return None


def ask_git_to_tidy(root: str) -> None:
    """``git maintenance run --auto``, as git's own commands run it after writing
    objects (``git gc --auto`` where git predates ``maintenance``, 2.29): it applies
    the user's settings (``maintenance.auto``, ``gc.auto``, ``gc.autoPackLimit``) and
    repacks in a process of its own, in the background; the call itself returns in
    milliseconds."""
    for args in (("maintenance", "run", "--auto", "--quiet"), ("gc", "--auto", "--quiet")):
        proc = subprocess.run(
            [git_path(), "-C", root, *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )
        if proc.returncode == 0:
            return
