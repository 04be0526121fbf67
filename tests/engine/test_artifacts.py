"""A restore that meets a corrupt object drops the corrupt objects it finds by re-hashing
them (not by reading digests out of the error's message), and the run caches them anew."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import xxhash

from mlrepro.engine.artifacts import drop_corrupt
from mlrepro.store.objects import ObjectStore
from mlrepro.store.tree import Tree, TreeEntry
from mlrepro.workspace.lockfile import Artifact
from tests.ops.conftest import Proj


def _corrupt(store: ObjectStore, xxh: str) -> None:
    os.chmod(store.path(xxh), 0o644)
    Path(store.path(xxh)).write_bytes(b"not what it was")


def _folder(store: ObjectStore, files: dict[str, bytes]) -> Artifact:
    entries = [
        TreeEntry(name, len(data), store.add_bytes(data), hashlib.sha256(data).hexdigest())
        for name, data in files.items()
    ]
    tree = Tree.build(entries)
    xxh = store.add_bytes(tree.to_bytes())
    return Artifact("out", f"xxh3-128:{xxh}", 2, len(entries), isdir=True)


def test_only_the_corrupt_objects_of_a_folder_go(tmp_path: Path) -> None:
    store = ObjectStore(str(tmp_path / "cache"))
    folder = _folder(store, {"a.txt": b"a", "b.txt": b"b", "c.txt": b"c"})
    a, b, c = (xxhash.xxh3_128_hexdigest(x) for x in (b"a", b"b", b"c"))
    _corrupt(store, a)
    store.remove(c)  # missing is not corrupt: nothing to remove
    assert drop_corrupt(store, folder) == [a]
    assert not store.has(a) and store.verify(b)
    assert store.verify(folder.digest.split(":", 1)[1])  # type: ignore[union-attr]


def test_a_corrupt_file_or_tree_object_goes_itself(tmp_path: Path) -> None:
    store = ObjectStore(str(tmp_path / "cache"))
    xxh = store.add_bytes(b"data")
    _corrupt(store, xxh)
    assert drop_corrupt(store, Artifact("f", f"xxh3-128:{xxh}", 4, 1)) == [xxh]
    folder = _folder(store, {"x.txt": b"x"})
    tree = folder.digest.split(":", 1)[1]  # type: ignore[union-attr]
    _corrupt(store, tree)
    assert drop_corrupt(store, folder) == [tree] and not store.has(tree)
    assert drop_corrupt(store, folder) == []  # gone already


def test_repro_replaces_a_corrupt_object_met_while_restoring_a_folder(proj: Proj) -> None:
    proj.params({"lr": 0.1})
    proj.pipeline(
        {
            "train": {
                "cmd": proj.cmd(
                    ["param", "out/lr.json", "params.yaml", "lr"], ["write", "out/same.txt", "s"]
                ),
                "params": ["lr"],
                "outs": ["out"],
            }
        }
    )
    proj.ok("repro")
    proj.params({"lr": 0.2})
    proj.ok("repro")
    obj = proj.object_path("xxh3-128:" + xxhash.xxh3_128_hexdigest(b"0.1"))
    os.chmod(obj, 0o644)
    obj.write_bytes(b"0.9")
    proj.params({"lr": 0.1})
    out = proj.ok("repro").stdout
    assert "[train] run-cache entry unusable (cache object xxh3-128:" in out
    assert "Running stage 'train'" in out
    assert proj.read("out/lr.json") == "0.1"
    proj.assert_cache_verifies()  # the corrupt object was dropped, then cached anew
    proj.ok("cache", "verify")
