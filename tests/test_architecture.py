"""House rules that keep the package layered and the CLI light (shared/STYLE.md).

Read from the source with ``ast``, so a rule broken anywhere fails here.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "mlrepro"
MODULES = sorted(PACKAGE.rglob("*.py"))


def imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def rel(path: Path) -> str:
    return path.relative_to(PACKAGE.parent).as_posix()


def top(name: str) -> str:
    return name.split(".")[0]


# library -> the only package folder allowed to import it
OWNERS: dict[str, str | tuple[str, ...]] = {
    "click": "mlrepro/cli/",
    "git": "mlrepro/git/",
    "pyarrow": ("mlrepro/remote/", "mlrepro/audit/parquet.py"),
    "dask": "mlrepro/exec/",
    "distributed": "mlrepro/exec/",
}


@pytest.mark.parametrize("module", MODULES, ids=rel)
def test_third_party_libraries_stay_in_their_layer(module: Path) -> None:
    for name in imports(module):
        owner = OWNERS.get(top(name))
        if owner:
            allowed = (owner,) if isinstance(owner, str) else owner
            assert rel(module).startswith(allowed), (
                f"{rel(module)} imports {name}; only {owner} may"
            )


CORE = [
    m for m in MODULES if not rel(m).startswith("mlrepro/cli/") and rel(m) != "mlrepro/__main__.py"
]


@pytest.mark.parametrize("module", CORE, ids=rel)
def test_core_never_imports_the_cli(module: Path) -> None:
    assert not any(n.startswith("mlrepro.cli") for n in imports(module)), rel(module)


@pytest.mark.parametrize("module", CORE, ids=rel)
def test_core_neither_prints_nor_exits(module: Path) -> None:
    tree = ast.parse(module.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            if isinstance(f, ast.Name):
                assert f.id != "print", f"{rel(module)}:{node.lineno} prints"
            if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name):
                assert (f.value.id, f.attr) != ("sys", "exit"), f"{rel(module)}:{node.lineno} exits"


def test_version_imports_nothing_heavy() -> None:
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "mlrepro", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    modules = {line.split("|")[-1].strip() for line in proc.stderr.splitlines() if "|" in line}
    tops = {m.split(".")[0] for m in modules}
    for heavy in ("ruamel", "git", "pyarrow", "dask", "distributed", "xxhash"):
        assert heavy not in tops, f"`mlrepro --version` imports {heavy}"
    assert not any(m.startswith("mlrepro.spec") for m in modules), (
        "the loader is imported for --version"
    )


# The packages that point one way already (issue 16 fixes the rest: lineage -> ops, and
# the full layer order in docs/architecture.md). Each may import only these of mlrepro's.
BELOW: dict[str, set[str]] = {
    "store": {"canonical", "errors", "fsutil", "names"},
    "spec": {"canonical", "errors", "fsutil", "names", "secrets"},
    "dag": {"canonical", "errors", "fsutil", "names", "secrets", "spec"},
    "git": {"canonical", "errors", "fsutil", "names"},
}


@pytest.mark.parametrize("package", sorted(BELOW))
def test_lower_packages_import_nothing_above_them(package: str) -> None:
    wrong = []
    for module in sorted((PACKAGE / package).rglob("*.py")):
        tree = ast.parse(module.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                parts = name.split(".")
                inside = parts[0] == "mlrepro" and len(parts) > 1 and parts[1] != package
                if inside and parts[1] not in BELOW[package]:
                    wrong.append(f"{rel(module)}:{node.lineno} imports {name}")
    assert not wrong, "\n".join(wrong)
