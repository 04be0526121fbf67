"""A stage's outputs in the workspace before its command runs.

Outputs are removed first, so a command that fails to write one is caught (and
never leaves last run's file to be cached as its result), except ``persist``
outputs, which the command extends in place: those get bytes of their own first,
so that a link into the cache is never written through.
"""

from __future__ import annotations

import os
import shutil
import stat

from mlrepro.spec.model import Stage


def prepare_outputs(root: str, stage: Stage) -> None:
    """Clear (or, for ``persist``, unshare) every output and make its folder."""
    for out in stage.all_outs:
        if not out.persist:
            remove_output(root, out.path)
        else:
            unshare(os.path.join(root, out.path))
        os.makedirs(os.path.dirname(os.path.join(root, out.path)), exist_ok=True)


def unshare(path: str) -> None:
    """Give a persist output its own bytes: the command will change it in place, and a
    hard or symbolic link into the cache would let it change the cache object."""
    targets = [path]
    if os.path.isdir(path) and not os.path.islink(path):
        targets = [os.path.join(d, f) for d, _, files in os.walk(path) for f in files]
    for p in targets:
        try:
            st = os.lstat(p)
        except FileNotFoundError:
            continue
        if stat.S_ISLNK(st.st_mode) or (stat.S_ISREG(st.st_mode) and st.st_nlink > 1):
            tmp = f"{p}.mlrepro-unshare"
            shutil.copyfile(p, tmp)  # follows a link: copies the bytes
            os.chmod(tmp, 0o644)
            os.replace(tmp, p)


def remove_output(root: str, relpath: str) -> None:
    full = os.path.join(root, relpath)
    if os.path.isdir(full) and not os.path.islink(full):
        shutil.rmtree(full)
    elif os.path.lexists(full):
        os.unlink(full)


def outside(root: str, relpath: str) -> str | None:
    """Where ``relpath`` really is when a symbolic link on its way (itself or a folder
    above it) leads out of the repository; None when it stays inside. Checked before a
    command runs and again after, since a command can make the link itself (issue 15)."""
    real = os.path.realpath(os.path.join(root, relpath))
    top = os.path.realpath(root)
    if real == top or real.startswith(top.rstrip(os.sep) + os.sep):
        return None
    return real


def drop_outside_link(root: str, relpath: str) -> bool:
    """Remove ``relpath`` when it is itself a link leading outside and its folder lies
    inside the repository (removing through a linked folder would delete elsewhere)."""
    full = os.path.join(root, relpath)
    if not os.path.islink(full) or outside(root, os.path.dirname(relpath) or ".") is not None:
        return False
    os.unlink(full)
    return True
