"""Helpers shared by the example stages: reading params, writing files deterministically."""

from __future__ import annotations

import json
import os
from typing import Any

import yaml


def params() -> dict[str, Any]:
    with open("params.yaml", encoding="utf-8") as f:
        data: dict[str, Any] = yaml.safe_load(f)
    return data


def ensure_dir(path: str) -> None:
    os.makedirs(path, exist_ok=True)


def write_json(path: str, data: Any) -> None:
    ensure_dir(os.path.dirname(path) or ".")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, sort_keys=True)
        f.write("\n")
