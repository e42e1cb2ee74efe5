"""Score a fitted pipeline on labelled rows with one named metric (the same definitions as the trainer)."""

from __future__ import annotations

from typing import Any

HIGHER_IS_BETTER = {"accuracy": True, "f1": True, "roc_auc": True, "r2": True, "log_loss": False, "rmse": False, "mae": False}


def labels(frame: Any, target: str, task: str) -> Any:
    """The target as the numpy array the trainer fitted on (the trainer's own conversion, so labels match)."""
    from workbench.pipeline.validation import class_labels

    return class_labels(frame[target], task)


def score_metric(estimator: Any, frame: Any, target: str, task: str, metric: str) -> float:
    """`metric` of `estimator` on `frame` (raw rows including `target`; rows without a target are skipped),
    computed by the trainer's own `pipeline.metrics.score_metric`."""
    import numpy as np
    import polars as pl

    from workbench.pipeline.metrics import score_metric as score

    frame = frame.filter(pl.col(target).is_not_null())
    y = labels(frame, target, task)
    X = frame.drop(target)
    if task == "regression":
        return score(task, metric, y, estimator.predict(X))
    return score(task, metric, y, estimator.predict_proba(X), np.asarray(estimator.classes_))


def better(metric: str, a: float | None, b: float | None, tolerance: float = 1e-12) -> int:
    """1 if score `a` beats `b` under `metric`, -1 if `b` beats `a`, 0 for a tie or a missing score."""
    if a is None or b is None or abs(a - b) <= tolerance:
        return 0
    higher = HIGHER_IS_BETTER.get(metric, True)
    return 1 if (a > b) == higher else -1
