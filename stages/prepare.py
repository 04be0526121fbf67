"""Split scikit-learn's bundled breast-cancer data set into train and test CSVs."""

from __future__ import annotations

import numpy as np
from common import ensure_dir, params
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split


def main() -> None:
    p = params()
    data = load_breast_cancer()
    x_train, x_test, y_train, y_test = train_test_split(
        data.data, data.target, test_size=p["prepare"]["test_size"],
        random_state=p["seed"], stratify=data.target,
    )
    ensure_dir("data/prepared")
    for name, x, y in (("train", x_train, y_train), ("test", x_test, y_test)):
        table = np.column_stack([x, y])
        np.savetxt(f"data/prepared/{name}.csv", table, delimiter=",", fmt="%.6g")


if __name__ == "__main__":
    main()
