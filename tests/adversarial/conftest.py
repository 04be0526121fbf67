"""The attack suites drive the same real repositories as the engine's tests."""

from tests.ops.conftest import new_repo, proj, tool

__all__ = ["new_repo", "proj", "tool"]
