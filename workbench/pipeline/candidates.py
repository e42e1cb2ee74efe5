"""Built-in model families: default configuration, Optuna search space, and the full raw-rows pipeline.

Each family's first trial is its library defaults (LightGBM's and HistGradientBoosting's own defaults),
so the search never ends below what an untuned model would give on the same folds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from workbench.pipeline.feature_engineering import FeaturePlan


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
    return {"learning_rate": 0.1, "max_iter": 100, "max_leaf_nodes": 31, "min_samples_leaf": 20,
            "l2_regularization": 0.0, "max_features": 1.0}


def _hgb_suggest(trial: Any, task: str) -> dict[str, Any]:
    return {
        "learning_rate": trial.suggest_float("hgb.learning_rate", 0.01, 0.3, log=True),
        "max_iter": trial.suggest_int("hgb.max_iter", 50, 1000, log=True),
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
        "n_estimators": trial.suggest_int("lgbm.n_estimators", 50, 1500, log=True),
        "learning_rate": trial.suggest_float("lgbm.learning_rate", 0.01, 0.3, log=True),
        "num_leaves": trial.suggest_int("lgbm.num_leaves", 4, 256, log=True),
        "min_child_samples": trial.suggest_int("lgbm.min_child_samples", 2, 200, log=True),
        "subsample": trial.suggest_float("lgbm.subsample", 0.5, 1.0),
        "colsample_bytree": trial.suggest_float("lgbm.colsample_bytree", 0.3, 1.0),
        "reg_lambda": trial.suggest_float("lgbm.reg_lambda", 1e-6, 10.0, log=True),
        "reg_alpha": trial.suggest_float("lgbm.reg_alpha", 1e-6, 10.0, log=True),
    }


FAMILIES: dict[str, Family] = {
    "linear": Family("linear", "linear", _linear_defaults, _linear_suggest, None, 0.5),
    "random_forest": Family("random_forest", "trees", _forest_defaults, _forest_suggest("rf"), "n_estimators", 16.0),
    "extra_trees": Family("extra_trees", "trees", _forest_defaults, _forest_suggest("et"), "n_estimators", 10.0),
    "hist_gradient_boosting": Family("hist_gradient_boosting", "native", _hgb_defaults, _hgb_suggest, "max_iter", 1.3),
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
        # Early stopping on an inner validation split keeps a large max_iter affordable.
        return cls(random_state=seed, categorical_features=categorical_idx or None, early_stopping=True,
                   n_iter_no_change=20, **params)
    if family == "lightgbm":
        import lightgbm as lgb

        cls = lgb.LGBMRegressor if regression else lgb.LGBMClassifier
        p = dict(params)
        if p.get("subsample", 1.0) < 1.0:
            p["subsample_freq"] = 1
        return cls(random_state=seed, n_jobs=n_jobs, verbose=-1, **p)
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


def cost_factor(family: str, params: dict[str, Any]) -> float:
    """Relative fit cost of `params` against the family's defaults (for the budget's time estimates)."""
    key = FAMILIES[family].cost_key
    if key is None:
        return 1.0
    ref = FAMILIES[family].defaults("binary")[key]
    factor = params.get(key, ref) / ref
    if family in ("random_forest", "extra_trees") and params.get("max_samples"):
        factor *= params["max_samples"]
    return max(0.05, factor)
