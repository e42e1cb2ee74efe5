"""Diagnostics of the final model on the frozen holdout, as plain JSON-able data stored with the run.

Learning curve (computed by the engine as back-end tasks), permutation importance, partial dependence of
the top features, and per task: confusion matrix, ROC, PR and calibration curves (classification) or
residuals vs predicted and predicted vs actual (regression). Each part is skipped, and says so, when the
time budget has no room left for it.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import polars as pl

from workbench.pipeline.feature_engineering import FeaturePlan
from workbench.pipeline.metrics import HIGHER_IS_BETTER, score_predictions

SAMPLE_ROWS = 2000
CURVE_POINTS = 100
SCATTER_POINTS = 400
PD_FEATURES = 3
PD_GRID = 20
PERMUTATION_REPEATS = 3
MIN_IMPORTANCE_ROWS = 200


def compute_diagnostics(estimator: Any, X: pl.DataFrame, y: np.ndarray, task: str, metric: str, plan: FeaturePlan,
                        seed: int, deadline: float, learning_curve: dict[str, Any] | None = None) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    if X.height > SAMPLE_ROWS:
        keep = np.sort(rng.choice(X.height, SAMPLE_ROWS, replace=False))
        X, y = X[keep], y[keep]
    out: dict[str, Any] = {"task": task, "metric": metric, "rows": int(X.height), "skipped": [],
                           "learning_curve": learning_curve}
    if learning_curve is None:
        out["skipped"].append("learning_curve")
    t0 = time.monotonic()
    if task == "regression":
        out.update(_regression(estimator.predict(X), y, rng))
    else:
        out.update(_classification(estimator.predict_proba(X), np.asarray(estimator.classes_), y))
    per_row = (time.monotonic() - t0) / max(1, X.height)
    # Permutation importance predicts the sample once per feature and repeat, partial dependence ~60 times on
    # up to 500 rows: a slow model gets fewer rows for them, so they end by the deadline (or are skipped).
    calls = len(plan.raw_columns) * PERMUTATION_REPEATS + 1
    pd_s = per_row * min(500, X.height) * PD_FEATURES * PD_GRID
    room = deadline - time.monotonic() - pd_s
    rows = int(min(X.height, room / max(1e-9, per_row * calls))) if room > 0 else 0
    if rows > 0 and rows >= min(MIN_IMPORTANCE_ROWS, X.height):  # a small holdout is used whole
        Xp, yp = (X, y) if rows >= X.height else (X[:rows], y[:rows])
        out["permutation_importance"] = _permutation_importance(estimator, Xp, yp, task, metric, plan, seed)
        out["permutation_importance"]["rows"] = int(Xp.height)
    else:
        out["skipped"].append("permutation_importance")
    if time.monotonic() < deadline:
        ranked = out.get("permutation_importance", {}).get("features") or plan.raw_columns
        top = [c for c in ranked if c in plan.numeric + plan.categorical][:PD_FEATURES]
        out["partial_dependence"] = _partial_dependence(estimator, X, top, task, plan, deadline)
    else:
        out["skipped"].append("partial_dependence")
    return out


def _downsample(*arrays: np.ndarray, points: int = CURVE_POINTS) -> list[list[float]]:
    n = len(arrays[0])
    idx = np.unique(np.linspace(0, n - 1, min(n, points)).round().astype(int)) if n else np.array([], dtype=int)
    return [[float(v) for v in np.asarray(a)[idx]] for a in arrays]


def _classification(proba: np.ndarray, classes: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    from sklearn.calibration import calibration_curve
    from sklearn.metrics import auc, confusion_matrix, precision_recall_curve, roc_curve

    labels = classes[np.argmax(proba, axis=1)]
    out: dict[str, Any] = {"confusion_matrix": {
        "labels": [str(c) for c in classes],
        "matrix": confusion_matrix(y, labels, labels=classes).tolist()}}
    # Binary: the positive class only; multiclass: one-vs-rest for every class.
    targets = [(len(classes) - 1, classes[-1])] if len(classes) == 2 else list(enumerate(classes))
    roc, pr, cal = [], [], []
    for j, cls in targets:
        truth = (y == cls).astype(int)
        if truth.min() == truth.max():
            continue
        fpr, tpr, _ = roc_curve(truth, proba[:, j])
        precision, recall, _ = precision_recall_curve(truth, proba[:, j])
        prob_true, prob_pred = calibration_curve(truth, proba[:, j], n_bins=10, strategy="quantile")
        fpr_s, tpr_s = _downsample(fpr, tpr)
        rec_s, prec_s = _downsample(recall[::-1], precision[::-1])
        roc.append({"class": str(cls), "fpr": fpr_s, "tpr": tpr_s, "auc": float(auc(fpr, tpr))})
        pr.append({"class": str(cls), "recall": rec_s, "precision": prec_s, "base_rate": float(truth.mean())})
        cal.append({"class": str(cls), "predicted": [float(v) for v in prob_pred], "observed": [float(v) for v in prob_true]})
    out.update(roc_curve=roc, pr_curve=pr, calibration=cal)
    return out


def _regression(pred: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> dict[str, Any]:
    y = y.astype(float)
    idx = np.sort(rng.choice(len(y), min(len(y), SCATTER_POINTS), replace=False))
    residuals = y - pred
    return {
        "residuals": {"predicted": [float(v) for v in pred[idx]], "residual": [float(v) for v in residuals[idx]],
                      "mean": float(residuals.mean()), "std": float(residuals.std())},
        "predicted_vs_actual": {"actual": [float(v) for v in y[idx]], "predicted": [float(v) for v in pred[idx]]},
    }


def _frame_from_array(values: np.ndarray, columns: list[str]) -> pl.DataFrame:
    return pl.DataFrame({c: values[:, j].tolist() for j, c in enumerate(columns)}, strict=False)


def _permutation_importance(estimator: Any, X: pl.DataFrame, y: np.ndarray, task: str, metric: str,
                            plan: FeaturePlan, seed: int) -> dict[str, Any]:
    """scikit-learn's permutation importance on raw columns (it shuffles numpy arrays, so the scorer
    turns them back into a typed frame before the pipeline sees them)."""
    from sklearn.inspection import permutation_importance

    columns = plan.raw_columns
    sign = 1.0 if HIGHER_IS_BETTER[metric] else -1.0

    def scorer(est: Any, values: np.ndarray, truth: np.ndarray) -> float:
        frame = _frame_from_array(values, columns)
        if task == "regression":
            scores = score_predictions(task, truth, est.predict(frame))
        else:
            scores = score_predictions(task, truth, est.predict_proba(frame), np.asarray(est.classes_))
        return sign * scores[metric]

    values = np.empty((X.height, len(columns)), dtype=object)
    for j, c in enumerate(columns):
        values[:, j] = X[c].to_list()
    result = permutation_importance(estimator, values, y, scoring=scorer, n_repeats=PERMUTATION_REPEATS,
                                    random_state=seed, n_jobs=1)
    order = np.argsort(-result.importances_mean)
    return {"features": [columns[i] for i in order],
            "mean": [float(result.importances_mean[i]) for i in order],
            "std": [float(result.importances_std[i]) for i in order],
            "note": f"drop in {metric} when the column is shuffled (holdout, {PERMUTATION_REPEATS} repeats)"}


def _partial_dependence(estimator: Any, X: pl.DataFrame, features: list[str], task: str, plan: FeaturePlan,
                        deadline: float) -> list[dict[str, Any]]:
    """Average prediction while one raw column is set to each grid value (brute force over the sample)."""
    sample = X[: min(X.height, 500)]
    out = []
    for col in features:
        if time.monotonic() > deadline:
            break
        values = sample[col].drop_nulls()
        if values.len() == 0:
            continue
        if col in plan.categorical:
            grid = values.cast(pl.String).value_counts(sort=True)[col].head(PD_GRID).to_list()
            kind = "categorical"
        else:
            qs = np.unique(np.quantile(values.cast(pl.Float64).to_numpy(), np.linspace(0.05, 0.95, PD_GRID)))
            grid = [float(v) for v in qs]
            kind = "numeric"
        curves: dict[str, list[float]] = {}
        for value in grid:
            frame = sample.with_columns(pl.lit(value).cast(sample.schema[col] if kind == "numeric" else pl.String).alias(col))
            if task == "regression":
                curves.setdefault("prediction", []).append(float(np.mean(estimator.predict(frame))))
            else:
                proba = estimator.predict_proba(frame).mean(axis=0)
                classes = [str(c) for c in estimator.classes_]
                shown = classes[-1:] if len(classes) == 2 else classes
                for cls in shown:
                    curves.setdefault(cls, []).append(float(proba[classes.index(cls)]))
        out.append({"feature": col, "kind": kind, "grid": grid, "average": curves})
    return out
