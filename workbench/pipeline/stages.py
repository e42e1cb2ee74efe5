"""The stages of an AutoML run: split → search → choose → confirm → fit → diagnose.

Each stage takes what the earlier ones produced (the validation report, the rows, the search state) and
the run's context (spec, budget, back-end, progress); none validates data again. Every decision that
depends on the clock (which trials ran, how many rows the confirm round and the final fits got) is
recorded in `RunRecord`, and a replay (`runs reproduce`) takes those decisions from the record instead,
so it gets the same models whatever the machine's load.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from workbench.errors import RunFailedError
from workbench.pipeline.budget import SAVE_OVERHEAD_S, Budget, Reserve, Sizes, confirm_count
from workbench.pipeline.candidates import SEARCH_ORDER, early_stopping_rows, final_params
from workbench.pipeline.confirm import MIN_GAIN_OVER_SEARCH, Confirmation, confirm_at_scale, split_for_confirm
from workbench.pipeline.evaluate import Problem
from workbench.pipeline.progress import ProgressReporter, TrialEstimate
from workbench.pipeline.search import CostModel, SearchState, Trial, run_search, until
from workbench.pipeline.selection import Choice, choose, confirm_candidates, rank
from workbench.pipeline.spec import RunSpec
from workbench.pipeline.splits import Folds, cv_folds, holdout_split, stratified_subset
from workbench.pipeline.validation import ValidationReport, target_array

LEARNING_CURVE_FRACTIONS = (0.1, 0.25, 0.5)
# Rows the search cross-validates on: enough to rank configurations, few enough for many trials.
SEARCH_ROWS_PER_BUDGET_SECOND = 400
MIN_SEARCH_ROWS = 5_000
THREADS_MIN_ROWS = 20_000
RECORD_VERSION = 1
MIN_WORTH_CUTTING_S = 2.0


def search_row_cap(budget_s: float) -> int:
    return max(MIN_SEARCH_ROWS, int(budget_s * SEARCH_ROWS_PER_BUDGET_SECOND))


def inner_jobs(workers: int, rows: int) -> int:
    """Threads per task: the cores left per worker, and just one on small data, where thread start-up
    and spinning cost more than they save (badly so on a busy machine)."""
    if rows < THREADS_MIN_ROWS:
        return 1
    return max(1, (os.cpu_count() or 1) // workers)


@dataclass(frozen=True)
class Rows:
    """The run's rows and how they are divided (positions into `frame`)."""

    frame: pl.DataFrame  # the validated rows (every column, target included)
    X: pl.DataFrame  # their raw feature columns
    y: np.ndarray
    train: np.ndarray  # training rows
    holdout: np.ndarray  # the frozen holdout
    search: np.ndarray  # the rows the search cross-validates on: the training rows, or a sample of them
    folds: Folds  # CV folds over `search` (positions into it)
    classification: bool

    @property
    def every(self) -> np.ndarray:
        return np.arange(self.frame.height)

    @property
    def subsampled(self) -> bool:
        return len(self.search) < len(self.train)

    @property
    def fold_train_rows(self) -> int:
        return len(self.folds[0][0])


def split_rows(frame: pl.DataFrame, validation: ValidationReport, spec: RunSpec) -> Rows:
    """Stage 1: the frozen holdout, the search sample and its CV folds (all from `pipeline/splits.py`)."""
    info, plan = validation.task, validation.plan
    classification = info.task != "regression"
    y = target_array(frame, spec.target, info.task)
    idx_train, idx_test = holdout_split(frame, y, spec, classification)
    search = stratified_subset(idx_train, y, search_row_cap(spec.time_budget_s), spec.seed, classification,
                               spec.cv_folds)
    folds = cv_folds(frame, y, search, spec, classification)
    return Rows(frame, frame.select(plan.raw_columns), y, idx_train, idx_test, search, folds, classification)


