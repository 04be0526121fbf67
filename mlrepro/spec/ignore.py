"""``.dvcignore`` and ``.gitignore`` files: gitignore-style patterns, one file per folder.

The walk asks two tools, and reads each file as that tool does.

``.dvcignore`` files are read as DVC reads them (``DvcIgnorePatterns.from_file``):
lines split at ``\\n``, ``\\r\\n`` or ``\\r`` (Python's text mode; not at a form
feed, which ``str.splitlines`` would also split at), each stripped of whitespace at
both ends. A name that is not UTF-8 is kept as its bytes (``surrogateescape``), as the
walk holds names; DVC refuses such a file. Matching follows DVC exactly, which
follows gitwildmatch (pathspec):

* blank lines and ``#`` comments are skipped; ``!`` negates; a lone ``/``
  matches nothing;
* a pattern starting with ``/`` is anchored to the ``.dvcignore``'s folder;
  a pattern of one component (``foo`` or ``foo/``) matches at any depth; a
  pattern with an inner ``/`` is anchored;
* a trailing ``/`` matches folders only; ``**`` spans components, ``*`` and
  ``?`` stay within one, ``[...]`` is a character class (an unclosed one
  discards the pattern);
* a pattern matching a folder also matches everything below it;
* the last matching pattern wins, deeper ``.dvcignore`` files after
  shallower ones.

``.gitignore`` files, ``.git/info/exclude`` and the global excludes file are read and
matched as git does (:mod:`mlrepro.spec.gitmatch`).
"""

from __future__ import annotations

import os
import re

from mlrepro.errors import PipelineError
from mlrepro.spec.gitmatch import Rule, git_rules_match, parse_gitignore

_DIR = "(?:/)"  # the slash after a matched folder
_DIR_OR_END = "(?:/|$)"


class _BadRange(ValueError):
    pass


def _glob(segment: str) -> str:
    """Regex for one path component's glob (no slashes inside)."""
    out: list[str] = []
    i, n = 0, len(segment)
    while i < n:
        c = segment[i]
        i += 1
        if c == "\\":
            if i >= n:
                raise ValueError(f"pattern '{segment}' ends with a lone backslash")
            out.append(re.escape(segment[i]))
            i += 1
        elif c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            j = i
            if j < n and segment[j] in "!^":
                j += 1
            if j < n and segment[j] == "]":
                j += 1
            while j < n and segment[j] != "]":
                j += 1
            if j >= n:
                raise _BadRange(segment)
            body = segment[i:j]
            if body[:1] in ("!", "^"):
                body = "^" + body[1:]
            out.append("[" + body.replace("\\", "\\\\") + "]")
            i = j + 1
        else:
            out.append(re.escape(c))
    return "".join(out)


def compile_pattern(line: str) -> Rule | None:
    """The rule for one ``.dvcignore`` line, or None when it matches nothing."""
    if not line.endswith("\\ "):
        line = line.rstrip()
    if not line or line.startswith("#") or line == "/":
        return None
    negate = line.startswith("!")
    if negate:
        line = line[1:]
    segs = line.split("/")
    dir_only = segs[-1] == ""
    if segs[0] == "":
        del segs[0]
    elif (len(segs) == 1 or (len(segs) == 2 and segs[1] == "")) and segs[0] != "**":
        segs.insert(0, "**")
    if not segs:
        raise ValueError(f"invalid pattern '{line}'")
    if segs[-1] == "":
        segs[-1] = "**"
    collapsed: list[str] = []
    for seg in segs:
        if not (seg == "**" and collapsed and collapsed[-1] == "**"):
            collapsed.append(seg)
    segs = collapsed

    regex: str
    if segs == ["**"]:
        regex = _DIR if dir_only else "."
    elif segs == ["**", "*"]:
        regex = "."
    elif segs == ["**", "*", "**"]:
        regex = _DIR if dir_only else "/"
    else:
        try:
            regex = _translate(segs, dir_only)
        except _BadRange:
            return None  # as git does: a pattern with an unclosed [ is dropped
    return Rule(re.compile(regex, re.DOTALL), negate, dir_only)


def _translate(segs: list[str], dir_only: bool) -> str:
    out: list[str] = []
    need_slash = False
    last = len(segs) - 1
    for i, seg in enumerate(segs):
        if seg == "**":
            if i == 0:
                out.append("^(?:.+/)?")
            elif i < last:
                out.append("(?:/.+)?")
                need_slash = True
            else:
                out.append(_DIR if dir_only else "/")
            continue
        if i == 0:
            out.append("^")
        if need_slash:
            out.append("/")
        out.append("[^/]+" if seg == "*" else _glob(seg))
        if i == last:
            out.append(_DIR_OR_END)
        need_slash = True
    return "".join(out)


# the line breaks of Python's text mode, which DVC reads .dvcignore files in
_DVC_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def parse_patterns(text: str, source: str = ".dvcignore") -> list[Rule]:
    """Rules of a .dvcignore file, its lines read as DVC reads them; an invalid pattern
    is a PipelineError naming its line."""
    rules = []
    for lineno, raw in enumerate(_DVC_LINE_BREAK.split(text), start=1):
        try:
            rule = compile_pattern(raw.strip())
        except (ValueError, re.error) as exc:
            # DVC fails on these too (a reversed range such as [z-a] is a re.error there)
            message = (
                f"invalid pattern '{raw.strip()}': {exc.msg}"
                if isinstance(exc, re.error)
                else str(exc)
            )
            raise PipelineError(
                message, path=source, line=lineno, hint="fix or remove the pattern"
            ) from None
        if rule is not None:
            rules.append(rule)
    return rules


