"""A run records its trial sequence and decisions; a replay repeats them and gets the same metrics however
slow the machine is (a clock that races ahead, fits that sleep)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from workbench.backends.local import LocalCompute
from workbench.pipeline.engine import run_automl
from workbench.pipeline.spec import parse_spec


def _spec(target: str, **over: Any):
    return parse_spec({"target": target, "data": {"table": "t"}, **over})


@pytest.fixture(scope="module")
def penguins() -> pl.DataFrame:
    return pl.read_parquet(Path(__file__).resolve().parents[2] / "sample_data" / "penguins.parquet")


class RacingClock:
    """A machine ten times slower, as the run sees it: every read is 10x further from the start."""

    def __init__(self) -> None:
        self.t0 = time.monotonic()

    def __call__(self) -> float:
        return self.t0 + 10 * (time.monotonic() - self.t0) + 5.0


def _metrics(result: Any) -> tuple[Any, ...]:
    trials = sorted((r["trial"], r["model"], json.dumps(r["params"], sort_keys=True), r.get(result.task.metric))
                    for r in result.trials)
    board = [(r["model"], r.get(result.task.metric), r.get("chosen")) for r in result.leaderboard]
    return tuple(trials), tuple(board), result.best["trial"], result.best["final_rows"], result.holdout_scores


def test_replay_repeats_the_recorded_run_on_a_slow_machine(penguins: pl.DataFrame) -> None:
    spec = _spec("species", max_trials=5, time_budget_s=300, seed=3, cv_folds=3,
                 candidates=["linear", "lightgbm", "hist_gradient_boosting"])
    original = run_automl(penguins, spec, backend=LocalCompute(workers=0))
    record = json.loads(json.dumps(original.record))  # as stored in the log
    assert [t["family"] for t in record["trials"][:3]] == ["lightgbm", "linear", "hist_gradient_boosting"]
    # an ensemble (trial -1) is recorded by its members and weights, a single model by its trial number
    chosen = original.best["trial"]
    assert len(record["trials"]) == 5
    assert (record["chosen_trial"], bool(record["ensemble"])) == ((None, True) if chosen == -1 else (chosen, False))
    assert record["final"]["final_rows_scope"] == "train+holdout"
    # On a clock that says the whole budget went by long ago, a fresh search would stop at once; the
    # replay runs every recorded trial and makes every recorded decision.
    slow = RacingClock()
    replayed = run_automl(penguins, spec, backend=LocalCompute(workers=0), replay=record, clock=slow,
                          started_at=slow() + 1000)
    # the same trials, scores and choice exactly; the holdout scores to float noise (LightGBM's threads may sum
    # a histogram in another order: log loss differed in the 9th digit once)
    assert _metrics(replayed)[:4] == _metrics(original)[:4]
    assert replayed.holdout_scores == pytest.approx(original.holdout_scores, rel=1e-6)
    assert replayed.stop_reason == "replayed 5 recorded trials"


@pytest.mark.slow
def test_max_trials_are_not_skipped_for_their_estimated_time(penguins: pl.DataFrame,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """With max_trials the sequence depends on the seed alone: fits that sleep (a busy machine) change nothing."""
    import workbench.pipeline.search as search
    from workbench.pipeline import evaluate

    spec = _spec("species", max_trials=6, time_budget_s=120, seed=5, cv_folds=3,
                 candidates=["linear", "lightgbm", "random_forest"])
    quick = run_automl(penguins, spec, backend=LocalCompute(workers=0))
    real = evaluate.fit_fold

    def sleepy(problem: Any, family: str, params: dict[str, Any], fold: int, measure: bool = False) -> dict[str, Any]:
        time.sleep(0.2)
        out = real(problem, family, params, fold, measure)
        out.update(fit_time_s=out["fit_time_s"] * 40, work_s=out["work_s"] * 40)  # and it looks 40x dearer
        return out

    monkeypatch.setattr(search, "fit_fold", sleepy)
    slow = run_automl(penguins, spec, backend=LocalCompute(workers=0))
    assert [t["params"] for t in slow.record["trials"]] == [t["params"] for t in quick.record["trials"]]
    assert _metrics(slow)[:3] == _metrics(quick)[:3]
    assert slow.stop_reason == "max_trials reached"


def test_a_record_of_another_version_is_refused(penguins: pl.DataFrame) -> None:
    spec = _spec("species", max_trials=1, candidates=["linear"], cv_folds=3)
    with pytest.raises(ValueError, match="unknown run record version"):
        run_automl(penguins, spec, backend=LocalCompute(workers=0), replay={"version": 99, "trials": []})


@pytest.mark.slow
def test_runs_reproduce_replays_the_record_whatever_the_load(sample_workspace: Any,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """`runs reproduce` end to end: the original's record is in its run.finished event; the reproduction
    replays it with fits that sleep and cost 40x what they did, and its metrics match exactly."""
    import workbench.pipeline.search as search
    from workbench.pipeline import evaluate
    from workbench.pipeline.spec import parse_spec as parse
    from workbench.runs.engine import run_foreground
    from workbench.runs.reproduce import reproduce_run

    spec = parse({"name": "repro", "target": "species", "data": {"table": "penguins"}, "max_trials": 5,
                  "cv_folds": 3, "time_budget_s": 120, "candidates": ["linear", "lightgbm"],
                  "backend_options": {"workers": 0}})
    first = run_foreground(sample_workspace, spec)
    assert first.automl["record"]["trials"] and first.automl["final_rows_scope"] == "train+holdout"
    real = evaluate.fit_fold

    def sleepy(problem: Any, family: str, params: dict[str, Any], fold: int, measure: bool = False) -> dict[str, Any]:
        time.sleep(0.1)
        out = real(problem, family, params, fold, measure)
        out.update(fit_time_s=out["fit_time_s"] * 40, work_s=out["work_s"] * 40)
        return out

    monkeypatch.setattr(search, "fit_fold", sleepy)
    report = reproduce_run(sample_workspace, first.run_id)
    assert report.replayed and report.verdict == "exact", report.differences
