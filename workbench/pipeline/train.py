"""Fit each candidate on a train split, score it on held-out rows, and rank them."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import polars as pl

from workbench.errors import SpecError
from workbench.pipeline.features import FeatureSet, select_features
from workbench.pipeline.spec import RunSpec
from workbench.pipeline.task import HIGHER_IS_BETTER, TaskInfo, infer_task

Progress = Callable[[str, dict[str, Any]], None]


@dataclass
class CandidateResult:
    model: str
    metrics: dict[str, float]
    fit_time_s: float
    predict_ms_per_1k: float
    estimator: Any = field(repr=False, default=None)

    def row(self) -> dict[str, Any]:
        return {"model": self.model, **self.metrics, "fit_time_s": round(self.fit_time_s, 3),
                "predict_ms_per_1k": round(self.predict_ms_per_1k, 3)}


@dataclass
class TrainResult:
    task: TaskInfo
    features: FeatureSet
    train_rows: int
    test_rows: int
    leaderboard: list[CandidateResult]
    holdout: pl.DataFrame = field(repr=False, default_factory=pl.DataFrame)  # raw held-out rows + target

    @property
    def best(self) -> CandidateResult:
        return self.leaderboard[0]


def _score(task: str, y_true: np.ndarray, estimator: Any, X: pl.DataFrame) -> dict[str, float]:
    from sklearn import metrics as m

    if task == "regression":
        pred = estimator.predict(X)
        return {"rmse": float(np.sqrt(m.mean_squared_error(y_true, pred))), "mae": float(m.mean_absolute_error(y_true, pred)),
                "r2": float(m.r2_score(y_true, pred))}
    proba = estimator.predict_proba(X)
    classes = estimator.classes_
    pred = classes[np.argmax(proba, axis=1)]
    f1 = (m.f1_score(y_true, pred, average="binary", pos_label=classes[-1]) if task == "binary"
          else m.f1_score(y_true, pred, average="macro"))
    out = {"accuracy": float(m.accuracy_score(y_true, pred)), "f1": float(f1),
           "log_loss": float(m.log_loss(y_true, proba, labels=classes))}
    if task == "binary":
        out["roc_auc"] = float(m.roc_auc_score(y_true == classes[-1], proba[:, 1]))
    else:
        out["roc_auc"] = float(m.roc_auc_score(y_true, proba, multi_class="ovr", labels=classes))
    return out


def train_candidates(frame: pl.DataFrame, spec: RunSpec, progress: Progress | None = None) -> TrainResult:
    from sklearn.model_selection import train_test_split

    from workbench.pipeline.models import build_candidate

    report = progress or (lambda stage, info: None)
    info = infer_task(frame, spec.target, spec.task, spec.metric)
    frame = frame.filter(pl.col(spec.target).is_not_null())
    features = select_features(frame, spec.target, spec.exclude_columns)
    y = frame[spec.target].to_numpy()
    if info.task != "regression":
        y = y.astype(str) if y.dtype == object else y
    X = frame.select(features.columns)
    stratify = y if info.task != "regression" else None
    if stratify is not None:
        _, counts = np.unique(y, return_counts=True)
        if counts.min() < 2:
            raise SpecError(f"Target {spec.target!r} has a class with a single row; it cannot be split for scoring.")
    idx_train, idx_test = train_test_split(np.arange(frame.height), test_size=spec.holdout, random_state=spec.seed,
                                           stratify=stratify)
    X_train, X_test = X[idx_train], X[idx_test]
    y_train, y_test = y[idx_train], y[idx_test]
    results = []
    for i, name in enumerate(spec.candidates, 1):
        report("fit", {"candidate": name, "index": i, "total": len(spec.candidates)})
        estimator, fit_params = build_candidate(name, info.task, features, spec.seed)
        t0 = time.perf_counter()
        estimator.fit(X_train, y_train, **fit_params)
        fit_time = time.perf_counter() - t0
        t0 = time.perf_counter()
        scores = _score(info.task, y_test, estimator, X_test)
        predict_ms = (time.perf_counter() - t0) * 1000 / max(1, len(idx_test)) * 1000
        results.append(CandidateResult(name, scores, fit_time, predict_ms, estimator))
        report("scored", {"candidate": name, info.metric: scores[info.metric]})
    sign = -1 if HIGHER_IS_BETTER[info.metric] else 1
    results.sort(key=lambda r: sign * r.metrics[info.metric])
    holdout = frame.select([*features.columns, spec.target])[np.sort(idx_test)]
    return TrainResult(task=info, features=features, train_rows=len(idx_train), test_rows=len(idx_test),
                       leaderboard=results, holdout=holdout)
