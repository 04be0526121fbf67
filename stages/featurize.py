"""Standardise the features and project them with PCA (fitted on the training split)."""

from __future__ import annotations

import numpy as np
from common import ensure_dir, params
from sklearn.decomposition import PCA
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def main() -> None:
    p = params()
    train = np.loadtxt("data/prepared/train.csv", delimiter=",")
    test = np.loadtxt("data/prepared/test.csv", delimiter=",")
    transform = make_pipeline(
        StandardScaler(),
        PCA(n_components=p["featurize"]["pca_components"], random_state=p["seed"]),
    )
    transform.fit(train[:, :-1])
    ensure_dir("data/features")
    for name, table in (("train", train), ("test", test)):
        feats = transform.transform(table[:, :-1])
        np.savetxt(f"data/features/{name}.csv", np.column_stack([feats, table[:, -1]]),
                   delimiter=",", fmt="%.6g")


if __name__ == "__main__":
    main()