@dataclass
class RunRecord:
    """What a replay needs: the trial sequence and every decision the clock made."""

    workers: int
    search_rows: int
    n_jobs: int
    trials: list[dict[str, Any]] = field(default_factory=list)
    confirm: dict[str, Any] | None = None  # {"candidates": [trial numbers], "rows": n}
    chosen_trial: int | None = None
    final: dict[str, Any] = field(default_factory=dict)  # rows and scope of the holdout model and the saved one
    ensemble: dict[str, Any] | None = None  # members and weights, when the saved model is an ensemble

    def as_dict(self) -> dict[str, Any]:
        return {"version": RECORD_VERSION, "workers": self.workers, "search_rows": self.search_rows,
                "n_jobs": self.n_jobs, "trials": self.trials, "confirm": self.confirm,
                "chosen_trial": self.chosen_trial, "final": self.final, "ensemble": self.ensemble}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> "RunRecord":
        if raw.get("version") != RECORD_VERSION:
            raise ValueError(f"unknown run record version {raw.get('version')!r}")
        return cls(int(raw["workers"]), int(raw["search_rows"]), int(raw["n_jobs"]), list(raw["trials"]),
                   raw.get("confirm"), raw.get("chosen_trial"), dict(raw.get("final") or {}), raw.get("ensemble"))


@dataclass
class RunContext:
    """What every stage needs: the spec, the validation report, the budget and where work runs."""

    spec: RunSpec
    validation: ValidationReport
    budget: Budget
    backend: Any
    workers: int
    report: ProgressReporter
    cancel: threading.Event | None = None
    replay: RunRecord | None = None
    costs: CostModel = field(default_factory=CostModel)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def metric(self) -> str:
        return self.validation.task.metric

    @property
    def task(self) -> str:
        return self.validation.task.task

    def check_cancel(self) -> None:
        if self.cancel is not None and self.cancel.is_set():
            raise KeyboardInterrupt

    def reserve(self, rows: Rows) -> Reserve:
        final_rows = rows.frame.height if self.spec.refit_all else len(rows.train)
        return Reserve(Sizes(rows.fold_train_rows, len(rows.train), final_rows, len(rows.holdout),
                             len(self.validation.plan.raw_columns), self.workers, rows.subsampled), self.costs,
                       self.spec.time_budget_s)


def search(ctx: RunContext, rows: Rows) -> tuple[SearchState, RunRecord]:
    """Stage 2: every family's defaults, then Optuna, while a trial and everything after it still fit."""
    spec, budget = ctx.spec, ctx.budget
    n_jobs = ctx.replay.n_jobs if ctx.replay else inner_jobs(ctx.workers, len(rows.search))
    problem = Problem(rows.X[rows.search], rows.y[rows.search], rows.folds, ctx.task, ctx.validation.plan,
                      spec.seed, n_jobs, keep_predictions=spec.ensemble and not rows.subsampled)
    reserve = ctx.reserve(rows)
    families = [f for f in SEARCH_ORDER if f in spec.candidates]
    estimate = TrialEstimate(spec.max_trials if not ctx.replay else len(ctx.replay.trials))
    t_search = budget.now()

    def deadline(state: SearchState) -> float:
        return budget.end - reserve.finish_seconds(state.best, spec.time_budget_s)

    def on_trial(state: SearchState, trial: Trial) -> None:
        done = len(state.trials)
        total = estimate.update(done, budget.now() - t_search, deadline(state) - budget.now())
        best = state.best
        score = round(trial.mean(ctx.metric), 6) if trial.ok else None
        ctx.report("scored", f"{trial.family} {'failed' if not trial.ok else f'{ctx.metric}={score:.4f}'}",
                   trial=done, trials=total, candidate=trial.family, score=score,
                   best_model=best.family if best else None,
                   best_score=round(best.mean(ctx.metric), 6) if best else None)

    how = "replaying the recorded trials" if ctx.replay else f"searching {', '.join(families)}"
    ctx.report("search", f"{how} on {len(rows.search):,} rows, {spec.cv_folds}-fold CV, {ctx.workers} worker(s)")
    state, _ = run_search(
        problem, families, ctx.metric, ctx.backend, search_deadline=deadline, on_trial=on_trial,
        max_trials=spec.max_trials, seed=spec.seed, cancel=ctx.cancel, costs=ctx.costs, clock=budget.clock,
        replay=ctx.replay.trials if ctx.replay else None,
        finish=lambda t: reserve.finish_seconds(t, spec.time_budget_s),
    )
    ctx.check_cancel()
    if state.best is None and not ctx.replay and budget.left_hard() > 0:
        # The back-end returned no complete trial in time (worker start-up alone can take seconds):
        # the cheapest family's defaults, fitted here, are the floor every run ends with.
        floor = _floor_trial(problem, families, 1 + max((t.number for t in state.trials), default=-1))
        state.trials.append(floor)
        if floor.ok:
            state.best = floor
            state.untried.pop(floor.family, None)
            state.stop_reason += "; fitted the cheapest family in-process"
    ctx.timings["search_s"] = round(budget.now() - t_search, 3)
    if state.best is None:
        errors = [t.error for t in state.trials if t.error]
        why = f" (first error: {errors[0]})" if errors else ""
        raise RunFailedError(f"No candidate finished within the time budget of {spec.time_budget_s:g} s{why}; "
                             "raise time_budget_s or use a smaller sample.")
    record = RunRecord(ctx.workers, len(rows.search), n_jobs, [t.record() for t in state.trials])
    return state, record


