"""The real CLI in temp git repositories (the fixtures of tests/ops/conftest.py)."""

from tests.ops.conftest import new_repo, proj, tool

__all__ = ["new_repo", "proj", "tool"]
