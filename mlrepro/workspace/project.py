"""A repository as mlrepro works in it: paths, config, cache and stat cache.

A small holder, not a god object: operations are functions in ``ops/`` that
take what they need from it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property

from mlrepro.errors import MlreproError
from mlrepro.spec.discover import find_root
from mlrepro.store.objects import ObjectStore
from mlrepro.workspace.config import Config, read_config
from mlrepro.workspace.statcache import StatCache

STATE_DIR = ".mlrepro"


@dataclass
class Project:
    root: str

    @classmethod
    def find(cls, start: str | None = None, *, require_init: bool = True) -> Project:
        root = find_root(start)
        project = cls(root)
        if require_init and not os.path.isfile(os.path.join(root, STATE_DIR, "config.json")):
            raise MlreproError(
                f"'{root}' is not an mlrepro project (no {STATE_DIR}/config.json)",
                hint="run `mlrepro init` in the repository's top folder",
            )
        return project

    @property
    def state_dir(self) -> str:
        return os.path.join(self.root, STATE_DIR)

    @cached_property
    def config(self) -> Config:
        return read_config(self.root)

    @property
    def tmp_dir(self) -> str:
        """Scratch space (the repository lock, folders being restored)."""
        return os.path.join(self.state_dir, "tmp")

    @property
    def cache_dir(self) -> str:
        return os.path.join(self.state_dir, "cache")

    @cached_property
    def store(self) -> ObjectStore:
        return ObjectStore(self.cache_dir)

    @cached_property
    def stats(self) -> StatCache:
        return StatCache(os.path.join(self.state_dir, "state", "stat.db"))

    def close(self) -> None:
        if "stats" in self.__dict__:
            self.stats.close()