def choose_trial(ctx: RunContext, rows: Rows, state: SearchState) -> Choice:
    """Stage 3: the final model's trial (statistical ties, the defaults floor: `pipeline/selection.py`).

    A choice whose final fits no longer fit in the time left (a late leader whose early-stopped trees made
    it dearer than estimated) gives way to the best-ranked trial whose fits do, rather than being fitted on
    a fraction of the rows."""
    choice = choose(state.trials, ctx.metric)
    assert choice is not None  # the search stage raises when no trial finished
    if ctx.replay is not None:
        if ctx.replay.chosen_trial is not None and ctx.replay.confirm is None:
            recorded = next((t for t in state.trials if t.number == ctx.replay.chosen_trial), None)
            if recorded is not None and recorded is not choice.trial:
                choice.trial, choice.reason = recorded, f"as recorded by the original run ({choice.reason})"
        return choice
    reserve = ctx.reserve(rows)

    def need(t: Trial) -> float:
        return reserve.final_fit_seconds(t) + reserve.diagnostics_seconds(t) + SAVE_OVERHEAD_S

    room = max(ctx.budget.left_hard(), MIN_WORTH_CUTTING_S)
    if need(choice.trial) > room:
        fits = next((t for t in rank(state.trials, ctx.metric) if need(t) <= room), None)
        if fits is not None and fits is not choice.trial:
            choice.reason = (f"{label(fits)} is saved: {label(choice.trial)} would need ~{need(choice.trial):.0f} s "
                             f"for its final fits and {room:.0f} s were left; it is the best-ranked trial whose fits "
                             f"fit (the choice before that: {choice.reason})")
            choice.trial = fits
    return choice


def params_for(trial: Trial, rows: Rows, count: int) -> dict[str, Any]:
    """`trial`'s configuration for a fit on `count` rows (a tuned boosting trial's found trees, scaled)."""
    return final_params(trial.family, trial.params, trial.trees, early_stopping_rows(rows.fold_train_rows), count)


@dataclass
class Confirmed:
    confirmation: Confirmation
    candidates: list[Trial]
    holdout_scores: dict[int, float] = field(default_factory=dict)  # each candidate on the frozen holdout


