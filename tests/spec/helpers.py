"""Building throw-away projects and asking mlrepro and DVC what they make of them.

A project is a fresh git work tree with an empty ``.dvc/`` (holding an empty
``.dvc/config``) and the given files, the setting of the compatibility checks
in ``shared/STAGE_LIST_JSON.md``.

mlrepro's answer comes from one of two places:

* :func:`mlrepro_cli` runs ``python -m mlrepro stage list --json`` in the
  project root, the real command a user runs;
* :func:`mlrepro_in_process` calls ``mlrepro.dag.pipeline.stage_list_json``, which
  is much faster and is what the hypothesis tests use.

Both return :class:`tests.oracle.dvc_oracle.Accepted` or ``Rejected`` so that
they compare directly with the oracle's answer.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tests.oracle.dvc_oracle import Accepted, OracleResult, Rejected, run_oracle

# Pinned so that nothing depends on the machine's git config.
GIT_ENV = {
    "GIT_AUTHOR_NAME": "mlrepro tests",
    "GIT_AUTHOR_EMAIL": "tests@mlrepro.invalid",
    "GIT_AUTHOR_DATE": "2024-01-01T00:00:00+00:00",
    "GIT_COMMITTER_NAME": "mlrepro tests",
    "GIT_COMMITTER_EMAIL": "tests@mlrepro.invalid",
    "GIT_COMMITTER_DATE": "2024-01-01T00:00:00+00:00",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_TERMINAL_PROMPT": "0",
}

# Exit statuses that mean "mlrepro refused the project" (the contract's 1..123).
REJECTION_EXIT_CODES = range(1, 124)

CLI_TIMEOUT_S = 60

Files = Mapping[str, str | bytes]


def git_env() -> dict[str, str]:
    return {**os.environ, **GIT_ENV}


def make_project(root: Path, files: Files, *, commit: bool = False) -> Path:
    """Create a project in ``root`` (which may exist and must be empty).

    ``files`` maps forward-slash paths relative to ``root`` to their text
    (written byte for byte, no newline translation) or bytes. A path that
    ends with ``/`` makes an empty directory.
    """
    root.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["git", "init", "-q", "-b", "main", str(root)],
        check=True,
        env=git_env(),
        capture_output=True,
    )
    (root / ".dvc").mkdir(exist_ok=True)
    (root / ".dvc" / "config").write_bytes(b"")
    for rel, content in files.items():
        target = root / rel
        if rel.endswith("/"):
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        data = content.encode("utf-8") if isinstance(content, str) else content
        target.write_bytes(data)
    if commit:
        subprocess.run(["git", "add", "-A"], cwd=root, check=True, env=git_env())
        subprocess.run(
            ["git", "commit", "-q", "-m", "project"], cwd=root, check=True, env=git_env()
        )
    return root


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (outside ``.git/``) with its bytes."""
    out: dict[str, bytes] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if rel == ".git" or rel.startswith(".git/"):
            continue
        out[rel + ("/" if path.is_dir() else "")] = b"" if path.is_dir() else path.read_bytes()
    return out


def oracle(root: Path) -> OracleResult:
    return run_oracle(root)


def mlrepro_cli(root: Path) -> OracleResult:
    """Run ``mlrepro stage list --json`` in ``root``, as a user would.

    Exit 0 gives the parsed JSON; an exit from 1 to 123 is a rejection. Any
    other status, or a Python traceback on stderr, fails the test: the
    contract allows neither.
    """
    proc = subprocess.run(
        [sys.executable, "-m", "mlrepro", "stage", "list", "--json"],
        cwd=root,
        env=git_env(),
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_S,
    )
    if "Traceback (most recent call last)" in proc.stderr:
        raise AssertionError(f"mlrepro crashed (exit {proc.returncode}):\n{proc.stderr}")
    if proc.returncode == 0:
        try:
            data = json.loads(proc.stdout)
        except json.JSONDecodeError as exc:
            raise AssertionError(
                f"mlrepro exited 0 but stdout is not one JSON object: {exc}\n"
                f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
            ) from exc
        return Accepted(data)
    if proc.returncode in REJECTION_EXIT_CODES:
        return Rejected(f"exit {proc.returncode}", proc.stderr.strip())
    raise AssertionError(
        f"mlrepro exited {proc.returncode}, outside 0..123:\n"
        f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    )


