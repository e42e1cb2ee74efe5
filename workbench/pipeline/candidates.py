"""Built-in model families: default configuration, Optuna search space, and the full raw-rows pipeline.

Each family's first trial is its library defaults (LightGBM's and HistGradientBoosting's own defaults,
exactly as `LGBMClassifier()` would fit), so the search never ends below what an untuned model would give
on the same folds. Tuned boosting trials find their number of trees by early stopping on an inner
validation split (`EarlyStoppingLGBM`, HistGradientBoosting's own `early_stopping`), so the tree count is
measured rather than searched; the final refit then uses that count, scaled to its rows (`final_params`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from workbench.pipeline.feature_engineering import FeaturePlan

# Tuned boosting trials: at most this many trees, stopped when the inner validation split has not improved
# for STOPPING_ROUNDS (LightGBM) / HGB_NO_CHANGE (HistGradientBoosting) rounds.
MAX_TREES = 2000
STOPPING_ROUNDS = 50
HGB_NO_CHANGE = 20
VALIDATION_FRACTION = 0.1
# A final refit on more rows than early stopping saw gets more trees: the found count times the fourth
# root of the rows ratio (trees needed grow with data, far slower than linearly), at most MAX_TREE_SCALE times.
TREE_SCALE_POWER = 0.25
MAX_TREE_SCALE = 2.0


# Fit time per tree against leaves, measured on 2,300 x 73 and 20,000 x 12 (100 trees, 31 to 256 leaves):
# 256 leaves cost 4.9-8.6x LightGBM's 31 and 5.4-6.4x HistGB's.
LEAVES_KEY = {"lightgbm": "num_leaves", "hist_gradient_boosting": "max_leaf_nodes"}
DEFAULT_LEAVES = 31
LEAVES_COST_POWER = 0.8


@dataclass(frozen=True)
class Family:
    name: str
    preprocessing: str  # see preprocess.build_preprocessor
    defaults: Callable[[str], dict[str, Any]]
    suggest: Callable[[Any, str], dict[str, Any]]  # (optuna trial, task) -> params
    cost_key: str | None = None  # the parameter fit time grows with (trees / boosting rounds)
    # Rough fit cost of the defaults relative to LightGBM's (measured on the sample tasks): a prior for
    # the budget until the family's own fits have been timed.
    relative_cost: float = 1.0


def _linear_defaults(task: str) -> dict[str, Any]:
    return {"alpha": 1.0} if task == "regression" else {"C": 1.0}


def _linear_suggest(trial: Any, task: str) -> dict[str, Any]:
    if task == "regression":
        return {"alpha": trial.suggest_float("linear.alpha", 1e-3, 1e3, log=True)}
    return {"C": trial.suggest_float("linear.C", 1e-3, 1e2, log=True)}


def _forest_defaults(task: str) -> dict[str, Any]:
    return {"n_estimators": 100, "max_features": "sqrt" if task != "regression" else 1.0,
            "min_samples_leaf": 1, "max_samples": None}


def _forest_suggest(prefix: str) -> Callable[[Any, str], dict[str, Any]]:
    def suggest(trial: Any, task: str) -> dict[str, Any]:
        return {
            "n_estimators": trial.suggest_int(f"{prefix}.n_estimators", 50, 400, log=True),
            "max_features": trial.suggest_float(f"{prefix}.max_features", 0.1, 1.0),
            "min_samples_leaf": trial.suggest_int(f"{prefix}.min_samples_leaf", 1, 32, log=True),
            "max_samples": trial.suggest_float(f"{prefix}.max_samples", 0.2, 1.0),
        }
    return suggest


def _hgb_defaults(task: str) -> dict[str, Any]:
    # scikit-learn's own defaults, its early_stopping="auto" included (on above 10,000 rows).
    return {"learning_rate": 0.1, "max_iter": 100, "max_leaf_nodes": 31, "min_samples_leaf": 20,
            "l2_regularization": 0.0, "max_features": 1.0}


def _hgb_suggest(trial: Any, task: str) -> dict[str, Any]:
    return {
        "learning_rate": trial.suggest_float("hgb.learning_rate", 0.01, 0.3, log=True),
        "max_iter": MAX_TREES, "early_stopping": True,
        "max_leaf_nodes": trial.suggest_int("hgb.max_leaf_nodes", 4, 256, log=True),
        "min_samples_leaf": trial.suggest_int("hgb.min_samples_leaf", 2, 200, log=True),
        "l2_regularization": trial.suggest_float("hgb.l2_regularization", 1e-6, 10.0, log=True),
        "max_features": trial.suggest_float("hgb.max_features", 0.3, 1.0),
    }


def _lgbm_defaults(task: str) -> dict[str, Any]:
    return {"n_estimators": 100, "learning_rate": 0.1, "num_leaves": 31, "min_child_samples": 20,
            "subsample": 1.0, "colsample_bytree": 1.0, "reg_lambda": 0.0, "reg_alpha": 0.0}


def _lgbm_suggest(trial: Any, task: str) -> dict[str, Any]:
    return {
        "n_estimators": MAX_TREES, "early_stopping": True,
        "learning_rate": trial.suggest_float("lgbm.learning_rate", 0.01, 0.3, log=True),
        "num_leaves": trial.suggest_int("lgbm.num_leaves", 4, 256, log=True),
        "min_child_samples": trial.suggest_int("lgbm.min_child_samples", 2, 200, log=True),
        "subsample": trial.suggest_float("lgbm.subsample", 0.5, 1.0),
        "colsample_bytree": trial.suggest_float("lgbm.colsample_bytree", 0.3, 1.0),
        "reg_lambda": trial.suggest_float("lgbm.reg_lambda", 1e-6, 10.0, log=True),
        "reg_alpha": trial.suggest_float("lgbm.reg_alpha", 1e-6, 10.0, log=True),
    }


FAMILIES: dict[str, Family] = {
    # Priors measured on the flight_delay sample's search folds (19,000 rows): forests 8x and 4x LightGBM.
    "linear": Family("linear", "linear", _linear_defaults, _linear_suggest, None, 0.5),
    "random_forest": Family("random_forest", "trees", _forest_defaults, _forest_suggest("rf"), "n_estimators", 8.0),
    "extra_trees": Family("extra_trees", "trees", _forest_defaults, _forest_suggest("et"), "n_estimators", 4.0),
    "hist_gradient_boosting": Family("hist_gradient_boosting", "native", _hgb_defaults, _hgb_suggest, "max_iter", 1.2),
    "lightgbm": Family("lightgbm", "native", _lgbm_defaults, _lgbm_suggest, "n_estimators", 1.0),
}


# The order defaults are tried in: strong and cheap first, so even a tiny budget gets a good model.
SEARCH_ORDER = ("lightgbm", "linear", "hist_gradient_boosting", "random_forest", "extra_trees")


def _estimator(family: str, params: dict[str, Any], task: str, seed: int, n_jobs: int, categorical_idx: list[int]) -> Any:
    regression = task == "regression"
    if family == "linear":
        from sklearn.linear_model import LogisticRegression, Ridge

        return Ridge(**params) if regression else LogisticRegression(max_iter=2000, **params)
    if family in ("random_forest", "extra_trees"):
        from sklearn import ensemble

        kind = {"random_forest": "RandomForest", "extra_trees": "ExtraTrees"}[family]
        cls = getattr(ensemble, kind + ("Regressor" if regression else "Classifier"))
        p = dict(params)
        if p.get("max_samples") is not None and p["max_samples"] >= 0.999:
            p["max_samples"] = None
        return cls(bootstrap=True, random_state=seed, n_jobs=n_jobs, **p)
    if family == "hist_gradient_boosting":
        from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

        cls = HistGradientBoostingRegressor if regression else HistGradientBoostingClassifier
        p = dict(params)
        if p.get("early_stopping") is True:  # a tuned trial: the inner split finds the number of iterations
            p.update(n_iter_no_change=HGB_NO_CHANGE, validation_fraction=VALIDATION_FRACTION)
        return cls(random_state=seed, categorical_features=categorical_idx or None, **p)
    if family == "lightgbm":
        import lightgbm as lgb

        cls = lgb.LGBMRegressor if regression else lgb.LGBMClassifier
        p = dict(params)
        stop = p.pop("early_stopping", False)
        if p.get("subsample", 1.0) < 1.0:
            p["subsample_freq"] = 1
        model = cls(random_state=seed, n_jobs=n_jobs, verbose=-1, **p)
        return EarlyStoppingLGBM(model, VALIDATION_FRACTION, STOPPING_ROUNDS, seed) if stop else model
    raise ValueError(f"unknown candidate {family!r}")


def build_pipeline(family: str, params: dict[str, Any], task: str, plan: FeaturePlan, seed: int,
                   n_jobs: int = 1) -> tuple[Any, dict[str, Any]]:
    """Return (unfitted Pipeline from raw rows to predictions, fit params) for one configuration."""
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    from workbench.pipeline.feature_engineering import prepare_raw
    from workbench.pipeline.preprocess import build_preprocessor

    raw = FunctionTransformer(prepare_raw, validate=False, kw_args={
        "numeric": plan.numeric, "categorical": plan.categorical, "datetime": plan.datetime,
        "datetime_with_time": plan.datetime_with_time})
    pre, categorical_idx = build_preprocessor(FAMILIES[family].preprocessing, plan, seed, task)
    model = _estimator(family, params, task, seed, n_jobs, categorical_idx)
    fit_params: dict[str, Any] = {}
    if family == "lightgbm" and categorical_idx:
        fit_params["model__categorical_feature"] = categorical_idx
    return Pipeline([("raw", raw), ("pre", pre), ("model", model)]), fit_params


def cost_factor(family: str, params: dict[str, Any], trees: int | None = None) -> float:
    """Relative fit cost of `params` against the family's defaults (for the budget's time estimates);
    `trees` is how many an early-stopped fit actually grew, when known."""
    key = FAMILIES[family].cost_key
    if key is None:
        return 1.0
    ref = FAMILIES[family].defaults("binary")[key]
    count = trees if trees is not None else params.get(key, ref)
    if trees is None and params.get("early_stopping") is True:
        count = expected_trees(params)
    factor = count / ref
    leaves = params.get(LEAVES_KEY.get(family, ""))
    if leaves:  # a tree's cost grows with its leaves too (~ leaves^0.8 here, LightGBM and HistGB alike)
        factor *= (leaves / DEFAULT_LEAVES) ** LEAVES_COST_POWER
    if family in ("random_forest", "extra_trees") and params.get("max_samples"):
        factor *= params["max_samples"]
    return max(0.05, factor)


def expected_trees(params: dict[str, Any]) -> int:
    """A prior for how many trees an early-stopped fit grows before it has been timed: ~10 / learning rate."""
    return int(min(params.get("n_estimators", params.get("max_iter", MAX_TREES)),
                   10 / max(1e-3, params.get("learning_rate", 0.1)) + STOPPING_ROUNDS))


def trees_found(estimator: Any) -> int | None:
    """How many boosting rounds a fitted pipeline's model uses (early-stopped: the found count), else None."""
    model = estimator.named_steps["model"] if hasattr(estimator, "named_steps") else estimator
    if isinstance(model, EarlyStoppingLGBM):
        return model.best_iteration_
    kind = type(model).__name__
    if kind.startswith("HistGradientBoosting"):
        return int(model.n_iter_)
    if kind.startswith("LGBM"):  # LightGBM without early stopping
        return int(model.n_estimators)
    return None


