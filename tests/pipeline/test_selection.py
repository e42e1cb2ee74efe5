"""Choosing the final model: statistical ties go to defaults, then the smallest model; never below the defaults."""

from __future__ import annotations

from workbench.pipeline.search import Trial
from workbench.pipeline.selection import choose, confirm_candidates, rank


def trial(number: int, family: str, scores: list[float], *, default: bool = False, size_kb: float = 100.0,
          ok: bool = True, metric: str = "roc_auc") -> Trial:
    t = Trial(number, family, {}, is_default=default)
    if ok:
        t.fold_results = [{"scores": {metric: s}, "model_size_kb": size_kb, "fit_time_s": 1.0} for s in scores]
    else:
        t.error = "boom"
    return t


def test_a_clear_leader_is_chosen() -> None:
    leader = trial(5, "lightgbm", [0.90, 0.91, 0.90, 0.91, 0.90])
    defaults = trial(0, "lightgbm", [0.80, 0.81, 0.80, 0.81, 0.80], default=True)
    choice = choose([defaults, leader, trial(1, "linear", [], ok=False)], "roc_auc")
    assert choice.trial is leader and choice.leader is leader and choice.baseline is defaults
    assert [t.number for t in choice.tied] == [5] and "best CV roc_auc" in choice.reason


def test_defaults_within_one_standard_error_win_over_a_tuned_leader() -> None:
    # The tuned trial's lead (0.002) is well inside its standard error (~0.01): noise.
    tuned = trial(7, "hist_gradient_boosting", [0.92, 0.88, 0.93, 0.87, 0.91], size_kb=50)
    defaults = trial(0, "lightgbm", [0.91, 0.89, 0.92, 0.87, 0.90], default=True, size_kb=300)
    choice = choose([tuned, defaults], "roc_auc")
    assert choice.leader is tuned and choice.trial is defaults
    assert {t.number for t in choice.tied} == {0, 7}
    assert "within one standard error" in choice.reason and "defaults are preferred" in choice.reason


def test_among_tied_tuned_trials_the_smallest_model_wins() -> None:
    big = trial(3, "random_forest", [0.90, 0.86, 0.92, 0.88, 0.89], size_kb=9000)
    small = trial(4, "lightgbm", [0.89, 0.87, 0.91, 0.87, 0.89], size_kb=200)
    base = trial(0, "linear", [0.70] * 5, default=True, size_kb=2)  # far below: not tied, not chosen
    choice = choose([big, small, base], "roc_auc")
    assert choice.leader is big and choice.trial is small and choice.baseline is base
    assert "smallest model" in choice.reason


def test_never_below_the_best_defaults() -> None:
    # Linear defaults are tied with the leader and far smaller, but score under the LightGBM defaults.
    leader = trial(6, "lightgbm", [0.91, 0.87, 0.93, 0.86, 0.90])
    lgbm_defaults = trial(0, "lightgbm", [0.905, 0.87, 0.925, 0.86, 0.895], default=True, size_kb=300)
    linear_defaults = trial(1, "linear", [0.90, 0.86, 0.92, 0.85, 0.89], default=True, size_kb=1)
    choice = choose([leader, lgbm_defaults, linear_defaults], "roc_auc")
    assert choice.baseline is lgbm_defaults and choice.trial is lgbm_defaults


def test_losses_rank_lower_first() -> None:
    a = trial(1, "linear", [0.10, 0.11, 0.10], metric="log_loss", default=True)
    b = trial(2, "lightgbm", [0.30, 0.31, 0.30], metric="log_loss", default=True)
    assert [t.number for t in rank([b, a], "log_loss")] == [1, 2]
    assert choose([b, a], "log_loss").trial is a


def test_nothing_finished_means_no_choice() -> None:
    assert choose([trial(0, "linear", [], ok=False)], "roc_auc") is None


def test_confirm_round_takes_the_choice_the_baseline_and_the_leader_first() -> None:
    tuned = trial(7, "hist_gradient_boosting", [0.92, 0.88, 0.93, 0.87, 0.91])
    defaults = trial(0, "lightgbm", [0.91, 0.89, 0.92, 0.87, 0.90], default=True)
    other = trial(3, "random_forest", [0.85] * 5, default=True)
    ranked = rank([tuned, defaults, other], "roc_auc")
    choice = choose(ranked, "roc_auc")
    assert [t.number for t in confirm_candidates(choice, ranked, 3)] == [0, 7, 3]
    assert [t.number for t in confirm_candidates(choice, ranked, 2)] == [0, 7]
