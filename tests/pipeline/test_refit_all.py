"""The saved model sees every row; the frozen holdout is scored by its twin fitted on the training rows only."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from workbench.backends.local import LocalCompute
from workbench.pipeline.engine import run_automl
from workbench.pipeline.metrics import score_estimator
from workbench.pipeline.spec import parse_spec


def _spec(target: str, **over):
    return parse_spec({"target": target, "data": {"table": "t"}, **over})


@pytest.fixture(scope="module")
def penguins() -> pl.DataFrame:
    return pl.read_parquet(Path(__file__).resolve().parents[2] / "sample_data" / "penguins.parquet")


def test_the_saved_model_is_refitted_on_every_row(penguins: pl.DataFrame) -> None:
    spec = _spec("species", candidates=["linear", "lightgbm"], max_trials=2, time_budget_s=300, cv_folds=3)
    result = run_automl(penguins, spec, backend=LocalCompute(workers=0))
    best = result.best
    assert best["final_rows_scope"] == "train+holdout" and best["final_rows"] == penguins.height
    assert best["holdout_model_rows"] == result.train_rows < penguins.height
    assert result.saved_differs_from_scored
    # The holdout scores are the training-rows model's, never the model that has seen those rows.
    X, y = result.holdout.select(result.features.raw_columns), result.holdout["species"].to_numpy()
    assert score_estimator("multiclass", result.holdout_estimator, X, y) == result.holdout_scores
    summary = result.summary()
    assert summary["final_rows"] == penguins.height and summary["final_rows_scope"] == "train+holdout"
    assert summary["holdout_model_rows"] == result.train_rows
    # Both are ordinary estimators: they pickle, load and predict raw rows.
    for est in (result.estimator, result.holdout_estimator):
        again = pickle.loads(pickle.dumps(est))
        assert again.predict_proba(penguins.head(5)).shape == (5, 3) and list(again.classes_) == sorted(set(y))


def test_refit_all_false_saves_the_model_the_holdout_scored(penguins: pl.DataFrame) -> None:
    spec = _spec("species", candidates=["linear"], max_trials=1, time_budget_s=300, cv_folds=3, refit_all=False)
    result = run_automl(penguins, spec, backend=LocalCompute(workers=0))
    assert result.best["final_rows_scope"] == "train" and result.final_rows == result.train_rows
    assert result.estimator is result.holdout_estimator and not result.saved_differs_from_scored


def test_refit_all_must_be_a_boolean() -> None:
    from workbench.errors import SpecError

    with pytest.raises(SpecError, match="refit_all must be true or false"):
        _spec("species", refit_all="yes")


@pytest.mark.parametrize("labels", [["no", "yes"], ["Adelie", "Chinstrap", "Gentoo"]])
def test_early_stopped_lightgbm_keeps_string_labels(labels: list[str]) -> None:
    """LightGBM 4.7 does not encode `eval_y`: string classes failed every tuned LightGBM trial until the
    early-stopping wrapper encoded them itself. Predictions come back as the original labels."""
    from workbench.pipeline.candidates import FAMILIES, MAX_TREES, build_pipeline
    from workbench.pipeline.feature_engineering import plan_features

    rng = np.random.default_rng(3)
    n = 900
    frame = pl.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})
    codes = np.digitize(frame["a"].to_numpy() + 0.3 * rng.normal(size=n), np.linspace(-0.5, 0.5, len(labels) - 1))
    y = np.array(labels, dtype=object)[codes]
    task = "binary" if len(labels) == 2 else "multiclass"
    params = {**FAMILIES["lightgbm"].defaults(task), "n_estimators": MAX_TREES, "early_stopping": True}
    est, fit_params = build_pipeline("lightgbm", params, task, plan_features(frame, "target", ()), seed=1)
    est.fit(frame, y, **fit_params)
    assert list(est.classes_) == labels
    predicted = est.predict(frame)
    assert set(predicted) <= set(labels) and (predicted == y).mean() > 0.8
    proba = est.predict_proba(frame)
    assert proba.shape == (n, len(labels))
    assert np.array_equal(np.array(labels, dtype=object)[proba.argmax(axis=1)], predicted)


def test_boosting_finds_its_trees_by_early_stopping_and_the_refit_scales_them() -> None:
    from workbench.pipeline.candidates import (FAMILIES, MAX_TREES, EarlyStoppingLGBM, build_pipeline,
                                               early_stopping_rows, final_params, trees_found)
    from workbench.pipeline.feature_engineering import plan_features

    rng = np.random.default_rng(0)
    n = 3000
    frame = pl.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n), "c": rng.choice(["x", "y", "z"], n)})
    y = (frame["a"].to_numpy() + 0.5 * rng.normal(size=n) > 0).astype(int)
    plan = plan_features(frame, "target", ())
    params = {**FAMILIES["lightgbm"].defaults("binary"), "n_estimators": MAX_TREES, "early_stopping": True,
              "learning_rate": 0.3}
    fits = []
    for _ in range(2):
        est, fit_params = build_pipeline("lightgbm", params, "binary", plan, seed=1)
        est.fit(frame, y, **fit_params)
        fits.append(est)
    model = fits[0].named_steps["model"]
    assert isinstance(model, EarlyStoppingLGBM)
    found = trees_found(fits[0])
    assert found == trees_found(fits[1]) and 1 <= found < MAX_TREES  # found, not searched; deterministic
    assert np.array_equal(fits[0].predict_proba(frame), fits[1].predict_proba(frame))
    again = pickle.loads(pickle.dumps(fits[0]))
    assert np.array_equal(again.predict_proba(frame.head(7)), fits[0].predict_proba(frame.head(7)))
    # The refit on 16x the rows early stopping saw gets twice the trees (fourth root), no early stopping.
    seen = early_stopping_rows(n)
    refit = final_params("lightgbm", params, found, seen, 16 * seen)
    assert refit["early_stopping"] is False and refit["n_estimators"] == round(found * 2)
    # Library defaults are refitted exactly as they were cross-validated.
    defaults = FAMILIES["lightgbm"].defaults("binary")
    assert final_params("lightgbm", defaults, 100, seen, 10 * seen) == defaults
    hgb = {**FAMILIES["hist_gradient_boosting"].defaults("binary"), "max_iter": MAX_TREES, "early_stopping": True}
    est, _ = build_pipeline("hist_gradient_boosting", hgb, "binary", plan, seed=1)
    est.fit(frame, y)
    assert 1 <= trees_found(est) < MAX_TREES
