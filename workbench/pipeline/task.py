"""Validate the target and infer the task and metric before any model is fitted."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from workbench.errors import SpecError

HIGHER_IS_BETTER = {"accuracy": True, "f1": True, "roc_auc": True, "r2": True, "log_loss": False, "rmse": False, "mae": False}
MAX_CLASSES = 50


@dataclass(frozen=True)
class TaskInfo:
    task: str
    metric: str
    dropped_missing_target: int
    classes: int | None


def infer_task(frame: pl.DataFrame, target: str, task: str, metric: str) -> TaskInfo:
    if target not in frame.columns:
        raise SpecError(f"Unknown target column {target!r}; the data has: {', '.join(frame.columns)}.")
    y = frame[target]
    missing = y.null_count()
    y = y.drop_nulls()
    if y.len() == 0:
        raise SpecError(f"Target {target!r} has no non-missing values.")
    n_unique = y.n_unique()
    if n_unique < 2:
        raise SpecError(f"Target {target!r} is constant ({y[0]!r}); there is nothing to predict.")
    numeric = y.dtype.is_numeric() and y.dtype != pl.Boolean
    if task == "auto":
        if not numeric or y.dtype.is_integer() and n_unique <= 10:
            task = "binary" if n_unique == 2 else "multiclass"
        else:
            task = "regression"
    if task == "binary" and n_unique != 2:
        raise SpecError(f"Task is binary but target {target!r} has {n_unique} distinct values.")
    if task == "multiclass" and n_unique > MAX_CLASSES:
        raise SpecError(f"Target {target!r} has {n_unique} classes (more than {MAX_CLASSES}); is it really a class label?")
    if task == "regression" and not numeric:
        raise SpecError(f"Task is regression but target {target!r} is not numeric ({y.dtype}).")
    if metric == "auto":
        metric = {"binary": "roc_auc", "multiclass": "log_loss", "regression": "r2"}[task]
    allowed = {"binary": {"accuracy", "f1", "log_loss", "roc_auc"}, "multiclass": {"accuracy", "f1", "log_loss", "roc_auc"},
               "regression": {"rmse", "mae", "r2"}}[task]
    if metric not in allowed:
        raise SpecError(f"Metric {metric!r} does not fit a {task} task (use one of {', '.join(sorted(allowed))}).")
    return TaskInfo(task=task, metric=metric, dropped_missing_target=int(missing),
                    classes=None if task == "regression" else int(n_unique))