def confirm(ctx: RunContext, rows: Rows, state: SearchState, choice: Choice, record: RunRecord) -> Confirmed | None:
    """Stage 4 (when the search saw a sample): the choice, the baseline and the leader re-scored on most
    training rows; the winner becomes the final model's configuration."""
    if not rows.subsampled:
        return None
    by_number = {t.number: t for t in state.trials}
    budget, reserve = ctx.budget, ctx.reserve(rows)
    if ctx.replay is not None:
        if ctx.replay.confirm is None:
            return None
        candidates = [by_number[n] for n in ctx.replay.confirm["candidates"]]
        count, deadline = int(ctx.replay.confirm["rows"]), None
    else:
        candidates = confirm_candidates(choice, rank(state.trials, ctx.metric), confirm_count(ctx.workers))
        if len(candidates) < 2:
            return None
        fit_rows = len(split_for_confirm(rows.train, rows.y, ctx.spec.seed, rows.classification)[0])
        after = max(reserve.final_fit_seconds(t, confirmed=True) + reserve.diagnostics_seconds(t) for t in candidates)
        room = budget.left_hard(after + SAVE_OVERHEAD_S + ctx.costs.batch_overhead)
        rounds = -(-len(candidates) // max(1, ctx.workers))
        per_row = max(reserve.fit_seconds(t, fit_rows) / fit_rows for t in candidates) * rounds
        count = min(fit_rows, int(room / per_row)) if per_row > 0 else fit_rows
        if count < MIN_GAIN_OVER_SEARCH * rows.fold_train_rows:
            return None
        deadline = budget.now() + room * 1.5
    from workbench.pipeline.metrics import score_estimator

    labels = ", ".join(f"{t.family} ({'defaults' if t.is_default else f'trial {t.number}'})" for t in candidates)
    ctx.report("confirm", f"scoring {labels} on {count:,} training rows")
    t0 = budget.now()
    result = confirm_at_scale(
        rows.X, rows.y, rows.train, candidates, task=ctx.task, metric=ctx.metric, plan=ctx.validation.plan,
        seed=ctx.spec.seed, backend=ctx.backend, n_jobs=inner_jobs(ctx.workers, count), rows=count,
        params_for=lambda t, n: params_for(t, rows, n), deadline=deadline, clock=budget.clock, cancel=ctx.cancel)
    ctx.timings["confirm_s"] = round(budget.now() - t0, 3)
    ctx.check_cancel()
    if result is None:
        return None
    record.confirm = {"candidates": [t.number for t in candidates], "rows": count}
    # Reported beside the leaderboard (never used to choose): each confirmed candidate on the frozen holdout.
    X_hold, y_hold = rows.X[rows.holdout], rows.y[rows.holdout]
    holdout = {n: score_estimator(ctx.task, est, X_hold, y_hold)[ctx.metric] for n, est in result.estimators.items()}
    result.estimators = {}  # only the winner's model is kept
    return Confirmed(result, candidates, holdout)


@dataclass
class Fitted:
    """The models after the choice: the one the holdout scores, and the one saved (often refitted on more rows)."""

    trial: Trial
    holdout_estimator: Any
    holdout_model_rows: int  # training rows only: the frozen holdout never saw it
    estimator: Any
    final_rows: int
    final_rows_scope: str  # "train+holdout" | "train" | "train (subset)" | "train (confirm rows)"
    final_fit_s: float
    note: str = ""  # why the saved model saw fewer rows than the spec asked for, if it did
    learning_curve: dict[str, Any] | None = None


def fit_final(ctx: RunContext, rows: Rows, trial: Trial, confirmed: Confirmed | None, record: RunRecord,
              problem_for_curve: Problem | None) -> Fitted:
    """Stage 5: the model of the training rows (scored on the holdout) and, with `refit_all`, the saved model
    refitted on every row; side by side when there are two workers. Out of time, the chosen configuration
    is fitted on fewer rows; the run never falls back to another configuration."""
    from workbench.backends.compute import Task
    from workbench.pipeline.evaluate import fit_final as fit_task, learning_curve_point

    spec, budget, reserve = ctx.spec, ctx.budget, ctx.reserve(rows)
    conf = confirmed.confirmation if confirmed else None
    n_all, n_train = rows.frame.height, len(rows.train)
    want_final = n_all if spec.refit_all else n_train
    if ctx.replay is not None:
        plan = ctx.replay.final
        holdout_rows, final_rows = int(plan["holdout_model_rows"]), int(plan["final_rows"])
        scope, note = str(plan["final_rows_scope"]), str(plan.get("note", ""))
    else:
        holdout_rows = conf.train_rows if conf else n_train
        final_rows, scope, note = want_final, ("train+holdout" if spec.refit_all else "train"), ""
        room = budget.left_hard(reserve.diagnostics_seconds(trial) + SAVE_OVERHEAD_S)
        fits = ([] if conf else [reserve.fit_seconds(trial, holdout_rows)])
        fits += [reserve.fit_seconds(trial, final_rows)] if final_rows != holdout_rows else []
        wall = (max(fits) if ctx.workers >= len(fits) else sum(fits)) if fits else 0.0
        # Fits this short run even past the budget: saving a model of fewer rows would gain nothing.
        if wall > max(room, MIN_WORTH_CUTTING_S):
            need = wall
            if conf is not None or reserve.fit_seconds(trial, holdout_rows) <= max(room, MIN_WORTH_CUTTING_S):
                final_rows = holdout_rows
                scope = "train (confirm rows)" if conf else "train"
            else:  # not even the training rows: as many as the time allows, never fewer than a CV fold had
                need = reserve.fit_seconds(trial, holdout_rows)
                per_row = need / holdout_rows
                holdout_rows = final_rows = max(rows.fold_train_rows, min(n_train, int(room / per_row)))
                scope = "train (subset)"
            note = (f"no time left to fit on {want_final:,} rows (needed ~{need:.0f} s, {max(0.0, room):.0f} s left): "
                    f"the saved model saw {final_rows:,} training rows")
    record.chosen_trial = trial.number
    record.final = {"holdout_model_rows": holdout_rows, "final_rows": final_rows, "final_rows_scope": scope,
                    **({"note": note} if note else {})}

    def subset(count: int) -> np.ndarray:
        return rows.train if count >= n_train else stratified_subset(rows.train, rows.y, count, spec.seed,
                                                                     rows.classification, spec.cv_folds)

    final_idx = rows.every if final_rows == n_all else subset(final_rows)
    tasks: list[Task] = []
    if conf is None:
        idx = subset(holdout_rows)
        tasks.append(Task("holdout", fit_task, (rows.X[idx], rows.y[idx], trial.family,
                                                 params_for(trial, rows, len(idx)), ctx.task, ctx.validation.plan,
                                                 spec.seed, inner_jobs(ctx.workers, len(idx)))))
    separate = final_rows != holdout_rows  # a second fit, on other rows, becomes the saved model
    if separate:
        tasks.append(Task("final", fit_task, (rows.X[final_idx], rows.y[final_idx], trial.family,
                                               params_for(trial, rows, len(final_idx)), ctx.task,
                                               ctx.validation.plan, spec.seed, inner_jobs(ctx.workers, len(final_idx)))))
    what = f"{trial.family} on {final_rows:,} rows ({scope})"
    if conf is None and separate:
        what += f" and on the {holdout_rows:,} training rows the holdout scores"
    ctx.report("final_fit", f"fitting {what}")
    if problem_for_curve is not None and ctx.replay is None:
        lc_seconds = reserve.fold_seconds(trial) * sum(LEARNING_CURVE_FRACTIONS) / max(1, ctx.workers - 1)
        if budget.left(max(lc_seconds, 0.0) + reserve.final_fit_seconds(trial, conf is not None)
                       + reserve.diagnostics_seconds(trial)) > 0:
            tasks += [Task(f"lc:{f}", learning_curve_point, (problem_for_curve, trial.family, trial.params, f))
                      for f in LEARNING_CURVE_FRACTIONS]
    t0 = budget.now()
    if ctx.replay is not None:
        results = {r.key: r for r in ctx.backend.run_tasks(tasks)}
    else:
        # The model fits are submitted first, so a stop only ever drops learning-curve points.
        stop_at = budget.hard_end - reserve.diagnostics_seconds(trial)
        with until(max(stop_at, budget.now() + 1.0), ctx.cancel, budget.clock) as stop:
            results = {r.key: r for r in ctx.backend.run_tasks(tasks, cancel=stop)}
    ctx.check_cancel()
    if conf is not None:
        holdout_est, fit_s = conf.estimator, conf.seconds
    else:
        r = results.get("holdout")
        if r is None or not r.ok:
            raise RunFailedError(f"The final fit of {trial.family} failed: {r.error if r else 'cancelled'}")
        holdout_est, fit_s = r.value
    estimator = holdout_est
    if separate:
        r = results.get("final")
        if r is not None and r.ok:
            estimator, fit_s = r.value
        else:  # the refit on more rows failed or was dropped: the model of the training rows is saved
            note = note or f"the refit on {final_rows:,} rows did not finish ({r.error if r else 'stopped'})"
            final_rows, scope = holdout_rows, ("train (confirm rows)" if conf else "train")
            record.final.update(final_rows=final_rows, final_rows_scope=scope, note=note)
    ctx.timings["final_fit_s"] = round(budget.now() - t0, 3)
    curve = _learning_curve(results, trial, problem_for_curve, ctx.metric) if problem_for_curve else None
    return Fitted(trial, holdout_est, holdout_rows, estimator, final_rows, scope, fit_s, note, curve)


def diagnose(ctx: RunContext, rows: Rows, fitted: Fitted) -> tuple[dict[str, float], dict[str, Any]]:
    """Stage 6: the frozen holdout's scores and diagnostics, of the model that never saw those rows."""
    from workbench.pipeline.diagnostics import compute_diagnostics
    from workbench.pipeline.metrics import score_estimator

    X_hold, y_hold = rows.X[rows.holdout], rows.y[rows.holdout]
    scores = score_estimator(ctx.task, fitted.holdout_estimator, X_hold, y_hold)
    t0 = ctx.budget.now()
    ctx.report("diagnostics", "learning curve, importance, partial dependence, curves")
    # compute_diagnostics reads time.monotonic(): the budget's deadline, in that clock's terms.
    deadline = time.monotonic() + (ctx.budget.hard_end - SAVE_OVERHEAD_S - ctx.budget.now())
    diagnostics = compute_diagnostics(fitted.holdout_estimator, X_hold, y_hold, ctx.task, ctx.metric,
                                      ctx.validation.plan, ctx.spec.seed, deadline=deadline,
                                      learning_curve=fitted.learning_curve)
    diagnostics["model_rows"] = fitted.holdout_model_rows
    ctx.timings["diagnostics_s"] = round(ctx.budget.now() - t0, 3)
    return scores, diagnostics


def search_problem(ctx: RunContext, rows: Rows, n_jobs: int) -> Problem:
    return Problem(rows.X[rows.search], rows.y[rows.search], rows.folds, ctx.task, ctx.validation.plan,
                   ctx.spec.seed, n_jobs)


def _floor_trial(problem: Problem, families: list[str], number: int) -> Trial:
    from dataclasses import replace

    from workbench.pipeline.candidates import FAMILIES
    from workbench.pipeline.evaluate import fit_fold

    family = min(families, key=lambda f: FAMILIES[f].relative_cost)
    trial = Trial(number, family, FAMILIES[family].defaults(problem.task), is_default=True)
    problem = replace(problem, n_jobs=1)
    try:
        trial.fold_results = [fit_fold(problem, family, trial.params, k, k == 0) for k in range(len(problem.folds))]
    except Exception as exc:  # reported like any failed trial
        trial.error = f"{type(exc).__name__}: {exc}"
    return trial


def _learning_curve(results: dict[str, Any], trial: Trial, problem: Problem, metric: str) -> dict[str, Any] | None:
    points = []
    for f in LEARNING_CURVE_FRACTIONS:
        r = results.get(f"lc:{f}")
        if r is None or not r.ok:
            return None
        points.append((r.value["train_rows"], r.value["train_scores"][metric], r.value["validation_scores"][metric]))
    # The full-size point is the trial's own first fold: no refit needed.
    first = trial.fold_results[0]
    points.append((len(problem.folds[0][0]), None, first["scores"][metric]))
    return {"metric": metric, "train_rows": [p[0] for p in points],
            "train_score": [p[1] for p in points], "validation_score": [p[2] for p in points]}


def label(trial: Trial) -> str:
    return f"{trial.family} ({'defaults' if trial.is_default else f'trial {trial.number}'})"