def mlrepro_in_process(root: Path) -> OracleResult:
    """Ask ``mlrepro.dag.pipeline.stage_list_json`` directly (no subprocess).

    Imported here, not at module level, so that the suite still collects
    (and fails test by test, saying why) while the loader does not exist.
    """
    try:
        from mlrepro.dag.pipeline import stage_list_json
    except ImportError as exc:  # the loader has not landed yet
        raise AssertionError(f"mlrepro.dag.pipeline.stage_list_json is missing: {exc}") from exc
    from mlrepro.errors import MlreproError

    try:
        data = stage_list_json(root)
    except MlreproError as exc:
        return Rejected(type(exc).__name__, str(exc))
    # Round-trip through JSON: the contract is about the printed document,
    # so tuples, numpy-ish ints and the like must not hide behind equality.
    return Accepted(json.loads(json.dumps(data)))


def describe(result: OracleResult) -> str:
    """A compact rendering: one line per stage, then the edges."""
    if isinstance(result, Accepted):
        data = result.data
        if not isinstance(data, dict) or not isinstance(data.get("stages"), list):
            return json.dumps(data, ensure_ascii=False, sort_keys=True)
        lines = [f"schema_version: {data.get('schema_version')!r}"]
        lines += [json.dumps(s, ensure_ascii=False, sort_keys=True) for s in data["stages"]]
        lines.append(f"edges: {json.dumps(data.get('edges'), ensure_ascii=False)}")
        extra = sorted(set(data) - {"schema_version", "stages", "edges"})
        if extra:
            lines.append(f"unexpected keys: {extra}")
        return "\n".join(lines)
    return f"REJECTED ({result})"


def assert_same(ours: OracleResult, dvc: OracleResult, *, context: str = "") -> None:
    """mlrepro agrees with DVC: the same JSON, or both refuse the project."""
    prefix = f"{context}\n" if context else ""
    if isinstance(dvc, Rejected):
        assert isinstance(ours, Rejected), (
            f"{prefix}DVC refuses this project but mlrepro accepted it.\n"
            f"DVC: {dvc}\nmlrepro:\n{describe(ours)}"
        )
        return
    assert isinstance(ours, Accepted), (
        f"{prefix}DVC accepts this project but mlrepro refused it.\n"
        f"mlrepro: {ours}\nDVC:\n{describe(dvc)}"
    )
    if ours.data != dvc.data or not _same_types(ours.data, dvc.data):
        raise AssertionError(
            f"{prefix}mlrepro and DVC disagree.\n{diff_documents(ours.data, dvc.data)}"
        )


def _same_types(a: Any, b: Any) -> bool:
    """Equality that tells ``true`` from ``1`` and ``1`` from ``1.0``."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same_types(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same_types(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def diff_documents(ours: dict[str, Any], dvc: dict[str, Any]) -> str:
    """A short, readable account of where two stage lists differ."""
    lines: list[str] = []
    if not isinstance(ours, dict):
        return f"mlrepro printed a {type(ours).__name__}, not an object:\n{ours!r}"
    for key in sorted(set(ours) | set(dvc)):
        if key in ("stages",):
            continue
        if key not in ours or key not in dvc or not _same_types(ours[key], dvc[key]):
            lines.append(f"{key}: mlrepro={ours.get(key)!r}\n{' ' * len(key)}  dvc    ={dvc.get(key)!r}")
    ours_stages = {s.get("id"): s for s in ours.get("stages", []) if isinstance(s, dict)}
    dvc_stages = {s["id"]: s for s in dvc.get("stages", [])}
    for sid in sorted(set(ours_stages) - set(dvc_stages), key=str):
        lines.append(f"stage {sid!r}: only in mlrepro")
    for sid in sorted(set(dvc_stages) - set(ours_stages), key=str):
        lines.append(f"stage {sid!r}: only in DVC")
    for sid in sorted(set(ours_stages) & set(dvc_stages), key=str):
        a, b = ours_stages[sid], dvc_stages[sid]
        for field in sorted(set(a) | set(b)):
            if field not in a or field not in b or not _same_types(a[field], b[field]):
                lines.append(
                    f"stage {sid!r} {field}:\n    mlrepro: {a.get(field, '<missing>')!r}"
                    f"\n    dvc:     {b.get(field, '<missing>')!r}"
                )
    ours_ids = [s.get("id") for s in ours.get("stages", []) if isinstance(s, dict)]
    dvc_ids = [s["id"] for s in dvc.get("stages", [])]
    if ours_ids != dvc_ids:
        lines.append(f"stage ids in order:\n    mlrepro: {ours_ids}\n    dvc:     {dvc_ids}")
    return "\n".join(lines) or "(no visible difference: check value types)"
