"""Units of work the engine fans out through a compute back-end: one fold of one trial, the final fit,
one learning-curve point. Module-level functions over picklable arguments, so any back-end can run them."""

from __future__ import annotations

import pickle
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from workbench.pipeline.feature_engineering import FeaturePlan

LATENCY_SAMPLES = 30


@dataclass(frozen=True)
class Problem:
    """The search data and its folds, shipped with every fold task."""

    X: pl.DataFrame  # raw feature columns of the rows the search uses
    y: np.ndarray
    folds: tuple[tuple[np.ndarray, np.ndarray], ...]
    task: str
    plan: FeaturePlan
    seed: int
    n_jobs: int = 1
    keep_predictions: bool = False  # fold results carry their out-of-fold predictions (for ensembles)


def import_libraries() -> None:
    """Import what fits need (a back-end warm-up task: imports take seconds on a busy machine)."""
    import lightgbm  # noqa: F401
    import sklearn.ensemble  # noqa: F401
    import sklearn.linear_model  # noqa: F401

    import workbench.pipeline.preprocess  # noqa: F401
    from workbench.pipeline.metrics import score_predictions  # noqa: F401
    import sklearn.metrics  # noqa: F401


def _threads(n: int) -> Any:
    """Cap native thread pools (OpenMP in HistGradientBoosting, BLAS) at the task's share of the cores."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=max(1, n))


def fit_fold(problem: Problem, family: str, params: dict[str, Any], fold: int, measure_cost: bool = False) -> dict[str, Any]:
    """Fit one configuration on one fold's training rows and score it on the fold's validation rows."""
    from workbench.pipeline.candidates import build_pipeline, trees_found
    from workbench.pipeline.metrics import score_estimator, score_predictions

    train, test = problem.folds[fold]
    estimator, fit_params = build_pipeline(family, params, problem.task, problem.plan, problem.seed, problem.n_jobs)
    start = time.perf_counter()
    X_test = problem.X[test]
    with _threads(problem.n_jobs):
        estimator.fit(problem.X[train], problem.y[train], **fit_params)
        fit_time = time.perf_counter() - start
        t0 = time.perf_counter()
        if problem.keep_predictions:
            pred = estimator.predict(X_test) if problem.task == "regression" else estimator.predict_proba(X_test)
            scores = score_predictions(problem.task, problem.y[test], pred,
                                       None if problem.task == "regression" else estimator.classes_)
        else:
            scores = score_estimator(problem.task, estimator, X_test, problem.y[test])
        out: dict[str, Any] = {"scores": scores, "fit_time_s": fit_time, "score_time_s": time.perf_counter() - t0,
                               "score_rows": len(test), "train_rows": len(train)}
        trees = trees_found(estimator)
        if trees is not None:
            out["trees"] = trees
        if problem.keep_predictions:
            out["oof"] = np.asarray(pred, dtype=np.float32)
        if measure_cost:
            out.update(measure_latency(estimator, X_test, problem.task))
            out["model_size_kb"] = len(pickle.dumps(estimator, protocol=pickle.HIGHEST_PROTOCOL)) / 1024
    # Seconds of work after the (one-off, per worker) library imports: what the budget's cost model learns from.
    out["work_s"] = time.perf_counter() - start
    return out


def measure_latency(estimator: Any, X: pl.DataFrame, task: str, samples: int = LATENCY_SAMPLES) -> dict[str, float]:
    """Batch latency (ms per 1,000 rows) and single-row latency (p50, p95 ms), as a service scoring requests sees it."""
    predict = estimator.predict if task == "regression" else estimator.predict_proba
    batch = X[np.arange(1000) % X.height]
    t0 = time.perf_counter()
    predict(batch)
    per_1k = (time.perf_counter() - t0) * 1000
    times = []
    for i in range(min(samples, X.height)):
        row = X[i : i + 1]
        t0 = time.perf_counter()
        predict(row)
        times.append((time.perf_counter() - t0) * 1000)
    return {"predict_ms_per_1k": per_1k, "latency_p50_ms": float(np.percentile(times, 50)),
            "latency_p95_ms": float(np.percentile(times, 95))}


def fit_final(X: pl.DataFrame, y: np.ndarray, family: str, params: dict[str, Any], task: str, plan: FeaturePlan,
              seed: int, n_jobs: int) -> tuple[Any, float]:
    """Fit one configuration (its final parameters: see `candidates.final_params`) on the rows given;
    returns (fitted pipeline, fit seconds)."""
    from workbench.pipeline.candidates import build_pipeline

    estimator, fit_params = build_pipeline(family, params, task, plan, seed, n_jobs)
    t0 = time.perf_counter()
    with _threads(n_jobs):
        estimator.fit(X, y, **fit_params)
    return estimator, time.perf_counter() - t0


def learning_curve_point(problem: Problem, family: str, params: dict[str, Any], fraction: float) -> dict[str, Any]:
    """Train on a fraction of fold 0's training rows; score on those rows and on fold 0's validation rows."""
    from workbench.pipeline.candidates import build_pipeline
    from workbench.pipeline.metrics import score_estimator

    train, test = problem.folds[0]
    rng = np.random.default_rng(problem.seed)
    n = max(20, int(len(train) * fraction))
    subset = np.sort(rng.permutation(train)[:n]) if n < len(train) else train
    if problem.task != "regression" and len(np.unique(problem.y[subset])) < len(np.unique(problem.y[train])):
        subset = train  # a small draw lost a class: fall back rather than score a broken model
    estimator, fit_params = build_pipeline(family, params, problem.task, problem.plan, problem.seed, problem.n_jobs)
    with _threads(problem.n_jobs):
        estimator.fit(problem.X[subset], problem.y[subset], **fit_params)
    return {"train_rows": int(len(subset)),
            "train_scores": score_estimator(problem.task, estimator, problem.X[subset], problem.y[subset]),
            "validation_scores": score_estimator(problem.task, estimator, problem.X[test], problem.y[test])}
