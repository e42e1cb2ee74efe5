"""The AutoML engine on small real data: search through a back-end, budget, determinism, leak-free
preprocessing, diagnostics, progress, and saved pipelines that score raw lake rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from workbench.backends.local import LocalCompute
from workbench.pipeline.engine import run_automl
from workbench.pipeline.spec import parse_spec
from workbench.workspace import Workspace

FLIGHTS_SAMPLE = """
SELECT f.month, f.sched_dep_time, f.carrier, f.origin, f.dest, f.tailnum, f.distance, f.time_hour,
       (f.arr_delay > 15)::INTEGER AS delayed
FROM flights AS f WHERE f.arr_delay IS NOT NULL
ORDER BY hash(f.year, f.month, f.day, f.flight, f.carrier, f.sched_dep_time) LIMIT 4000
"""


def _query(ws: Workspace, sql: str) -> pl.DataFrame:
    from workbench.lake import open_lake

    with open_lake(ws) as lake:
        return lake.cursor().execute(sql).pl()


def _spec(target: str, **over):
    return parse_spec({"target": target, "data": {"table": "t"}, **over})


@pytest.fixture
def penguins(sample_workspace: Workspace) -> pl.DataFrame:
    return _query(sample_workspace, "SELECT * FROM penguins")


def test_search_is_deterministic_for_a_fixed_seed(penguins: pl.DataFrame) -> None:
    spec = _spec("species", max_trials=6, time_budget_s=300, seed=3, candidates=["linear", "lightgbm", "extra_trees"])
    runs = [run_automl(penguins, spec, backend=LocalCompute(workers=0)) for _ in range(2)]
    a, b = ([(r["trial"], r["model"], r["params"], r.get("log_loss")) for r in run.trials] for run in runs)
    assert a == b and len(a) == 6
    assert [r["trial"] for r in runs[0].trials if r.get("error")] == []  # string classes: no trial fails
    defaults = [r["model"] for r in sorted(runs[0].trials, key=lambda r: r["trial"])][:3]
    assert defaults == ["lightgbm", "linear", "extra_trees"]  # every family's defaults come first
    raw = penguins.head(30)
    assert np.allclose(runs[0].estimator.predict_proba(raw), runs[1].estimator.predict_proba(raw))
    assert runs[0].stop_reason == "max_trials reached"


def test_leaderboard_has_cv_spread_costs_and_a_pareto_front(penguins: pl.DataFrame) -> None:
    result = run_automl(penguins, _spec("body_mass_g", max_trials=6, time_budget_s=120, exclude_columns=["year"]),
                        backend=LocalCompute(workers=0))
    assert result.task.task == "regression" and result.task.metric == "r2"
    board = result.leaderboard
    assert [r["model"] for r in board] == sorted({r["model"] for r in board}, key=[r["model"] for r in board].index)
    assert board == sorted(board, key=lambda r: -r["r2"])  # ranked, best first
    for row in board:
        for key in ("r2", "r2_std", "rmse", "rmse_std", "mae", "mae_std", "fit_time_s", "predict_ms_per_1k",
                    "latency_p50_ms", "latency_p95_ms", "model_size_kb", "pareto", "trials", "params"):
            assert key in row, key
        assert row["latency_p50_ms"] <= row["latency_p95_ms"] and row["model_size_kb"] > 0
    assert board[0]["pareto"]  # the most accurate model is always on the front
    # The saved model is the row flagged `chosen` (the leader, a tied trial or an ensemble: best["why"] says).
    assert [r["trial"] for r in board if r["chosen"]] == [result.best["trial"]] and result.holdout_scores["r2"] > 0.7
    assert result.holdout.height == result.test_rows and "year" in result.holdout.columns  # raw rows, every column


def test_preprocessing_is_fitted_inside_folds_no_target_encoding_leak() -> None:
    # 300 codes x 4 rows with a coin-flip target: a target encoding fitted before splitting would memorise
    # each code's mean and score far above chance; fitted (and cross-fitted) inside each fold it cannot.
    rng = np.random.default_rng(0)
    n = 1200
    frame = pl.DataFrame({
        "code": [f"c{i % 300}" for i in rng.permutation(n)],
        "noise": rng.normal(size=n),
        "label": rng.integers(0, 2, n),
    })
    result = run_automl(frame, _spec("label", candidates=["linear"], max_trials=1, time_budget_s=60),
                        backend=LocalCompute(workers=0))
    steps = {s["step"]: s for s in result.validation.plan.engineering_report()}
    assert steps["target_encoding"]["columns"] == ["code"] and steps["frequency_encoding"]["columns"] == ["code"]
    assert result.best["roc_auc"] < 0.6
    # The same encoder fitted on all rows first (the leak) would look impressive on the same folds:
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.linear_model import LogisticRegression

    means = frame.group_by("code").agg(pl.col("label").mean().alias("m"))
    leaked = frame.join(means, on="code")["m"].to_numpy().reshape(-1, 1)
    leaky_auc = cross_val_score(LogisticRegression(), leaked, frame["label"].to_numpy(), scoring="roc_auc",
                                cv=StratifiedKFold(5, shuffle=True, random_state=0)).mean()
    assert leaky_auc > 0.75


def test_flights_sample_with_datetimes_and_high_cardinality(sample_workspace: Workspace) -> None:
    frame = _query(sample_workspace, FLIGHTS_SAMPLE)
    events: list[tuple[str, dict]] = []
    # A fixed number of trials, so a loaded machine changes nothing here (the budget's promise is tested with
    # an injected clock in test_budget.py).
    spec = _spec("delayed", time_budget_s=120, max_trials=3, seed=1)
    with LocalCompute(workers=2) as backend:
        result = run_automl(frame, spec, progress=lambda s, i: events.append((s, i)), backend=backend)
    assert result.task.task == "binary" and result.best_score > 0.6  # ROC AUC on the frozen holdout
    steps = {s["step"]: s for s in result.validation.plan.engineering_report()}
    assert steps["datetime_parts"]["columns"] == ["time_hour"] and "time_hour__hour" in steps["datetime_parts"]["creates"]
    assert "tailnum" in steps["frequency_encoding"]["columns"] and "tailnum" in steps["rare_category_grouping"]["columns"]
    stages = [s for s, _ in events]
    assert stages[0] == "validate" and {"search", "scored", "final_fit", "diagnostics"} <= set(stages)
    trial_events = [i for s, i in events if s == "scored"]
    assert trial_events and all({"trial", "candidate", "remaining_s"} <= set(i) for i in trial_events)
    # A trial that failed (a fold over its time slice on a loaded machine) carries no score of its own.
    scored_ok = [i for i in trial_events if not i["message"].endswith("failed")]
    assert scored_ok and all({"best_score", "roc_auc"} <= set(i) for i in scored_ok)
    assert [i["trial"] for i in trial_events] == list(range(1, len(trial_events) + 1))
    d = result.diagnostics
    assert d["confusion_matrix"]["labels"] == ["0", "1"] and len(d["roc_curve"]) == 1 and d["pr_curve"]
    assert d["calibration"][0]["predicted"]
    assert "permutation_importance" in d or "permutation_importance" in d["skipped"]
    # The saved pipeline scores raw rows as they come from the lake: extra columns, nulls, datetimes.
    raw = _query(sample_workspace, "SELECT * FROM flights WHERE arr_delay IS NOT NULL LIMIT 50")
    proba = result.estimator.predict_proba(raw)
    assert proba.shape == (50, 2) and np.all((proba >= 0) & (proba <= 1))


def test_diagnostics_are_plain_data(penguins: pl.DataFrame) -> None:
    import json

    result = run_automl(penguins, _spec("body_mass_g", candidates=["lightgbm"], max_trials=1, time_budget_s=60),
                        backend=LocalCompute(workers=0))
    d = json.loads(json.dumps(result.diagnostics))
    assert {"residuals", "predicted_vs_actual", "permutation_importance", "partial_dependence"} <= set(d)
    assert d["learning_curve"]["train_rows"] == sorted(d["learning_curve"]["train_rows"])
    assert len(d["learning_curve"]["validation_score"]) == 4
    assert d["permutation_importance"]["features"][0] in ("species", "flipper_length_mm", "sex", "bill_depth_mm",
                                                          "bill_length_mm", "island", "year")
    pd0 = d["partial_dependence"][0]
    assert len(pd0["grid"]) == len(pd0["average"]["prediction"]) > 1


class _ReadClock:
    """Time that passes only as the engine reads it (0.05 s a read): the same run on a loaded machine or an
    idle one, so the budget can be asserted without the wall clock."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        self.t += 0.05
        return self.t


