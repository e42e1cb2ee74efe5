"""Check the data before any model is fitted: task and metric, bad targets, ID-like and leaky columns.

Everything that would make a run meaningless is a `SpecError` with one clear sentence, raised before the
run is recorded; everything a data scientist should know about but can live with is reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from workbench.errors import SpecError
from workbench.pipeline.feature_engineering import FeaturePlan, plan_features
from workbench.pipeline.metrics import DEFAULT_METRIC, TASK_METRICS
from workbench.pipeline.spec import RunSpec

MAX_CLASSES = 50
# A single feature whose own cross-validated score reaches this is "probably leaking the target".
LEAKAGE_THRESHOLD = 0.98
LEAKAGE_SAMPLE_ROWS = 5000
ID_MIN_ROWS = 50


@dataclass(frozen=True)
class TaskInfo:
    task: str
    metric: str
    dropped_missing_target: int
    classes: int | None


@dataclass
class ValidationReport:
    task: TaskInfo
    plan: FeaturePlan
    id_like: list[str] = field(default_factory=list)
    leaky: dict[str, float] = field(default_factory=dict)  # column -> its single-feature CV score
    kept_leaky: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "task": self.task.task, "metric": self.task.metric, "classes": self.task.classes,
            "dropped_missing_target": self.task.dropped_missing_target, "id_like_columns": self.id_like,
            "leaky_columns": {c: round(s, 4) for c, s in self.leaky.items()}, "kept_leaky_columns": self.kept_leaky,
            "dropped_columns": self.plan.dropped,
        }


def infer_task(frame: pl.DataFrame, target: str, task: str, metric: str) -> TaskInfo:
    """Infer the task from the target column and refuse targets that cannot be learned."""
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
        if not numeric or (y.dtype.is_integer() and n_unique <= 10):
            task = "binary" if n_unique == 2 else "multiclass"
        else:
            task = "regression"
    if task == "binary" and n_unique != 2:
        raise SpecError(f"Task is binary but target {target!r} has {n_unique} distinct values.")
    if task == "multiclass" and n_unique > MAX_CLASSES:
        raise SpecError(f"Target {target!r} has {n_unique:,} classes (more than {MAX_CLASSES}); "
                        "is it really a class label? Use task = \"regression\" for a number.")
    if task == "regression" and not numeric:
        raise SpecError(f"Task is regression but target {target!r} is not numeric ({y.dtype}).")
    if metric == "auto":
        metric = DEFAULT_METRIC[task]
    if metric not in TASK_METRICS[task]:
        raise SpecError(f"Metric {metric!r} does not fit a {task} task "
                        f"(use one of {', '.join(sorted(TASK_METRICS[task]))}).")
    return TaskInfo(task=task, metric=metric, dropped_missing_target=int(missing),
                    classes=None if task == "regression" else int(n_unique))


def check_class_counts(y: np.ndarray, target: str, cv_folds: int, holdout: float) -> None:
    """Every class must appear in the holdout and in every CV fold, or scores are meaningless."""
    labels, counts = np.unique(y, return_counts=True)
    # Stratified splits put ~holdout of each class in the holdout and 1/cv_folds of the rest in each fold.
    need = max(2, int(np.ceil(cv_folds / (1 - holdout))))
    worst = int(np.argmin(counts))
    if counts[worst] < need:
        have = "a single row" if counts[worst] == 1 else f"only {counts[worst]} rows"
        raise SpecError(f"Target {target!r} class {labels[worst]!r} has {have}; with cv_folds = {cv_folds} and a "
                        f"holdout of {holdout:g} each class needs at least {need} (drop the class or lower cv_folds).")


def target_array(frame: pl.DataFrame, target: str, task: str) -> np.ndarray:
    y = frame[target].to_numpy()
    if task != "regression" and y.dtype == object:
        y = y.astype(str)
    return y


def find_id_like(frame: pl.DataFrame, plan: FeaturePlan) -> list[str]:
    """Columns unique per row that carry no pattern: strings, and integers counting rows."""
    n = frame.height
    if n < ID_MIN_ROWS:
        return []
    found = []
    for col in plan.categorical + plan.numeric:
        s = frame[col]
        if s.dtype.is_float() or s.dtype == pl.Boolean:
            continue  # continuous measurements are often unique per row and perfectly good features
        if s.n_unique() >= 0.95 * n and s.null_count() < 0.05 * n:
            found.append(col)
    return found


def find_leaky(frame: pl.DataFrame, y: np.ndarray, plan: FeaturePlan, task: str, seed: int) -> dict[str, float]:
    """Features that on their own predict the target almost perfectly (honest 3-fold CV of a small tree)."""
    from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    rng = np.random.default_rng(seed)
    idx = np.arange(frame.height)
    if len(idx) > LEAKAGE_SAMPLE_ROWS:
        idx = np.sort(rng.choice(idx, LEAKAGE_SAMPLE_ROWS, replace=False))
    ys = y[idx]
    if task == "regression":
        model, scoring, cv = DecisionTreeRegressor(min_samples_leaf=3, random_state=seed), "r2", KFold(3, shuffle=True, random_state=seed)
    else:
        _, counts = np.unique(ys, return_counts=True)
        if counts.min() < 3:
            return {}
        model = DecisionTreeClassifier(min_samples_leaf=3, random_state=seed)
        scoring, cv = "balanced_accuracy", StratifiedKFold(3, shuffle=True, random_state=seed)
    sample = frame[idx]
    found = {}
    for col in plan.numeric + plan.categorical:
        s = sample[col]
        if s.dtype in (pl.String, pl.Categorical) or isinstance(s.dtype, pl.Enum):
            values = s.cast(pl.String).rank("dense").fill_null(-1).cast(pl.Float64).to_numpy()
        else:
            values = s.cast(pl.Float64).fill_null(np.nan).to_numpy()
        X = values.reshape(-1, 1)
        score = float(np.mean(cross_val_score(model, X, ys, scoring=scoring, cv=cv)))
        if score >= LEAKAGE_THRESHOLD:
            found[col] = score
    return found


def validate(frame: pl.DataFrame, spec: RunSpec) -> tuple[pl.DataFrame, ValidationReport]:
    """Return the rows with a target, and the report; raise SpecError for data that cannot be modelled."""
    info = infer_task(frame, spec.target, spec.task, spec.metric)
    frame = frame.filter(pl.col(spec.target).is_not_null())
    plan = plan_features(frame, spec.target, spec.exclude_columns)
    y = target_array(frame, spec.target, info.task)
    if info.task != "regression":
        check_class_counts(y, spec.target, spec.cv_folds, spec.holdout)
    id_like = find_id_like(frame, plan)
    plan = plan.without({c: "identifier-like (unique per row)" for c in id_like})
    leaky = find_leaky(frame, y, plan, info.task, spec.seed)
    kept = [c for c in leaky if spec.keeps_leaky(c)]
    plan = plan.without({c: f"probable target leakage (alone scores {s:.3f})" for c, s in leaky.items() if c not in kept})
    if not plan.raw_columns:
        raise SpecError("No usable feature columns remain after exclusions, ID-like and leaky columns.")
    return frame, ValidationReport(info, plan, id_like, leaky, kept)
