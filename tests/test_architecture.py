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
    "pyarrow": "mlrepro/audit/parquet.py",
    "obstore": "mlrepro/remote/s3.py",
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


# Only mlrepro/git/ starts git, and only it and mlrepro/exec/ (a stage's command) start
# programs at all (issue 16): a module elsewhere that needs git asks mlrepro/git/.
PROGRAM_STARTERS = ("mlrepro/git/", "mlrepro/exec/")
OS_STARTERS = ("system", "popen", "posix_spawn", "posix_spawnp", "exec", "spawn")


def starts_programs(label: str, source: str) -> list[str]:
    """Each import of ``subprocess`` in ``source``, and each call of ``os``'s ways to run
    a program (``os.system``, ``os.popen``, ``os.exec*``, ``os.spawn*``...)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.append(node.module)
            if "subprocess" in {top(n) for n in names}:
                found.append(f"{label}:{node.lineno} imports subprocess")
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "os"
            and node.attr.startswith(OS_STARTERS)
        ):
            found.append(f"{label}:{node.lineno} uses os.{node.attr}")
    return found


def starts_git(label: str, source: str) -> list[str]:
    """Each call in ``source`` given an argv (a list or tuple) whose first item is "git"."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            argvs = [*node.args[:1], *(k.value for k in node.keywords if k.arg == "args")]
            for argv in argvs:
                if (
                    isinstance(argv, ast.List | ast.Tuple)
                    and argv.elts
                    and isinstance(argv.elts[0], ast.Constant)
                    and argv.elts[0].value == "git"
                ):
                    found.append(f"{label}:{node.lineno} runs git")
    return found


@pytest.mark.parametrize("module", MODULES, ids=rel)
def test_only_git_and_exec_start_programs(module: Path) -> None:
    if rel(module).startswith(PROGRAM_STARTERS):
        return
    wrong = starts_programs(rel(module), module.read_text(encoding="utf-8"))
    assert not wrong, "\n".join(wrong) + "\n(ask mlrepro/git/ instead)"


@pytest.mark.parametrize("module", MODULES, ids=rel)
def test_only_the_git_package_starts_git(module: Path) -> None:
    if rel(module).startswith("mlrepro/git/"):
        return
    wrong = starts_git(rel(module), module.read_text(encoding="utf-8"))
    assert not wrong, "\n".join(wrong)


def test_the_process_checks_name_file_and_line() -> None:
    src = "import os\n\n\ndef f():\n    import subprocess\n"
    src += "    subprocess.run(['git', 'status'], cwd='.')\n    os.execvp('ls', ['ls'])\n"
    assert starts_programs("mlrepro/dag/x.py", src) == [
        "mlrepro/dag/x.py:5 imports subprocess",
        "mlrepro/dag/x.py:7 uses os.execvp",
    ]
    assert starts_git("mlrepro/dag/x.py", src) == ["mlrepro/dag/x.py:6 runs git"]
    assert starts_git("x", "run(args=('git', 'log'))\nrun(['gitk'])\n") == ["x:1 runs git"]


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
    for heavy in ("ruamel", "git", "pyarrow", "obstore", "dask", "distributed", "xxhash"):
        assert heavy not in tops, f"`mlrepro --version` imports {heavy}"
    assert not any(m.startswith("mlrepro.spec") for m in modules), (
        "the loader is imported for --version"
    )


# The layer order of docs/architecture.md, lowest first: a module may import mlrepro's
# own modules only from its own package or from a layer before its own. Top-level
# modules (errors.py, ...) are layers of their own; ``mlrepro`` itself (its version)
# is below everything.
LAYERS = [
    "errors",
    "canonical",
    "names",
    "secrets",
    "fsutil",
    "store",
    "spec",
    "git",
    "exec",
    "remote",
    "workspace",
    "dag",
    "snapshot",
    "audit",
    "lineage",
    "engine",
    "ops",
    "render",
    "cli",
    "__main__",
]


def layer_of(module: Path) -> str:
    parts = module.relative_to(PACKAGE).parts
    return parts[0] if len(parts) > 1 else parts[0].removesuffix(".py")


def test_every_package_and_module_has_a_layer() -> None:
    found = {layer_of(m) for m in MODULES} - {"__init__"}
    assert found == set(LAYERS), "add the new package to LAYERS and docs/architecture.md"
    doc = (PACKAGE.parent / "docs" / "architecture.md").read_text(encoding="utf-8")
    order = doc.split("<!-- layers -->")[1].split("<!-- /layers -->")[0].split()
    assert [w.strip("`,<") for w in order if w.strip("`,<")] == LAYERS


def offences(label: str, layer: str, source: str) -> list[str]:
    """Each import in ``source`` (a module of ``layer``) of a layer above it."""
    allowed = set(LAYERS[: LAYERS.index(layer) + 1])
    wrong = []
    for node in ast.walk(ast.parse(source)):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        for name in names:
            parts = name.split(".")
            if parts[0] == "mlrepro" and len(parts) > 1 and parts[1] not in allowed:
                wrong.append(f"{label}:{node.lineno} imports {name} (layer {parts[1]})")
    return wrong


@pytest.mark.parametrize("module", MODULES, ids=rel)
def test_imports_follow_the_layer_order(module: Path) -> None:
    layer = layer_of(module)
    if layer == "__init__":
        layer = LAYERS[0]  # mlrepro/__init__.py: only the version, below everything
    wrong = offences(rel(module), layer, module.read_text(encoding="utf-8"))
    assert not wrong, "\n".join(wrong)


def test_the_layer_check_names_file_line_and_layer() -> None:
    """The check itself, on a module of its own: function-local imports count too."""
    src = "from mlrepro.errors import E\nfrom mlrepro.store.tree import Tree\n\n\n"
    src += "def f():\n    import mlrepro.ops.repro\n"
    assert offences("mlrepro/store/x.py", "store", src) == [
        "mlrepro/store/x.py:6 imports mlrepro.ops.repro (layer ops)"
    ]
    assert offences("mlrepro/render/x.py", "render", src) == []