def test_tiny_budget_is_respected(penguins: pl.DataFrame) -> None:
    spec = _spec("species", time_budget_s=15)
    clock = _ReadClock()
    with LocalCompute(workers=2) as backend:
        result = run_automl(penguins, spec, backend=backend, started_at=clock(), clock=clock)
    assert clock.t - 1000.0 <= spec.time_budget_s * 1.1  # the whole run, final fits and diagnostics included
    assert result.stop_reason.startswith("time budget")
    assert result.best_score < 0.5  # log loss: a real model, not a placeholder


def test_tampered_artifact_is_refused(penguins: pl.DataFrame, tmp_path: Path) -> None:
    from workbench.runs.artifacts import ArtifactIntegrityError, load_model, save_model

    result = run_automl(penguins, _spec("species", candidates=["linear"], max_trials=1, time_budget_s=60),
                        backend=LocalCompute(workers=0))
    path = tmp_path / "model.joblib"
    digest = save_model(result.estimator, path)
    assert load_model(path, digest).predict(penguins.head(3)).shape == (3,)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ArtifactIntegrityError, match="changed after the run"):
        load_model(path, digest)


@pytest.mark.slow
def test_a_search_on_a_sample_confirms_its_leaders_on_most_rows(sample_workspace: Workspace) -> None:
    frame = _query(sample_workspace, FLIGHTS_SAMPLE.replace("LIMIT 4000", "LIMIT 40000"))
    events: list[tuple[str, dict]] = []
    # A short search (4 trials) on 12,000 of the 32,000 training rows. The run's clock stands still, so the
    # confirm round always has time for it, however loaded the machine (the budget has tests of its own).
    spec = _spec("delayed", time_budget_s=30, max_trials=4, seed=1,
                 candidates=["linear", "lightgbm", "hist_gradient_boosting"])
    with LocalCompute(workers=2) as backend:
        result = run_automl(frame, spec, progress=lambda s, i: events.append((s, i)), backend=backend,
                            started_at=1000.0, clock=lambda: 1000.0)
    assert result.search_rows < result.train_rows  # the search saw a sample...
    stages = [s for s, _ in events]
    assert stages.index("confirm") < stages.index("final_fit")
    confirm = result.best["confirm"]  # ... so its leaders were scored again on more rows than a CV fold had
    assert len(confirm["scores"]) >= 2 and confirm["train_rows"] > result.search_rows
    assert confirm["winner_trial"] == result.best["trial"]
    assert confirm["scores"][str(result.best["trial"])] == max(confirm["scores"].values())  # roc_auc: higher wins
    # The holdout scored the confirm fit (training rows only); the saved model is refitted on every row.
    assert result.best["holdout_model_rows"] == confirm["train_rows"]
    assert result.best["final_rows"] in (frame.height, confirm["train_rows"])
    assert result.best_score > 0.6
