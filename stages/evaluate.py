"""Score one model on the test split: metrics JSON and ROC curve points (CSV plot data)."""

from __future__ import annotations

import csv
import pickle
import sys

import numpy as np
from common import ensure_dir, write_json
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score, roc_curve


def main() -> None:
    name = sys.argv[1]
    test = np.loadtxt("data/features/test.csv", delimiter=",")
    x, y = test[:, :-1], test[:, -1].astype(int)
    with open(f"models/{name}.pkl", "rb") as f:
        model = pickle.load(f)
    proba = model.predict_proba(x)[:, 1]
    pred = (proba >= 0.5).astype(int)
    write_json(f"metrics/{name}.json", {
        "accuracy": round(float(accuracy_score(y, pred)), 6),
        "f1": round(float(f1_score(y, pred)), 6),
        "roc_auc": round(float(roc_auc_score(y, proba)), 6),
    })
    fpr, tpr, _ = roc_curve(y, proba)
    ensure_dir("plots")
    with open(f"plots/{name}_roc.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["fpr", "tpr"])
        w.writerows((f"{a:.6f}", f"{b:.6f}") for a, b in zip(fpr, tpr, strict=True))


if __name__ == "__main__":
    main()
