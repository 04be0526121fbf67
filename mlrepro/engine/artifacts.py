"""Saving workspace paths into the cache and bringing them back (files and trees)."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar

from mlrepro.errors import add_path
from mlrepro.spec.model import Stage
from mlrepro.store.digest import Digest, bare, sha_bytes, tag_sha, tag_xxh
from mlrepro.store.objects import CorruptObjectError, MissingObjectError, ObjectStore
from mlrepro.store.placing import link_out, place_new
from mlrepro.store.tree import MalformedTreeError, Tree, TreeEntry
from mlrepro.workspace.hashing import Hasher
from mlrepro.workspace.lockfile import Artifact, Lock
from mlrepro.workspace.statcache import StatKey

_IO_THREADS = min(4, os.cpu_count() or 1)


def save(store: ObjectStore, hasher: Hasher, relpath: str) -> Artifact:
    """Store ``relpath`` (a file or a directory) in the cache; its recorded artifact."""
    root = hasher.root
    full = os.path.join(root, relpath)
    if os.path.isdir(full):
        tree = hasher.tree(relpath, store=store)
        data = tree.to_bytes()
        xxh = store.add_bytes(data)
        sha = sha_bytes(data)
        return Artifact(
            relpath, tag_xxh(xxh), tree.size, len(tree.entries), tag_sha(sha), isdir=True
        )
    digest = hasher.file(relpath, sha=True, store=store)
    assert digest.sha is not None
    return Artifact(relpath, tag_xxh(digest.xxh), digest.size, 1, tag_sha(digest.sha))


def objects_of(store: ObjectStore, artifact: Artifact) -> list[str]:
    """Every object ``artifact`` needs (a tree and its files, or one file); raises when absent."""
    xxh = _hex(artifact)
    if not artifact.isdir:
        return [xxh]
    tree = Tree.from_bytes(store.read_bytes(xxh))
    return [xxh, *(e.xxh for e in tree.entries)]


def all_present(store: ObjectStore, artifact: Artifact) -> bool:
    try:
        return all(store.has(x) for x in objects_of(store, artifact))
    except (MissingObjectError, CorruptObjectError):
        return False


@dataclass(frozen=True, slots=True)
class Gap:
    """An object a recorded artifact needs that the cache does not hold."""

    xxh: str  # bare xxh3-128 hex
    inner: str | None = None  # a file of a folder, relative to it; None: the artifact's own object
    unreadable: bool = False  # a folder's tree object is there but corrupt: its files are unknown


def gaps(store: ObjectStore, artifact: Artifact, *, files: bool = True) -> list[Gap]:
    """The objects ``artifact`` needs that the cache lacks: its own (a file's, or a
    folder's tree object) and, with ``files``, those of the files its tree lists.
    Only existence is looked at (one ``stat`` each, and the tree object read), never
    the bytes of a file's object: re-hashing is ``cache verify``'s."""
    xxh = _hex(artifact)
    if not store.has(xxh):
        return [Gap(xxh)]
    if not (artifact.isdir and files):
        return []
    try:
        tree = Tree.from_bytes(store.read_bytes(xxh))
    except MissingObjectError:  # deleted since (a `gc` in another process)
        return [Gap(xxh)]
    except (CorruptObjectError, MalformedTreeError):
        return [Gap(xxh, unreadable=True)]
    return [Gap(e.xxh, e.path) for e in tree.entries if not store.has(e.xxh)]


@dataclass(frozen=True, slots=True)
class Missing:
    """An object that ``mlrepro.lock`` needs and the cache does not hold."""

    xxh: str  # bare xxh3-128 hex
    artifact: str  # the recorded output or data input
    stage: str | None  # the stage writing it; None for a data input
    inner: str | None = None  # a file of a folder artifact, relative to it
    tree: bool = False  # the folder's tree object

    @property
    def path(self) -> str:
        """The file as the user knows it: the artifact, or a file inside it."""
        return f"{self.artifact}/{self.inner}" if self.inner else self.artifact


def recorded(
    lock: Lock, stages_by_id: Mapping[str, Stage], stages: Iterable[str], data: Iterable[str] = ()
) -> list[tuple[Artifact, str | None]]:
    """The cached outputs ``lock`` records for ``stages`` (each with its stage's id) and
    its records of the ``data`` inputs (with None), in path order."""
    found: list[tuple[Artifact, str | None]] = []
    for sid in stages:
        record = lock.stages.get(sid)
        if record is None:
            continue
        # a block of a stage gone from the pipeline still names its objects (gc keeps them)
        stage = stages_by_id.get(sid)
        uncached = {o.path for o in stage.all_outs if not o.cache} if stage else set()
        found += [(a, sid) for a in record.outs if a.path not in uncached]
    found += [(lock.data[p], None) for p in data if p in lock.data]
    return sorted(((a, s) for a, s in found if a.digest), key=lambda f: (f[0].path, f[1] or ""))


def missing_objects(
    store: ObjectStore,
    lock: Lock,
    stages_by_id: Mapping[str, Stage],
    stages: Iterable[str],
    *,
    data: Iterable[str] = (),
    files: bool = True,
) -> list[Missing]:
    """The objects that the recorded artifacts of ``stages`` and ``data`` need and the
    cache does not hold (``files``: a folder's files too, not only its tree object).
    A tree object that is there but corrupt is left out: re-hashing reports it."""
    found: list[Missing] = []
    for a, sid in recorded(lock, stages_by_id, stages, data):
        for g in gaps(store, a, files=files):
            if not g.unreadable:
                found.append(Missing(g.xxh, a.path, sid, g.inner, a.isdir and g.inner is None))
    return found


def drop_corrupt(store: ObjectStore, artifact: Artifact) -> list[str]:
    """Remove the objects of ``artifact`` whose bytes no longer match their address (a
    restore met one), so the run that follows caches them afresh; their bare hex. Found
    by re-hashing the artifact's own object and, for a readable folder, its files' (not
    by reading digests out of an error's message, issue 16)."""
    xxh = _hex(artifact)
    if not store.verify(xxh):
        found = [xxh] if store.has(xxh) else []
    elif artifact.isdir:
        try:
            entries = Tree.from_bytes(store.read_bytes(xxh)).entries
        except (MissingObjectError, CorruptObjectError, MalformedTreeError):
            entries = ()
        inner = dict.fromkeys(e.xxh for e in entries)
        found = [x for x in inner if store.has(x) and not store.verify(x)]
    else:
        found = []
    for x in found:
        store.remove(x)
    return found


def _hex(artifact: Artifact) -> str:
    assert artifact.digest is not None
    return bare(artifact.digest)


# errors that mean "this link type does not work here": try the next one
_UNSUPPORTED = frozenset(
    {errno.EXDEV, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EINVAL, errno.EPERM, errno.ENOTTY}
)
_SCRATCH = "restore-"  # folders being built in .mlrepro/tmp/
_GROUP = 512  # files of one folder given to a worker at a time
_T = TypeVar("_T")


@dataclass
class Linker:
    """Brings objects into the workspace with the first link type that works here."""

    store: ObjectStore
    hasher: Hasher
    types: tuple[str, ...]
    tmp_dir: str  # private scratch space on the workspace's file system (.mlrepro/tmp)
    _failed: set[str] = field(default_factory=set)
    _swept: bool = False

    def _linked(self, action: Callable[[str], _T], relpath: str) -> tuple[_T, str]:
        """``action(link)`` with the first configured link type that works here."""
        last: OSError | None = None
        for link in self.types:
            if link in self._failed:
                continue
            try:
                return action(link), link
            except (MissingObjectError, CorruptObjectError):
                raise
            except OSError as exc:
                if exc.errno in _UNSUPPORTED:
                    self._failed.add(link)
                    last = exc
                    continue
                raise
        raise last or OSError(f"no link type worked for {relpath}")

    def place(self, xxh: str, relpath: str, size: int, sha: str | None = None) -> None:
        dest = os.path.join(self.hasher.root, relpath)
        _, link = self._linked(
            lambda link: link_out(self.store, xxh, dest, link, size=size, shown=relpath), relpath
        )
        # Recorded now, so the next status does not read the file again. A copy is
        # dated one second back: any later write then changes its mtime, so the
        # entry is safe to trust at once (no "racy" re-read of what we just wrote).
        if link in ("copy", "reflink"):
            past = time.time_ns() - 1_000_000_000
            os.utime(dest, ns=(past, past))
        st = os.stat(dest)
        self.hasher.stats.put(relpath, StatKey.of(st), Digest(xxh=xxh, size=size, sha=sha))

    def restore(self, artifact: Artifact) -> int:
        """Make ``artifact.path`` match the artifact; returns how many files were written."""
        root = self.hasher.root
        full = os.path.join(root, artifact.path)
        xxh = _hex(artifact)
        sha = bare(artifact.sha256) if artifact.sha256 else None
        if not artifact.isdir:
            if os.path.isdir(full) and not os.path.islink(full):
                shutil.rmtree(full)
            self.place(xxh, artifact.path, artifact.size, sha)
            return 1
        tree = Tree.from_bytes(self.store.read_bytes(xxh))
        # all or nothing: never leave a folder half restored for want of an object
        absent = next((e for e in tree.entries if not self.store.has(e.xxh)), None)
        if absent is not None:
            where = f"{artifact.path}/{absent.path}"
            raise MissingObjectError(absent.xxh, where)
        if os.path.islink(full) or (os.path.lexists(full) and not os.path.isdir(full)):
            os.unlink(full)
        if not os.path.exists(full):
            return self._build(artifact.path, tree)
        _drop_links(full)  # a tree never holds links: never write through one
        current = {e.path: e for e in self.hasher.tree(artifact.path).entries}
        wanted = {e.path for e in tree.entries}
        for path in sorted(set(current) - wanted, reverse=True):
            os.unlink(os.path.join(full, path))
        _prune_empty_dirs(full)
        todo = [
            e for e in tree.entries if current.get(e.path) is None or current[e.path].xxh != e.xxh
        ]
        for e in todo:  # a file may stand where the tree wants a folder, or the reverse
            _clear_conflict(full, e.path)
        for d in sorted({os.path.dirname(os.path.join(full, e.path)) for e in todo}):
            os.makedirs(d, exist_ok=True)

        def put(entry: TreeEntry) -> None:
            self.place(entry.xxh, f"{artifact.path}/{entry.path}", entry.size, entry.sha)

        if len(todo) < 64:
            for e in todo:
                put(e)
        else:
            with ThreadPoolExecutor(_IO_THREADS) as pool:
                list(pool.map(put, todo, chunksize=256))
        return len(todo)

    def _build(self, relpath: str, tree: Tree) -> int:
        """Restore a folder that does not exist: build it whole in scratch space, each
        file created under its final name, then rename it into place. Nothing is ever
        half there: an interruption leaves only scratch space, swept the next time."""
        full = os.path.join(self.hasher.root, relpath)
        parent = os.path.dirname(full)
        os.makedirs(parent, exist_ok=True)
        scratch = self._scratch(parent, os.path.basename(full))
        try:
            for d in sorted({os.path.dirname(e.path) for e in tree.entries} - {""}):
                os.makedirs(os.path.join(scratch, d), exist_ok=True)
            past = time.time_ns() - 1_000_000_000  # see place()

            def put(group: list[TreeEntry]) -> list[os.stat_result]:
                return [
                    self._linked(
                        lambda link, e=e: place_new(
                            self.store,  # type: ignore[misc]
                            e.xxh,
                            os.path.join(scratch, e.path),
                            link,
                            size=e.size,
                            mtime_ns=past,
                            shown=f"{relpath}/{e.path}",
                        ),
                        f"{relpath}/{e.path}",
                    )[0]
                    for e in group
                ]

            # One worker per folder at a time: file creations in one directory
            # serialise on its lock in the kernel, so spreading a folder's files
            # over threads only adds contention.
            groups = _by_folder(tree.entries)
            if len(tree.entries) < 64:
                stats = [put(g) for g in groups]
            else:
                with ThreadPoolExecutor(_IO_THREADS) as pool:
                    stats = list(pool.map(put, groups))
            os.rename(scratch, full)
        except BaseException as exc:
            shutil.rmtree(scratch, ignore_errors=True)
            if isinstance(exc, OSError):
                _name_output(exc, scratch, full, relpath)
            raise
        put_stat = self.hasher.stats.put
        for group, sts in zip(groups, stats, strict=True):
            for e, st in zip(group, sts, strict=True):
                put_stat(f"{relpath}/{e.path}", StatKey.of(st), Digest(e.xxh, e.size, e.sha))
        return len(tree.entries)

    def _scratch(self, parent: str, name: str) -> str:
        """A new empty folder on ``parent``'s file system, where a rename into ``parent``
        works: in ``.mlrepro/tmp/`` (stale ones from an interrupted run swept first; the
        caller holds the repository lock), or beside the target on another mount."""
        os.makedirs(self.tmp_dir, exist_ok=True)
        if not self._swept:
            self._swept = True
            for stale in os.listdir(self.tmp_dir):
                if stale.startswith(_SCRATCH):
                    shutil.rmtree(os.path.join(self.tmp_dir, stale), ignore_errors=True)
        base = self.tmp_dir
        if os.stat(base).st_dev != os.stat(parent).st_dev:
            base, name = parent, f".{name}.mlrepro-"
        try:
            return tempfile.mkdtemp(prefix=_SCRATCH if base == self.tmp_dir else name, dir=base)
        except OSError as exc:
            add_path(exc, base, instead=True)  # the folder that refused, not a random name
            raise


def _name_output(exc: OSError, scratch: str, full: str, relpath: str) -> None:
    """Name the output's path (``feats/d1/f1.txt``) in ``exc`` instead of its place in
    the scratch folder, which the user never sees and which is gone by now (issue 15)."""
    for attr in ("filename", "filename2"):
        name = getattr(exc, attr)
        for base in (scratch, full):
            if isinstance(name, str) and (name == base or name.startswith(base + os.sep)):
                setattr(exc, attr, relpath + name[len(base) :])
                break
    if exc.filename2 == exc.filename:  # the rename into place: one path is enough
        exc.filename2 = None


def _by_folder(entries: Iterable[TreeEntry]) -> list[list[TreeEntry]]:
    folders: dict[str, list[TreeEntry]] = {}
    for e in entries:
        folders.setdefault(e.path.rpartition("/")[0], []).append(e)
    return [
        batch[i : i + _GROUP] for batch in folders.values() for i in range(0, len(batch), _GROUP)
    ]


def _drop_links(base: str) -> None:
    for dirpath, dirnames, filenames in os.walk(base):  # does not follow links
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            if os.path.islink(p):
                os.unlink(p)
        dirnames[:] = [d for d in dirnames if not os.path.islink(os.path.join(dirpath, d))]


def _clear_conflict(base: str, relpath: str) -> None:
    parts = relpath.split("/")
    for i in range(1, len(parts)):
        p = os.path.join(base, *parts[:i])
        if os.path.islink(p) or (os.path.lexists(p) and not os.path.isdir(p)):
            os.unlink(p)
    target = os.path.join(base, relpath)
    if os.path.isdir(target) and not os.path.islink(target):
        shutil.rmtree(target)


def _prune_empty_dirs(base: str) -> None:
    for dirpath, dirnames, filenames in os.walk(base, topdown=False):
        if dirpath != base and not dirnames and not filenames:
            with contextlib.suppress(OSError):
                os.rmdir(dirpath)
