"""Outputs may only be written inside the repository."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.ops.conftest import Proj


def assert_refused(proj: Proj, stage: str, *fragments: str) -> None:
    for args in (("repro",), ("status",), ("checkout",)):
        proc = proj.fails(*args)
        assert proc.stdout == ""
        lines = proc.stderr.splitlines()
        assert lines[0].startswith("error: "), proc.stderr
        assert f"stage '{stage}'" in lines[0], lines[0]
        for f in fragments:
            assert f in lines[0], (f, lines[0])
        assert all(ln.startswith(("error: ", "hint: ")) for ln in lines), lines
    assert proj.runs(stage) == 0
    assert not (proj.root / "mlrepro.lock").exists()


def test_parent_relative_output_is_refused(proj: Proj) -> None:
    log = str(proj.ext("runs.log"))
    proj.pipeline(
        {
            "escape": {
                "cmd": proj.cmd(["log", log, "escape"], ["write", "../x", "x"]),
                "outs": ["../x"],
            }
        }
    )
    assert_refused(proj, "escape", "'../x'", "outside the repository")
    assert not (proj.root.parent / "x").exists()


def test_absolute_output_is_refused(proj: Proj, tmp_path: Path) -> None:
    target = tmp_path / "abs-target" / "out.txt"
    log = str(proj.ext("runs.log"))
    proj.pipeline(
        {
            "abs": {
                "cmd": proj.cmd(["log", log, "abs"], ["write", target, "x"]),
                "outs": [str(target)],
            }
        }
    )
    assert_refused(proj, "abs", str(target))
    assert not target.parent.exists()


def test_output_through_a_symlinked_folder_is_refused(proj: Proj, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "keep.txt").write_text("do not touch")
    os.symlink(outside, proj.root / "models")
    log = str(proj.ext("runs.log"))
    proj.pipeline(
        {
            "train": {
                "cmd": proj.cmd(["log", log, "train"], ["write", "models/model.bin", "m"]),
                "outs": ["models/model.bin"],
            }
        }
    )
    assert_refused(proj, "train", "models/model.bin", "symbolic link")
    assert sorted(p.name for p in outside.iterdir()) == ["keep.txt"]
    assert (outside / "keep.txt").read_text() == "do not touch"


def test_output_that_is_a_symlink_to_outside_is_refused(proj: Proj, tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    os.symlink(victim, proj.root / "out.txt")
    log = str(proj.ext("runs.log"))
    proj.pipeline(
        {"w": {"cmd": proj.cmd(["log", log, "w"], ["write", "out.txt", "x"]), "outs": ["out.txt"]}}
    )
    assert_refused(proj, "w", "out.txt")
    assert victim.read_text() == "precious"
    assert os.path.islink(proj.root / "out.txt")


@pytest.mark.parametrize("path", ["sub/../../x", "./../x"])
def test_unnormalised_escapes_are_refused(proj: Proj, path: str) -> None:
    log = str(proj.ext("runs.log"))
    proj.pipeline(
        {"sneaky": {"cmd": proj.cmd(["log", log, "sneaky"], ["write", "x", "x"]), "outs": [path]}}
    )
    assert_refused(proj, "sneaky", "outside the repository")
    assert not (proj.root.parent / "x").exists()


def test_symlink_inside_the_repository_is_fine(proj: Proj) -> None:
    (proj.root / "real").mkdir()
    os.symlink("real", proj.root / "alias")
    proj.pipeline({"w": {"cmd": proj.cmd(["write", "alias/o.txt", "x"]), "outs": ["alias/o.txt"]}})
    proj.ok("repro")
    assert (proj.root / "real" / "o.txt").read_text() == "x"


def test_checkout_never_writes_through_a_symlink_inside_a_folder_output(
    proj: Proj, tmp_path: Path
) -> None:
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "precious.txt").write_text("precious")
    proj.pipeline(
        {
            "feat": {
                "cmd": proj.cmd(["write", "feat/sub/a.txt", "a"], ["write", "feat/b.txt", "b"]),
                "outs": ["feat"],
            }
        }
    )
    proj.ok("repro")
    for p in (proj.root / "feat" / "sub").iterdir():
        p.unlink()
    (proj.root / "feat" / "sub").rmdir()
    os.symlink(victim, proj.root / "feat" / "sub")
    proj.mlrepro("checkout")
    assert sorted(p.name for p in victim.iterdir()) == ["precious.txt"]
    assert (victim / "precious.txt").read_text() == "precious"
