"""The real CLI in temp git repositories, as in the engine's integration tests."""

from tests.ops.conftest import new_repo, proj, tool

__all__ = ["new_repo", "proj", "tool"]
