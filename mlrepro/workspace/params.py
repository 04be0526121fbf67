"""Current values of tracked params (``params.yaml: [lr, model.depth]``)."""

from __future__ import annotations

import os
from typing import Any

from mlrepro.errors import PipelineError
from mlrepro.spec.paramsfile import load_params_file

_MISSING = object()


class ParamsReader:
    """Reads each params file once per run."""

    def __init__(self, root: str) -> None:
        self.root = root
        self._files: dict[str, Any] = {}

    def _load(self, relpath: str) -> Any:
        if relpath not in self._files:
            full = os.path.join(self.root, relpath)
            if not os.path.isfile(full):
                self._files[relpath] = _MISSING
            else:
                self._files[relpath] = load_params_file(full, relpath)
        return self._files[relpath]

    def values(self, relpath: str, keys: tuple[str, ...] | None, *, stage: str) -> dict[str, Any]:
        """``{key: value}`` for the tracked keys (every top-level key when ``keys`` is None)."""
        data = self._load(relpath)
        if data is _MISSING:
            raise PipelineError(
                f"params file '{relpath}' does not exist",
                stage=stage,
                hint=f"create {relpath} or stop tracking it in dvc.yaml",
            )
        if not isinstance(data, dict):
            raise PipelineError("params file must hold a mapping", path=relpath, stage=stage)
        if keys is None:
            return {str(k): v for k, v in data.items()}
        out: dict[str, Any] = {}
        for key in keys:
            value = lookup(data, key)
            if value is _MISSING:
                raise PipelineError(
                    f"param '{key}' is missing from '{relpath}'",
                    stage=stage,
                    hint=f"add it to {relpath} or remove it from the stage's params",
                )
            out[key] = value
        return out


def lookup(data: Any, key: str) -> Any:
    """A dotted key (``a.b.0``) in nested mappings and lists; _MISSING when absent."""
    node = data
    for part in key.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif (
            isinstance(node, list)
            and part.lstrip("-").isdigit()
            and -len(node) <= int(part) < len(node)
        ):
            node = node[int(part)]
        else:
            return _MISSING
    return node
