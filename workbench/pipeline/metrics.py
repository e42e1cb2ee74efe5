"""Score predictions with every metric that fits the task (the primary one and the secondary ones)."""

from __future__ import annotations

from typing import Any

import numpy as np

HIGHER_IS_BETTER = {"accuracy": True, "f1": True, "roc_auc": True, "r2": True, "log_loss": False, "rmse": False,
                    "mae": False}
TASK_METRICS = {
    "binary": ("roc_auc", "log_loss", "accuracy", "f1"),
    "multiclass": ("log_loss", "roc_auc", "accuracy", "f1"),
    "regression": ("r2", "rmse", "mae"),
}
DEFAULT_METRIC = {"binary": "roc_auc", "multiclass": "log_loss", "regression": "r2"}


def score_estimator(task: str, estimator: Any, X: Any, y_true: np.ndarray) -> dict[str, float]:
    if task == "regression":
        return score_predictions(task, y_true, estimator.predict(X))
    return score_predictions(task, y_true, estimator.predict_proba(X), estimator.classes_)


def score_predictions(task: str, y_true: np.ndarray, pred: np.ndarray, classes: np.ndarray | None = None) -> dict[str, float]:
    """`pred` is the prediction (regression) or the class-probability matrix ordered like `classes`."""
    names = ("r2", "rmse", "mae") if task == "regression" else ("roc_auc", "log_loss", "accuracy", "f1")
    return {name: score_metric(task, name, y_true, pred, classes) for name in names}


def score_metric(task: str, metric: str, y_true: np.ndarray, pred: np.ndarray,
                 classes: np.ndarray | None = None) -> float:
    """One metric of `score_predictions`, computed alone: the ensemble's greedy rounds score hundreds of
    blends, and every metric of every blend took ~10 s on 21,000 rows."""
    from sklearn import metrics as m

    if task == "regression":
        if metric == "r2":
            return float(m.r2_score(y_true, pred))
        if metric == "rmse":
            return float(np.sqrt(m.mean_squared_error(y_true, pred)))
        return float(m.mean_absolute_error(y_true, pred))
    assert classes is not None
    if metric == "log_loss":
        return float(m.log_loss(y_true, pred, labels=classes))
    if metric == "roc_auc":
        if task == "binary":
            return float(m.roc_auc_score(y_true == classes[-1], pred[:, 1]))
        present = np.isin(classes, y_true)
        if present.sum() > 2:  # a fold may miss a rare class: score AUC over the classes it has
            p = pred[:, present] / np.clip(pred[:, present].sum(axis=1, keepdims=True), 1e-12, None)
            return float(m.roc_auc_score(y_true, p, multi_class="ovr", labels=classes[present]))
        return float("nan")
    labels = classes[np.argmax(pred, axis=1)]
    if metric == "accuracy":
        return float(m.accuracy_score(y_true, labels))
    if task == "binary":
        return float(m.f1_score(y_true, labels, average="binary", pos_label=classes[-1]))
    return float(m.f1_score(y_true, labels, average="macro"))


def better(metric: str, a: float, b: float) -> bool:
    """Is score `a` strictly better than `b` under `metric`?"""
    if b is None or np.isnan(b):
        return a is not None and not np.isnan(a)
    return a > b if HIGHER_IS_BETTER[metric] else a < b
