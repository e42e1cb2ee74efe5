"""The AutoML engine: validate once, then split → search → choose → confirm → fit → diagnose (`stages.py`).

The budget (`budget.py`) is a promise for the whole run: the search may start a trial only while that trial
plus everything after it (confirm round, the fit the holdout scores, the refit on every row, diagnostics,
saving) still fit before the end, re-computed after every batch for the current leader. The frozen holdout
scores a model of the training rows only; with `refit_all` (the default) the saved model is then refitted
on every row, and the result says which rows each model saw.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from workbench.pipeline import stages
from workbench.pipeline.budget import Budget, Clock
from workbench.pipeline.progress import Progress, ProgressReporter
from workbench.pipeline.spec import RunSpec
from workbench.pipeline.validation import TaskInfo, ValidationReport, validate

# Kept importable from here (the benchmark and older callers).
search_row_cap = stages.search_row_cap
SEARCH_ROWS_PER_BUDGET_SECOND = stages.SEARCH_ROWS_PER_BUDGET_SECOND
MIN_SEARCH_ROWS = stages.MIN_SEARCH_ROWS


@dataclass
class AutoMLResult:
    validation: ValidationReport
    train_rows: int
    test_rows: int
    search_rows: int
    leaderboard: list[dict[str, Any]]  # best configuration of each family, ranked, plus the chosen and baseline rows
    trials: list[dict[str, Any]]  # every trial, ranked
    best: dict[str, Any]  # the leaderboard row that became the final model, with its rows and why
    estimator: Any = field(repr=False)  # the saved model (refitted on every row with refit_all)
    holdout: pl.DataFrame = field(repr=False)  # raw held-out rows (every column, target included)
    holdout_scores: dict[str, float] = field(default_factory=dict)  # of `holdout_estimator`
    diagnostics: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    stop_reason: str = ""
    backend: str = "local"
    workers: int = 1
    holdout_estimator: Any = field(default=None, repr=False)  # the model of the training rows the holdout scored
    families: dict[str, dict[str, Any]] = field(default_factory=dict)  # per family: trials, seconds, or why untried
    record: dict[str, Any] = field(default_factory=dict)  # the trial sequence and decisions (`runs reproduce`)
    budget_s: float | None = None

    @property
    def task(self) -> TaskInfo:
        return self.validation.task

    @property
    def features(self) -> Any:
        return self.validation.plan

    @property
    def best_model(self) -> str:
        return str(self.best.get("family", self.best["model"]))

    @property
    def best_score(self) -> float:
        """The final model's primary metric on the frozen holdout (scored by the model of the training rows)."""
        return self.holdout_scores[self.task.metric]

    @property
    def final_rows(self) -> int:
        return int(self.best["final_rows"])

    @property
    def saved_differs_from_scored(self) -> bool:
        """The saved model was refitted on other rows than the model the holdout scored."""
        return self.holdout_estimator is not None and self.holdout_estimator is not self.estimator

    def summary(self) -> dict[str, Any]:
        """Plain data about the run for the audit log and `--json` (no estimator, no frames)."""
        return {
            "validation": self.validation.as_dict(),
            "feature_engineering": self.validation.plan.engineering_report(),
            "train_rows": self.train_rows, "test_rows": self.test_rows, "search_rows": self.search_rows,
            "best": {k: v for k, v in self.best.items()}, "holdout_scores": self.holdout_scores,
            "final_rows": self.best.get("final_rows"), "final_rows_scope": self.best.get("final_rows_scope"),
            "holdout_model_rows": self.best.get("holdout_model_rows"),
            "timings": self.timings, "budget_s": self.budget_s, "stop_reason": self.stop_reason,
            "trial_count": len(self.trials),
            "families": self.families, "backend": self.backend, "workers": self.workers, "record": self.record,
        }


