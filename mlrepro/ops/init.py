"""``mlrepro init``: create the ``.mlrepro/`` directory of a project."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

from mlrepro.audit.anchor import ATTRIBUTES
from mlrepro.errors import MlreproError, NotInRepositoryError
from mlrepro.fsutil import atomic_write
from mlrepro.workspace.config import Config, config_path

GITIGNORE = """\
# Written by mlrepro init: local state that must not be committed.
/cache/
/tmp/
/state/
/audit/
/config.local
"""


@dataclass(frozen=True, slots=True)
class InitResult:
    root: str
    created: bool  # False when .mlrepro/ already existed and --force was not given


def init(cwd: str, *, force: bool = False) -> InitResult:
    """Create ``.mlrepro/config.json``, ``.gitignore`` and ``.gitattributes`` at the top
    of a git work tree."""
    cwd = os.path.abspath(cwd)
    if not os.path.exists(os.path.join(cwd, ".git")):
        raise NotInRepositoryError(
            f"'{cwd}' is not the top of a git work tree",
            hint="run `git init` first, or run `mlrepro init` in the repository's top folder",
        )
    state = os.path.join(cwd, ".mlrepro")
    config = config_path(cwd)
    if os.path.exists(config) and not force:
        return InitResult(root=cwd, created=False)
    if os.path.exists(state) and not os.path.isdir(state):
        raise MlreproError(f"'{state}' exists and is not a directory", hint="remove it and retry")
    os.makedirs(state, exist_ok=True)
    atomic_write(config, (json.dumps(Config().to_json(), indent=2, sort_keys=True) + "\n").encode())
    atomic_write(os.path.join(state, ".gitignore"), GITIGNORE.encode())
    # the audit checkpoints are merged as a union of lines (mlrepro.audit.anchor)
    atomic_write(os.path.join(state, ".gitattributes"), ATTRIBUTES.encode())
    return InitResult(root=cwd, created=True)
