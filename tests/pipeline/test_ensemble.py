"""Greedy ensemble selection on out-of-fold predictions: chosen only when it beats the best single trial,
forbidden by `ensemble = false`, and saved as an estimator like any other."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from workbench.backends.local import LocalCompute
from workbench.pipeline.ensemble import WeightedEnsemble, greedy_selection, worth_it
from workbench.pipeline.search import Trial
from workbench.pipeline.spec import parse_spec


def _trial(number: int, preds: np.ndarray, folds: list, y: np.ndarray) -> Trial:
    from sklearn.metrics import roc_auc_score

    t = Trial(number, "lightgbm", {})
    t.fold_results = [{"oof": preds[test], "scores": {"roc_auc": roc_auc_score(y[test], preds[test][:, 1])},
                       "fit_time_s": 1.0} for _, test in folds]
    return t


def test_greedy_selection_combines_complementary_models() -> None:
    rng = np.random.default_rng(0)
    n = 600
    y = rng.integers(0, 2, n)
    signal_a, signal_b = rng.normal(size=n), rng.normal(size=n)
    # Two models that each see half of the signal: their average sees all of it.
    logit = lambda s: 1 / (1 + np.exp(-s))  # noqa: E731
    pa = logit(2 * (y - 0.5) + signal_a)
    pb = logit(2 * (y - 0.5) + signal_b)
    folds = [(None, np.arange(i, n, 3)) for i in range(3)]
    a = _trial(1, np.c_[1 - pa, pa], folds, y)
    b = _trial(2, np.c_[1 - pb, pb], folds, y)
    selection = greedy_selection([a, b], folds, y, "binary", "roc_auc", np.array([0, 1]))
    assert selection is not None and {t.number for t in selection.members} == {1, 2}
    assert selection.score > selection.best_single and worth_it(selection, "roc_auc")
    assert sum(selection.weights) == pytest.approx(1.0)
    # A copy of one model adds nothing: the best single model stays.
    same = greedy_selection([a, _trial(3, np.c_[1 - pa, pa], folds, y)], folds, y, "binary", "roc_auc",
                            np.array([0, 1]))
    assert not worth_it(same, "roc_auc")


def test_weighted_ensemble_predicts_and_pickles() -> None:
    class Fixed:
        def __init__(self, p: float) -> None:
            self.p, self.classes_ = p, np.array(["no", "yes"])

        def predict_proba(self, X):  # noqa: ANN001
            return np.tile([1 - self.p, self.p], (len(X), 1))

    ens = WeightedEnsemble([Fixed(0.2), Fixed(0.8)], [3, 1], "binary")
    proba = ens.predict_proba([0, 1])
    assert proba[0, 1] == pytest.approx(0.35) and list(ens.predict([0])) == ["no"]
    assert list(ens.classes_) == ["no", "yes"]


@pytest.fixture(scope="module")
def penguins() -> pl.DataFrame:
    return pl.read_parquet(Path(__file__).resolve().parents[2] / "sample_data" / "penguins.parquet")


def test_an_ensemble_is_saved_only_when_it_wins_and_never_when_forbidden(penguins: pl.DataFrame) -> None:
    from workbench.pipeline.engine import run_automl

    base = {"target": "body_mass_g", "data": {"table": "t"}, "max_trials": 6, "cv_folds": 3, "time_budget_s": 300,
            "candidates": ["linear", "lightgbm", "extra_trees"], "seed": 2}
    result = run_automl(penguins, parse_spec(base), backend=LocalCompute(workers=0))
    best, board = result.best, result.leaderboard
    chosen = [r for r in board if r["chosen"]]
    assert len(chosen) == 1
    if best["model"] == "ensemble":
        row = chosen[0]
        assert row["oof_best_single"] < row["oof_score"]  # it beat the best single trial on the same rows
        assert {"r2", "r2_std", "r2_se", "rmse", "rmse_std", "mae", "mae_std"} <= set(row)  # per fold, like trials
        assert row["predict_ms_per_1k"] > 0 and row["model_size_kb"] > 0 and len(row["members"]) >= 2
        assert isinstance(result.estimator, WeightedEnsemble)
        assert result.final_rows == penguins.filter(pl.col("body_mass_g").is_not_null()).height
        again = pickle.loads(pickle.dumps(result.estimator))
        assert again.predict(penguins.head(4)).shape == (4,)
        assert result.record["ensemble"]["members"] == [m["trial"] for m in row["members"]]
    else:
        assert best["ensemble"].startswith("not used")
    forbidden = run_automl(penguins, parse_spec({**base, "ensemble": False}), backend=LocalCompute(workers=0))
    assert forbidden.best["model"] != "ensemble" and forbidden.best["ensemble"] == "not used: ensemble = false in the spec"
    assert not isinstance(forbidden.estimator, WeightedEnsemble)
