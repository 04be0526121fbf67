"""Params files are parsed once per content (issue 15: a 34 MB params.yaml was parsed
twice per command), and a rewrite is always seen, even one that keeps size and mtime."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from mlrepro.spec.paramsfile import load_params_file

values = st.integers(min_value=0, max_value=10**6)


@settings(max_examples=50, deadline=None)
@given(first=values, second=values)
def test_a_rewrite_that_keeps_size_and_mtime_is_read(first: int, second: int) -> None:
    scratch = Path(tempfile.mkdtemp(prefix="mlrepro-params-"))
    path = scratch / "params.yaml"
    a, b = f"lr: {first:07d}\n", f"lr: {second:07d}\n"  # the same size, always
    path.write_text(a)
    stamp = os.stat(path).st_mtime_ns
    assert load_params_file(str(path), "params.yaml") == {"lr": first}
    path.write_text(b)
    os.utime(path, ns=(stamp, stamp))
    assert load_params_file(str(path), "params.yaml") == {"lr": second}
    shutil.rmtree(scratch)


def test_the_same_bytes_are_parsed_once(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    path.write_text("train:\n  lr: 0.1\n")
    one = load_params_file(str(path), "params.yaml")
    assert load_params_file(str(path), "params.yaml") is one
    copy = tmp_path / "other.yaml"
    copy.write_text(path.read_text())
    assert load_params_file(str(copy), "other.yaml") == one


def test_a_yaml_11_directive_is_honoured(tmp_path: Path) -> None:
    # ruamel's C parser ignores the directive; such a file takes the Python parser
    path = tmp_path / "params.yaml"
    path.write_text("%YAML 1.1\n---\na: yes\nb: 010\n")
    assert load_params_file(str(path), "params.yaml") == {"a": True, "b": 8}
    path.write_text("a: yes\nb: 010\n")
    assert load_params_file(str(path), "params.yaml") == {"a": "yes", "b": 10}