def run_automl(frame: pl.DataFrame, spec: RunSpec, progress: Progress | None = None, *, backend: Any = None,
               started_at: float | None = None, cancel: threading.Event | None = None,
               validated: tuple[pl.DataFrame, ValidationReport] | None = None,
               replay: dict[str, Any] | None = None, clock: Clock | None = None) -> AutoMLResult:
    """Run the whole AutoML pipeline on `frame` (raw rows from the lake) as `spec` says.

    `started_at` (on `clock`, `time.monotonic` by default) is when the run began, so time spent loading data
    counts against the budget; `backend` defaults to the one the spec names; `validated` is
    `validate(frame, spec)` when the caller already ran it (it is not run again); `cancel` stops the run
    between steps (KeyboardInterrupt); `replay` is an earlier result's `record`: its trials and decisions
    are repeated exactly, whatever the clock says.
    """
    from workbench.backends.discovery import get_compute_backend

    budget = Budget.start(spec.time_budget_s, started_at, clock)
    report = ProgressReporter(progress, budget.started, spec.time_budget_s, clock=budget.clock)
    own_backend = backend is None
    if own_backend:
        backend = get_compute_backend(spec.backend)
    # Workers import scikit-learn and LightGBM while the data is validated, not on the clock of trial one.
    warm = threading.Thread(target=_warm_up, args=(backend,), daemon=True)
    warm.start()
    try:
        report("validate", "checking the target and columns")
        try:
            frame, validation = validated if validated is not None else validate(frame, spec)
        finally:
            warm.join()
        report.metric = validation.task.metric
        rows = stages.split_rows(frame, validation, spec)
        ctx = stages.RunContext(spec, validation, budget, backend, max(1, backend.worker_count()), report, cancel,
                                stages.RunRecord.from_dict(replay) if replay is not None else None)
        ctx.timings["validate_s"] = round(budget.elapsed(), 3)
        return _run_stages(ctx, rows)
    finally:
        if own_backend:
            backend.close()


def _run_stages(ctx: stages.RunContext, rows: stages.Rows) -> AutoMLResult:
    from workbench.pipeline import ensemble

    state, record = stages.search(ctx, rows)
    choice = stages.choose_trial(ctx, rows, state)
    selection, no_ensemble = ensemble.select(ctx, rows, state)
    ensembled = ensemble.fit(ctx, rows, selection, record) if selection is not None else None
    if selection is not None and ensembled is None:
        no_ensemble = "a member's fit failed; the best single model is saved"
    if ensembled is not None:
        return _result(ctx, rows, state, choice, record, None, ensembled, selection, no_ensemble)
    confirmed = stages.confirm(ctx, rows, state, choice, record)
    trial, why = choice.trial, choice.reason
    if confirmed is not None:
        winner = confirmed.confirmation.winner
        scored = ", ".join(f"{stages.label(t)} {confirmed.confirmation.scores[t.number]:.4f}"
                           for t in confirmed.candidates if t.number in confirmed.confirmation.scores)
        why = (f"confirmed on {confirmed.confirmation.train_rows:,} training rows ({ctx.metric} on "
               f"{confirmed.confirmation.validation_rows:,} held aside: {scored}); before that: {why}")
        if winner is not trial:
            why = f"{stages.label(winner)} won the confirm round over the CV choice {stages.label(trial)}; " + why
        trial = winner
    fitted = stages.fit_final(ctx, rows, trial, confirmed, record, stages.search_problem(ctx, rows, record.n_jobs))
    choice.reason = why
    return _result(ctx, rows, state, choice, record, confirmed, fitted, None, no_ensemble)


