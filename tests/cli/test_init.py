"""``mlrepro init`` (mlrepro/cli/init.py) through the real CLI: what it prints when it
creates ``.mlrepro/``, when it finds one (and changes nothing), and with ``--force``
(which rewrites config.json with the defaults) (docs/cli.md, "mlrepro init").

Refusing anywhere but the top of a work tree, and the files it writes, are checked by
tests/cli/test_cli.py."""

from __future__ import annotations

import json
from pathlib import Path

from tests.ops.conftest import Proj, make_repo


def config_json(proj: Proj) -> dict[str, object]:
    doc = json.loads((proj.root / ".mlrepro" / "config.json").read_text())
    assert isinstance(doc, dict)
    return doc


def test_a_first_init_names_the_folder_it_created(tmp_path: Path, tool: Path) -> None:
    proj = make_repo(tmp_path / "repo", tool, tmp_path / "outside", init=False)
    proc = proj.ok("init")
    assert proc.stdout == f"Initialized mlrepro in {proj.root / '.mlrepro'}\n"
    assert proc.stderr == ""
    assert config_json(proj)["version"] == 1


def test_a_second_init_changes_nothing_and_points_to_force(proj: Proj) -> None:
    proj.ok("config", "cache.type", "copy")
    before = (proj.root / ".mlrepro" / "config.json").read_bytes()
    proc = proj.ok("init")
    assert proc.stdout == (
        f"mlrepro is already initialized in {proj.root} (use --force to rewrite the config)\n"
    )
    assert (proj.root / ".mlrepro" / "config.json").read_bytes() == before


def test_force_rewrites_the_project_config_with_the_defaults(proj: Proj) -> None:
    proj.ok("config", "cache.type", "copy")
    proc = proj.ok("init", "--force")
    assert proc.stdout == f"Initialized mlrepro in {proj.root / '.mlrepro'}\n"
    assert proj.ok("config", "cache.type").stdout == "reflink,copy\n"
    assert config_json(proj)["cache"] == {"type": ["reflink", "copy"]}


def test_an_unknown_option_is_a_usage_error_and_creates_nothing(tmp_path: Path, tool: Path) -> None:
    proj = make_repo(tmp_path / "repo", tool, tmp_path / "outside", init=False)
    proc = proj.fails("init", "--forse", code=2)
    assert proc.stdout == ""
    assert proc.stderr.splitlines()[0].startswith("error: no such option '--forse'")
    assert not (proj.root / ".mlrepro").exists()
