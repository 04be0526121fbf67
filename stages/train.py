"""Train one model (named on the command line, configured in params.yaml: models.<name>)."""

from __future__ import annotations

import pickle
import sys

import numpy as np
from common import ensure_dir, params
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression


def build(name: str, conf: dict, seed: int):  # type: ignore[no-untyped-def]
    if name == "logreg":
        return LogisticRegression(C=conf["C"], max_iter=conf["max_iter"], random_state=seed)
    if name == "forest":
        return RandomForestClassifier(
            n_estimators=conf["n_estimators"], max_depth=conf["max_depth"],
            random_state=seed, n_jobs=1,
        )
    raise SystemExit(f"unknown model '{name}': add it to stages/train.py")


def main() -> None:
    name = sys.argv[1]
    p = params()
    train = np.loadtxt("data/features/train.csv", delimiter=",")
    model = build(name, p["models"][name], p["seed"])
    model.fit(train[:, :-1], train[:, -1].astype(int))
    ensure_dir("models")
    with open(f"models/{name}.pkl", "wb") as f:
        # protocol pinned so the bytes do not depend on the Python version's default
        pickle.dump(model, f, protocol=4)


if __name__ == "__main__":
    main()