def final_params(family: str, params: dict[str, Any], trees: int | None, found_on_rows: int | None,
                 final_rows: int) -> dict[str, Any]:
    """The configuration a refit on `final_rows` uses: a tuned boosting trial's early-stopped tree count
    (`trees`, found with `found_on_rows` training rows) scaled to the rows and fixed, early stopping off;
    anything else (library defaults included) exactly as it was cross-validated."""
    if params.get("early_stopping") is not True or not trees or not found_on_rows:
        return dict(params)
    count = max(1, min(MAX_TREES, int(round(trees * tree_scale(final_rows / found_on_rows)))))
    key = FAMILIES[family].cost_key
    assert key is not None
    return {**params, key: count, "early_stopping": False}


def tree_scale(rows_ratio: float) -> float:
    """How many times the found trees a refit on `rows_ratio` times the rows gets (see TREE_SCALE_POWER)."""
    return min(MAX_TREE_SCALE, max(1.0, rows_ratio ** TREE_SCALE_POWER))


def early_stopping_rows(rows: int) -> int:
    """Rows an early-stopped fit trains on when given `rows` (the rest is its inner validation split)."""
    return rows - max(1, int(math.ceil(rows * VALIDATION_FRACTION)))


class EarlyStoppingLGBM:
    """A LightGBM model that finds its number of trees, as HistGradientBoosting's `early_stopping` does:
    it holds `validation_fraction` of its rows aside (stratified for a classifier, seeded) and stops adding
    trees when they stop improving the held rows' loss for `stopping_rounds` rounds. Predicts with the best
    iteration; `best_iteration_` is the count a refit uses (see `final_params`)."""

    def __init__(self, estimator: Any, validation_fraction: float = VALIDATION_FRACTION,
                 stopping_rounds: int = STOPPING_ROUNDS, random_state: int = 0) -> None:
        self.estimator = estimator
        self.validation_fraction = validation_fraction
        self.stopping_rounds = stopping_rounds
        self.random_state = random_state

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {"estimator": self.estimator, "validation_fraction": self.validation_fraction,
                "stopping_rounds": self.stopping_rounds, "random_state": self.random_state}

    def fit(self, X: Any, y: Any, **fit_params: Any) -> "EarlyStoppingLGBM":
        import lightgbm as lgb
        from sklearn.base import clone
        from sklearn.model_selection import train_test_split

        y = np.asarray(y)
        idx = np.arange(len(y))
        classifier = hasattr(self.estimator, "predict_proba")
        self.labels_ = None
        if classifier:
            # Class codes 0..k-1 in sorted order, as LightGBM's own encoder makes them: LightGBM 4.7 does not
            # encode `eval_y`, so string labels (yes/no, species) failed every tuned trial.
            self.labels_, y = np.unique(y, return_inverse=True)
        size = max(1, int(math.ceil(len(y) * self.validation_fraction)))
        try:
            fit_idx, val_idx = train_test_split(idx, test_size=size, random_state=self.random_state,
                                                stratify=y if classifier else None)
        except ValueError:  # a class too rare to stratify
            fit_idx, val_idx = train_test_split(idx, test_size=size, random_state=self.random_state)
        fit_idx, val_idx = np.sort(fit_idx), np.sort(val_idx)
        if classifier and len(np.unique(y[fit_idx])) < len(np.unique(y)):
            fit_idx, val_idx = idx, idx[:0]  # the split would lose a class: no early stopping on this data
        model = clone(self.estimator)
        if len(val_idx):
            import inspect

            held = ({"eval_X": (X[val_idx],), "eval_y": (y[val_idx],)}
                    if "eval_X" in inspect.signature(model.fit).parameters else {"eval_set": [(X[val_idx], y[val_idx])]})
            model.fit(X[fit_idx], y[fit_idx], **held,
                      callbacks=[lgb.early_stopping(self.stopping_rounds, first_metric_only=True, verbose=False)],
                      **fit_params)
        else:
            model.fit(X, y, **fit_params)
        self.estimator_ = model
        self.best_iteration_ = int(model.best_iteration_ or model.n_estimators) if len(val_idx) else int(model.n_estimators)
        return self

    @property
    def classes_(self) -> Any:
        labels = getattr(self, "labels_", None)  # None: a model saved before labels were encoded
        return labels if labels is not None else self.estimator_.classes_

    @property
    def n_features_in_(self) -> int:
        return self.estimator_.n_features_in_

    @property
    def feature_importances_(self) -> Any:
        return self.estimator_.feature_importances_

    def predict(self, X: Any) -> Any:
        predicted = self.estimator_.predict(X)
        labels = getattr(self, "labels_", None)
        return labels[np.asarray(predicted, dtype=int)] if labels is not None else predicted

    def predict_proba(self, X: Any) -> Any:
        return self.estimator_.predict_proba(X)

    def __sklearn_tags__(self) -> Any:
        return self.estimator.__sklearn_tags__()
