"""Check the data before any model is fitted: task and metric, bad targets, ID-like and leaky columns.

Everything that would make a run meaningless is a `SpecError` with one clear sentence, raised before the
run is recorded; everything a data scientist should know about but can live with is reported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from workbench.errors import SpecError
from workbench.pipeline.feature_engineering import FeaturePlan, plan_features
from workbench.pipeline.metrics import DEFAULT_METRIC, TASK_METRICS
from workbench.pipeline.spec import RunSpec
from workbench.pipeline.splits import check_split, order_for_split, split_columns

MAX_CLASSES = 50
# A single feature whose own cross-validated score reaches this is "probably leaking the target".
LEAKAGE_THRESHOLD = 0.98
LEAKAGE_SAMPLE_ROWS = 5000
ID_MIN_ROWS = 50
ID_SAMPLE_ROWS = 5000  # rows whose text is matched against the UUID pattern
UUID_PATTERN = r"^\{?[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}\}?$"
# Names of key columns: id, *_id, id_*, customerId, uuid, guid, key, *_key, row number / index columns.
ID_NAME = re.compile(r"(?i:(.*[_\s-])?(id|uuid|guid|key|pk|row_?num(ber)?|row_?nr|index|idx)([_\s-].*)?)|.*[a-z]I[dD]")


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
    id_like: dict[str, str] = field(default_factory=dict)  # column -> why it looks like an identifier
    leaky: dict[str, float] = field(default_factory=dict)  # column -> its single-feature CV score
    kept_leaky: list[str] = field(default_factory=list)
    split: dict[str, str] = field(default_factory=lambda: {"kind": "random"})  # kind, and the column it uses

    def as_dict(self) -> dict[str, Any]:
        return {
            "task": self.task.task, "metric": self.task.metric, "classes": self.task.classes,
            "dropped_missing_target": self.task.dropped_missing_target, "id_like_columns": list(self.id_like),
            "id_like_reasons": dict(self.id_like),
            "leaky_columns": {c: round(s, 4) for c, s in self.leaky.items()}, "kept_leaky_columns": self.kept_leaky,
            "dropped_columns": self.plan.dropped, "split": dict(self.split),
        }


def validation_lines(summary: dict[str, Any], holdout: float) -> list[str]:
    """What validation did to the data, one line each, from `ValidationReport.as_dict()` as a run records it
    (the CLI prints these; any other shell can show the same lines)."""
    lines = []
    if summary.get("dropped_missing_target"):
        lines.append(f"dropped {summary['dropped_missing_target']:,} rows with a missing target")
    split = summary.get("split", {})
    if split.get("kind") == "time":
        lines.append(f"split by time on {split['column']!r}: folds train on the past, the holdout is the latest "
                     f"{holdout:.0%} of rows ({split['column']!r} is not a feature)")
    elif split.get("kind") == "group":
        lines.append(f"split by group on {split['column']!r}: no group is on both sides of the holdout or a fold "
                     f"({split['column']!r} is not a feature)")
    reasons = summary.get("id_like_reasons", {})
    for col in summary.get("id_like_columns", []):
        lines.append(f"excluded ID-like column {col!r} ({reasons.get(col, 'unique per row')})")
    for col, score in summary.get("leaky_columns", {}).items():
        kept = col in summary.get("kept_leaky_columns", [])
        lines.append(f"probable target leakage: {col!r} alone scores {score:.3f}; {'kept (spec)' if kept else 'excluded'}")
    said = {*summary.get("id_like_columns", []), *summary.get("leaky_columns", {}), split.get("column")}
    for col, why in summary.get("dropped_columns", {}).items():
        if col not in said:
            lines.append(f"dropped column {col!r} ({why})")
    return lines


CLASSIFICATION_METRICS = frozenset(TASK_METRICS["binary"]) | frozenset(TASK_METRICS["multiclass"])
REGRESSION_METRICS = frozenset(TASK_METRICS["regression"])
# Whole numbers with at most this many distinct values are class codes when neither task nor metric says.
MAX_AUTO_CODES = 10


def _whole_numbers(y: pl.Series) -> bool:
    """Integers, or floats that all hold whole numbers (0.0/1.0 flags, codes read back as DOUBLE)."""
    if y.dtype.is_integer():
        return True
    return bool(y.dtype.is_float() and y.is_finite().all() and (y == y.round(0)).all())


def infer_task(frame: pl.DataFrame, target: str, task: str, metric: str) -> TaskInfo:
    """Infer the task from the target's values and the spec's metric; refuse targets that cannot be learned.

    A classification metric makes a two-valued or whole-number target a class label; a regression metric
    on a two-valued target is a contradiction unless the spec says task = "regression".
    """
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
    if task != "auto" and metric != "auto" and metric not in TASK_METRICS[task]:
        kind = "classification" if metric in CLASSIFICATION_METRICS else "regression"
        raise SpecError(f"The spec says task = {task!r} but metric = {metric!r}, a {kind} metric; "
                        f"use one of {', '.join(sorted(TASK_METRICS[task]))} or change the task.")
    if task == "auto":
        task = _auto_task(y, target, metric, numeric, n_unique)
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


def _auto_task(y: pl.Series, target: str, metric: str, numeric: bool, n_unique: int) -> str:
    classes = "binary" if n_unique == 2 else "multiclass"
    if not numeric:
        if metric in REGRESSION_METRICS:
            raise SpecError(f"Metric {metric!r} is a regression metric but target {target!r} is not numeric "
                            f"({y.dtype}); use a classification metric.")
        return classes
    if metric in CLASSIFICATION_METRICS:
        if n_unique == 2 or (_whole_numbers(y) and n_unique <= MAX_CLASSES):
            return classes
        raise SpecError(f"Metric {metric!r} is a classification metric but target {target!r} holds {n_unique:,} "
                        "distinct numbers that are not class codes; use a regression metric or a label column.")
    if metric in REGRESSION_METRICS:
        if n_unique == 2:
            raise SpecError(f"Target {target!r} has only two values but metric {metric!r} is a regression metric; "
                            "set task = \"regression\" to model it as a number, or use a classification metric.")
        return "regression"
    if n_unique == 2 or (_whole_numbers(y) and n_unique <= MAX_AUTO_CODES):
        return classes
    return "regression"


def check_class_counts(y: np.ndarray, target: str, cv_folds: int, holdout: float) -> None:
    """Every class must appear in the holdout and in every CV fold, or scores are meaningless."""
    labels, counts = np.unique(y, return_counts=True)
    # Stratified splits put ~holdout of each class in the holdout and 1/cv_folds of the rest in each fold.
    need = max(2, int(np.ceil(cv_folds / (1 - holdout))))
    worst = int(np.argmin(counts))
    if counts[worst] < need:
        have = "a single row" if counts[worst] == 1 else f"only {counts[worst]} rows"
        raise SpecError(f"Target {target!r} class {labels[worst].item()!r} has {have}; with cv_folds = {cv_folds} and a "
                        f"holdout of {holdout:g} each class needs at least {need} (drop the class or lower cv_folds).")


def target_array(frame: pl.DataFrame, target: str, task: str) -> np.ndarray:
    """The target as the model is fitted on it: the original class labels, never a re-typed copy."""
    return class_labels(frame[target], task)


def class_labels(y: pl.Series, task: str) -> np.ndarray:
    """Class labels as numpy: text stays text ("yes"/"no", not booleans), whole-number floats become
    integers (so outputs are `probability_1`, not `probability_1.0`); the registry scores with the same."""
    if task == "regression":
        return y.to_numpy()
    if y.dtype.is_float() and _whole_numbers(y.drop_nulls()):
        y = y.cast(pl.Int64)
    values = y.to_numpy()
    if values.dtype == object:
        values = values.astype(str)
    return values


def find_id_like(frame: pl.DataFrame, plan: FeaturePlan) -> dict[str, str]:
    """Columns that look like identifiers, each with the reason: keys carry no pattern a model can reuse.

    Only integer and text columns qualify: a float (a price, a measurement) unique per row is a feature,
    and so is an integer unique per row that neither counts rows nor is named like an identifier.
    """
    n = frame.height
    if n < ID_MIN_ROWS:
        return {}
    found = {}
    for col in plan.categorical + plan.numeric:
        reason = _id_reason(frame[col], col, n)
        if reason:
            found[col] = reason
    return found


def _id_reason(s: pl.Series, name: str, n: int) -> str | None:
    if s.null_count() >= 0.05 * n:
        return None
    text = s.dtype in (pl.String, pl.Categorical) or isinstance(s.dtype, pl.Enum)
    if text:
        values = s.drop_nulls().cast(pl.String)
        if values.len() > ID_SAMPLE_ROWS:
            values = values.sample(ID_SAMPLE_ROWS, seed=0)
        if values.str.contains(UUID_PATTERN).mean() >= 0.95:
            return "UUID-like values"
    if not (text or s.dtype.is_integer()):
        return None  # floats and booleans: measurements and flags, features even when unique per row
    if s.n_unique() < 0.95 * n:
        return None
    if ID_NAME.fullmatch(name.strip()):
        return "named like an identifier and unique per row"
    if text:
        return "text unique per row: a key, not a category"
    steps = s.drop_nulls().diff().drop_nulls()
    if steps.len() and ((steps > 0).all() or (steps < 0).all()):
        return "row number: unique and monotone"
    return None


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
    """Return the rows with a target (in time order for a time split), and the report; raise SpecError
    for data that cannot be modelled."""
    info = infer_task(frame, spec.target, spec.task, spec.metric)
    frame = frame.filter(pl.col(spec.target).is_not_null())
    y = target_array(frame, spec.target, info.task)
    check_split(frame, y, spec, info.task != "regression")
    frame = order_for_split(frame, spec)  # a time split: row positions are time order from here on
    y = target_array(frame, spec.target, info.task)
    plan = plan_features(frame, spec.target, spec.exclude_columns)
    plan = plan.without(split_columns(spec))
    if info.task != "regression":
        check_class_counts(y, spec.target, spec.cv_folds, spec.holdout)
    id_like = find_id_like(frame, plan)
    plan = plan.without({c: f"identifier-like: {why}" for c, why in id_like.items()})
    leaky = find_leaky(frame, y, plan, info.task, spec.seed)
    kept = [c for c in leaky if spec.keeps_leaky(c)]
    plan = plan.without({c: f"probable target leakage (alone scores {s:.3f})" for c, s in leaky.items() if c not in kept})
    if not plan.raw_columns:
        raise SpecError("No usable feature columns remain after exclusions, ID-like and leaky columns.")
    split = ({"kind": "time", "column": spec.time_column} if spec.split == "time" and spec.time_column else
             {"kind": "group", "column": spec.groups} if spec.groups else {"kind": "random"})
    return frame, ValidationReport(info, plan, id_like, leaky, kept, split)