def rules_match(rules: list[Rule], path: str, is_dir: bool) -> bool | None:
    """True (ignored), False (re-included) or None (no rule matches) for ``path``."""
    candidates = (path, path + "/") if is_dir else (path,)
    for rule in reversed(rules):
        if rule.dir_only and not is_dir:
            continue
        for p in candidates:
            if rule.regex.match(p):
                return not rule.negate
    return None


class IgnoreTree:
    """Ignore rules read from one file name (``.dvcignore``, ``.gitignore``) in
    every folder, plus ``base`` rules that apply under the root with lowest
    precedence (git's info/exclude and global excludes file). ``git``: the files
    are read and matched as git does, else as DVC does."""

    def __init__(
        self, root: str, filename: str, base: list[Rule] | None = None, *, git: bool = False
    ) -> None:
        self.root = root
        self.filename = filename
        self.git = git
        self._match = git_rules_match if git else rules_match
        self._rules: dict[str, list[Rule]] = {}  # dir relpath ("" = root) -> rules
        self._loaded: set[str] = set()
        self._base = base or []
        self._dir_cache: dict[str, bool] = {}

    def load_dir(self, reldir: str) -> None:
        if reldir in self._loaded:
            return
        self._loaded.add(reldir)
        path = os.path.join(self.root, reldir, self.filename)
        if os.path.isfile(path):
            with open(path, "rb") as f:
                data = f.read()
            if self.git:
                self._rules[reldir] = parse_gitignore(data)
            else:
                source = f"{reldir}/{self.filename}" if reldir else self.filename
                # a name that is not UTF-8 is kept as its bytes, as the walk holds names
                text = data.decode("utf-8", "surrogateescape")
                self._rules[reldir] = parse_patterns(text, source)

    def ignored(self, relpath: str, is_dir: bool) -> bool:
        """Whether ``relpath`` is ignored, its parent folders being known not to be."""
        match = self._match
        result = bool(self._base) and match(self._base, relpath, is_dir) is True
        parts = relpath.split("/")
        for depth in range(len(parts)):
            rules = self._rules.get("/".join(parts[:depth]))
            if rules:
                verdict = match(rules, "/".join(parts[depth:]), is_dir)
                if verdict is not None:
                    result = verdict
        return result

    def path_ignored(self, relpath: str, is_dir: bool) -> bool:
        """Whether ``relpath`` or any folder above it is ignored."""
        parent, _, _ = relpath.rpartition("/")
        if parent and self._dir_ignored(parent):
            return True
        self.load_dir(parent)
        return self.ignored(relpath, is_dir)

    def _dir_ignored(self, reldir: str) -> bool:
        # memoised: the outputs of a pipeline share most of their folders
        cached = self._dir_cache.get(reldir)
        if cached is None:
            cached = self.path_ignored(reldir, True)
            self._dir_cache[reldir] = cached
        return cached


# Never searched, never a valid output location (same defaults as DVC).
DEFAULT_DVCIGNORE = parse_patterns(".hg/\n.git/\n.git\n.dvc/\n", "<default>")


def dvcignore(root: str) -> IgnoreTree:
    return IgnoreTree(root, ".dvcignore", DEFAULT_DVCIGNORE)


def gitignore(root: str) -> IgnoreTree:
    """git's ignore rules: every .gitignore, .git/info/exclude and the global excludes file."""
    base: list[Rule] = []
    for path in _git_exclude_files(root):
        try:
            with open(path, "rb") as f:
                base.extend(parse_gitignore(f.read()))
        except OSError:
            continue
    return IgnoreTree(root, ".gitignore", base, git=True)


def _git_exclude_files(root: str) -> list[str]:
    gitdir = os.path.join(root, ".git")
    if os.path.isfile(gitdir):  # worktree or submodule: "gitdir: <path>"
        with open(gitdir, encoding="utf-8", errors="replace") as f:
            line = f.read().strip()
        if line.startswith("gitdir:"):
            gitdir = os.path.join(root, line[len("gitdir:") :].strip())
    home = os.path.expanduser("~")
    xdg = os.environ.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")
    excludes = os.path.join(xdg, "git", "ignore")
    for config in (os.path.join(home, ".gitconfig"), os.path.join(gitdir, "config")):
        value = _config_value(config, "core", "excludesfile")
        if value:
            excludes = os.path.expanduser(value)
    # lowest precedence first: the global file, then the repository's exclude
    return [excludes, os.path.join(gitdir, "info", "exclude")]


def _config_value(path: str, section: str, key: str) -> str | None:
    # A minimal git-config reader: enough for one plain key; later wins.
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError:
        return None
    current = None
    value = None
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("["):
            current = line.strip("[]").split()[0].lower() if line.strip("[]") else None
        elif current == section and "=" in line:
            k, _, v = line.partition("=")
            if k.strip().lower() == key:
                value = v.strip().strip('"')
    return value