def _result(ctx: stages.RunContext, rows: stages.Rows, state: Any, choice: Any, record: stages.RunRecord,
            confirmed: stages.Confirmed | None, fitted: stages.Fitted, selection: Any, no_ensemble: str) -> AutoMLResult:
    from workbench.pipeline import ensemble
    from workbench.pipeline.leaderboard import build_leaderboard, mark_pareto, rank_rows, trial_row
    from workbench.pipeline.metrics import HIGHER_IS_BETTER

    holdout_scores, diagnostics = stages.diagnose(ctx, rows, fitted)
    ctx.timings["engine_total_s"] = round(ctx.budget.elapsed(), 3)
    metric = ctx.metric
    trial = fitted.trial
    trial_rows = rank_rows([trial_row(t, ctx.task, metric) for t in state.trials], metric)
    holdout = dict(confirmed.holdout_scores) if confirmed else {}
    chosen = -1 if selection is not None else trial.number
    holdout[chosen] = holdout_scores[metric]
    board = build_leaderboard(trial_rows, metric, chosen=chosen, leader=choice.leader.number,
                              baseline=choice.baseline.number if choice.baseline else None,
                              tied={t.number for t in choice.tied}, holdout=holdout)
    if selection is not None:
        row = ensemble.leaderboard_row(selection, fitted, rows, ctx.task, metric)
        row.update(chosen=True, leader=False, baseline=False, tied=False)
        row[f"holdout_{metric}"] = round(holdout_scores[metric], 6)
        sign = 1 if HIGHER_IS_BETTER[metric] else -1  # ranked by its per-fold CV mean like every other row
        at = next((i for i, r in enumerate(board) if r.get(metric) is not None and sign * r[metric] < sign * row[metric]),
                  len(board))
        board.insert(at, row)
        mark_pareto(board, metric)
        members = ", ".join(f"{stages.label(t)} ×{w:.2f}" for t, w in zip(selection.members, selection.weights))
        why = (f"a greedy ensemble of {members} scores {selection.score:.4f} on out-of-fold predictions, better than "
               f"the best single trial's {selection.best_single:.4f} on the same rows (single choice: {choice.reason})")
        chosen_row = row
    else:
        why = choice.reason
        chosen_row = next(r for r in trial_rows if r["trial"] == trial.number)
    best = {**chosen_row, "final_fit_s": round(fitted.final_fit_s, 3), "final_rows": fitted.final_rows,
            "final_rows_scope": fitted.final_rows_scope, "holdout_model_rows": fitted.holdout_model_rows,
            "why": why, "selection": choice.as_dict(metric)}
    if no_ensemble:
        best["ensemble"] = f"not used: {no_ensemble}"
    if fitted.note:
        best["final_rows_note"] = fitted.note
    if confirmed is not None:
        best["confirm"] = confirmed.confirmation.as_dict()
    return AutoMLResult(
        validation=ctx.validation, train_rows=len(rows.train), test_rows=len(rows.holdout),
        search_rows=len(rows.search), leaderboard=board, trials=trial_rows, best=best, estimator=fitted.estimator,
        holdout=rows.frame[rows.holdout], holdout_scores=holdout_scores, diagnostics=diagnostics,
        timings=ctx.timings, stop_reason=state.stop_reason, backend=getattr(ctx.backend, "name", str(ctx.spec.backend)),
        workers=ctx.workers, holdout_estimator=fitted.holdout_estimator,
        families=_families(ctx, state), record=record.as_dict(), budget_s=ctx.spec.time_budget_s,
    )


def _families(ctx: stages.RunContext, state: Any) -> dict[str, dict[str, Any]]:
    """Per family in the spec: how many trials, seconds of fit work and best CV score; or why it never ran."""
    from workbench.pipeline.candidates import SEARCH_ORDER
    from workbench.pipeline.selection import rank

    seconds = state.family_seconds()
    out: dict[str, dict[str, Any]] = {}
    for family in [f for f in SEARCH_ORDER if f in ctx.spec.candidates]:
        mine = [t for t in state.trials if t.family == family]
        ranked = rank(mine, ctx.metric)
        entry: dict[str, Any] = {"trials": len(mine), "finished": len(ranked), "seconds": seconds.get(family, 0.0)}
        if ranked:
            entry["best"] = round(ranked[0].mean(ctx.metric), 6)
        if family in state.untried and not ranked:
            entry["untried"] = state.untried[family]
        elif mine and not ranked:
            entry["untried"] = f"every trial failed (first: {next(t.error for t in mine if t.error)})"
        out[family] = entry
    return out


def _warm_up(backend: Any) -> None:
    from workbench.backends.compute import Task
    from workbench.pipeline.evaluate import import_libraries

    try:
        backend.run_tasks([Task(f"warm-up:{i}", import_libraries) for i in range(backend.worker_count())], max_retries=0)
    except Exception:  # a back-end that cannot even warm up fails loudly on the first trial instead
        pass
