"""mlrepro: reproducible, auditable ML pipelines in git."""

# Kept as a literal (not importlib.metadata) so `mlrepro --version` stays fast.
__version__ = "0.1.0"
