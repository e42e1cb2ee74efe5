"""The run's budget with an injected clock: the reserve for the final fits, the defaults-first search, the
smoothed trial estimate. No wall-clock assertions: time is a fake clock that fits advance."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
import pytest

from workbench.backends.local import LocalCompute
from workbench.pipeline.budget import Budget, Reserve, Sizes
from workbench.pipeline.progress import TrialEstimate
from workbench.pipeline.search import CostModel, Trial
from workbench.pipeline.spec import parse_spec


class FakeClock:
    """A clock that only moves when told (and a little on every read, like a real one)."""

    def __init__(self, start: float = 1000.0, per_read: float = 0.0) -> None:
        self.t, self.per_read = start, per_read

    def __call__(self) -> float:
        self.t += self.per_read
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


def _spec(target: str, **over: Any):
    return parse_spec({"target": target, "data": {"table": "t"}, **over})


@pytest.fixture
def penguins() -> pl.DataFrame:
    from pathlib import Path

    return pl.read_parquet(Path(__file__).resolve().parents[2] / "sample_data" / "penguins.parquet")


def test_budget_reads_its_clock() -> None:
    clock = FakeClock()
    budget = Budget.start(60, clock=clock)
    assert budget.left() == 60 and budget.hard_end == budget.end + 3
    clock.advance(50)
    assert budget.elapsed() == 50 and budget.left(reserve=15) == -5 and budget.left_hard() == 13


def test_reserve_covers_both_final_fits_side_by_side_and_diagnostics() -> None:
    t = Trial(0, "lightgbm", {"n_estimators": 100}, is_default=True)
    t.fold_results = [{"fit_time_s": 1.0, "score_time_s": 0.01, "score_rows": 1000, "scores": {}}] * 5
    sizes = Sizes(fold_train_rows=1000, train_rows=1250, final_rows=1562, holdout_rows=312, n_features=10,
                  workers=2, confirm=False)
    reserve = Reserve(sizes, CostModel())
    train_fit, all_fit = reserve.fit_seconds(t, 1250), reserve.fit_seconds(t, 1562)
    assert all_fit > train_fit > 1.0
    # Two workers: the fit the holdout scores and the refit on every row run side by side.
    assert reserve.final_fit_seconds(t) == pytest.approx(all_fit * 1.1 + 1.0)
    one = Reserve(Sizes(1000, 1250, 1562, 312, 10, 1, False), CostModel())
    assert one.final_fit_seconds(t) == pytest.approx((train_fit + all_fit) * 1.1 + 1.0)
    finish = reserve.finish_seconds(t, 60)
    assert finish == pytest.approx(reserve.final_fit_seconds(t) + reserve.diagnostics_seconds(t) + 1.5)
    # A tuned boosting trial refitted on more rows grows more trees: its reserve is larger.
    tuned = Trial(1, "lightgbm", {"n_estimators": 2000, "early_stopping": True})
    tuned.fold_results = t.fold_results
    assert reserve.fit_seconds(tuned, 1562) > all_fit


def test_trial_estimate_is_smooth_and_bounded() -> None:
    est = TrialEstimate()
    shown = [est.update(done, spent, left) for done, spent, left in
             [(1, 1.0, 59), (2, 5.0, 55), (3, 5.5, 54.5), (4, 12.0, 48), (5, 12.2, 47.8), (6, 12.4, 47.6)]]
    raw = [done + left / (spent / done) for done, spent, left in
           [(1, 1.0, 59), (2, 5.0, 55), (3, 5.5, 54.5), (4, 12.0, 48), (5, 12.2, 47.8), (6, 12.4, 47.6)]]
    jumps = [abs(b - a) for a, b in zip(shown, shown[1:])]
    raw_jumps = [abs(b - a) for a, b in zip(raw, raw[1:])]
    assert max(jumps) < max(raw_jumps) / 2
    assert all(s >= d for s, d in zip(shown, range(1, 7)))
    capped = TrialEstimate(max_trials=8)
    assert all(capped.update(d, d * 0.1, 100.0) <= 8 for d in range(1, 9))
    assert capped.update(8, 0.8, 0.0) == 8


def _slow_fits(monkeypatch: pytest.MonkeyPatch, clock: FakeClock, seconds: dict[str, float]) -> None:
    """Every fold fit 'takes' `seconds[family]` on the fake clock (and says so in its cost fields)."""
    import workbench.pipeline.search as search
    from workbench.pipeline import evaluate
    from workbench.pipeline.candidates import cost_factor

    real = evaluate.fit_fold

    def fit_fold(problem: Any, family: str, params: dict[str, Any], fold: int, measure: bool = False) -> dict[str, Any]:
        out = real(problem, family, params, fold, measure)
        # Costs grow with the configuration as the engine's cost model assumes (trees grown, sampled rows).
        cost = seconds[family] * cost_factor(family, params, out.get("trees"))
        clock.advance(cost)
        out.update(fit_time_s=cost, work_s=cost)
        return out

    monkeypatch.setattr(search, "fit_fold", fit_fold)


@pytest.mark.slow
def test_every_family_gets_its_defaults_before_any_second_trial(penguins: pl.DataFrame,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from workbench.pipeline.engine import run_automl

    clock = FakeClock()
    # Fake fit costs in the ratio of the families' priors (candidates.FAMILIES[...].relative_cost).
    _slow_fits(monkeypatch, clock, {"lightgbm": 1.0, "linear": 0.5, "hist_gradient_boosting": 1.2,
                                    "random_forest": 8.0, "extra_trees": 4.0})
    result = run_automl(penguins, _spec("species", time_budget_s=120, cv_folds=3), backend=LocalCompute(workers=0),
                        started_at=clock(), clock=clock)
    order = sorted(result.trials, key=lambda r: r["trial"])
    assert [r["model"] for r in order[:5]] == ["lightgbm", "linear", "hist_gradient_boosting", "random_forest",
                                               "extra_trees"]
    assert all(r["config"] == "defaults" for r in order[:5]) and all(r["config"] == "tuned" for r in order[5:])
    assert len(order) > 6  # the budget is used: the search goes on after the defaults
    assert set(result.families) == {"lightgbm", "linear", "hist_gradient_boosting", "random_forest", "extra_trees"}
    assert not any(f.get("untried") for f in result.families.values())
    assert any(r["baseline"] for r in result.leaderboard) and sum(r["chosen"] for r in result.leaderboard) == 1
    # The fake clock's end: the whole run, final fits included, within the budget + 10 %.
    assert clock.t - 1000.0 <= 120 * 1.1
    assert result.best["final_rows_scope"] == "train+holdout"


@pytest.mark.slow
def test_the_search_keeps_time_for_the_final_fits(penguins: pl.DataFrame, monkeypatch: pytest.MonkeyPatch) -> None:
    """Costly fits: the search stops while the refit on every row still fits, instead of eating its time."""
    from workbench.pipeline.engine import run_automl
    from workbench.pipeline import stages

    clock = FakeClock()
    _slow_fits(monkeypatch, clock, {"lightgbm": 2.0, "linear": 1.0, "hist_gradient_boosting": 2.4,
                                    "random_forest": 16.0, "extra_trees": 8.0})
    real_fit = stages.fit_final

    def timed_fit_final(ctx: Any, rows: Any, trial: Trial, *args: Any) -> Any:
        # The final fits 'take' what their estimate says, on the fake clock, once they have run.
        need = ctx.reserve(rows).final_fit_seconds(trial)
        fitted = real_fit(ctx, rows, trial, *args)
        clock.advance(need)
        return fitted

    monkeypatch.setattr(stages, "fit_final", timed_fit_final)
    result = run_automl(penguins, _spec("species", time_budget_s=60, cv_folds=3), backend=LocalCompute(workers=0),
                        started_at=clock(), clock=clock)
    assert result.best["final_rows_scope"] == "train+holdout" and "final_rows_note" not in result.best, \
        result.best.get("final_rows_note")
    assert result.final_rows == penguins.height
    assert clock.t - 1000.0 <= 60 * 1.1
    untried = {f: v["untried"] for f, v in result.families.items() if v.get("untried")}
    for why in untried.values():  # a family the time could not afford says why
        assert "needed" in why or "ended" in why


def test_a_costly_family_that_cannot_fit_says_why(penguins: pl.DataFrame, monkeypatch: pytest.MonkeyPatch) -> None:
    from workbench.pipeline.engine import run_automl

    clock = FakeClock()
    _slow_fits(monkeypatch, clock, {"lightgbm": 0.5, "linear": 0.2, "random_forest": 200.0})
    result = run_automl(penguins, _spec("species", time_budget_s=30, candidates=["linear", "lightgbm", "random_forest"]),
                        backend=LocalCompute(workers=0), started_at=clock(), clock=clock)
    # The forest's prior (16x LightGBM) already says its 5 folds cannot fit in 30 s.
    assert result.families["random_forest"]["untried"].startswith("its defaults needed")
    assert not any(r["model"] == "random_forest" and r["config"] == "defaults" for r in result.trials)
    assert np.isfinite(result.best_score)


def test_a_tuned_boosting_trial_grows_no_more_trees_than_its_time_share() -> None:
    from workbench.pipeline.candidates import FAMILIES, MAX_TREES
    from workbench.pipeline.search import MIN_CAPPED_TREES, CostModel, cap_trees

    costs = CostModel()
    costs.observe("lightgbm", FAMILIES["lightgbm"].defaults("binary"), 0.5)  # 100 trees: 0.5 s a fold
    tuned = {"n_estimators": MAX_TREES, "early_stopping": True, "learning_rate": 0.01}
    short = Trial(7, "lightgbm", dict(tuned))
    cap_trees(short, costs, fold_seconds=2.0)  # 2,000 trees would take 10 s a fold: 400 fit in 2 s
    assert short.params["n_estimators"] == 400 and short.params["early_stopping"] is True
    roomy = Trial(8, "lightgbm", dict(tuned))
    cap_trees(roomy, costs, fold_seconds=60.0)
    assert roomy.params == tuned
    tiny = Trial(9, "lightgbm", dict(tuned))
    cap_trees(tiny, costs, fold_seconds=0.01)
    assert tiny.params["n_estimators"] == MIN_CAPPED_TREES
    defaults = Trial(0, "lightgbm", FAMILIES["lightgbm"].defaults("binary"))
    cap_trees(defaults, costs, fold_seconds=0.01)  # the library's defaults are never changed
    assert defaults.params == FAMILIES["lightgbm"].defaults("binary")


def test_diagnostics_are_reserved_at_most_a_share_of_the_budget() -> None:
    """They shrink to the time they get, so a slow first prediction must not hold the search back."""
    from workbench.pipeline.budget import DIAGNOSTICS_MAX_SHARE

    slow = Trial(0, "lightgbm", {"n_estimators": 100}, is_default=True)
    slow.fold_results = [{"fit_time_s": 0.3, "score_time_s": 2.0, "score_rows": 1000}]  # 2 ms a row
    sizes = Sizes(1000, 1250, 1562, 1200, 53, 2, False)
    uncapped = Reserve(sizes, CostModel()).diagnostics_seconds(slow)
    capped = Reserve(sizes, CostModel(), budget_s=60).diagnostics_seconds(slow)
    assert uncapped > 100 and capped == DIAGNOSTICS_MAX_SHARE * 60


def test_boosting_cost_grows_with_leaves() -> None:
    from workbench.pipeline.candidates import cost_factor

    base = cost_factor("lightgbm", {"n_estimators": 100, "num_leaves": 31})
    assert base == 1.0
    assert 4.5 < cost_factor("lightgbm", {"n_estimators": 100, "num_leaves": 256}) < 6.5
    assert cost_factor("hist_gradient_boosting", {"max_iter": 200, "max_leaf_nodes": 62}) == pytest.approx(2 * 2 ** 0.8)
