"""The AutoML engine: validate, split, search every family under the budget, refit the winner, diagnose.

The budget is a promise for the whole run: the search deadline is re-computed after every batch of trials
as "end of budget minus what the current best needs to become the final model" (final refit scaled from
its measured fold fits, diagnostics, saving), and later stages shrink or skip work rather than overrun.
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
from workbench.pipeline.candidates import SEARCH_ORDER
from workbench.pipeline.confirm import MIN_GAIN_OVER_SEARCH, confirm_at_scale, pick_candidates
from workbench.pipeline.evaluate import Problem
from workbench.pipeline.progress import Progress, ProgressReporter
from workbench.pipeline.spec import RunSpec
from workbench.pipeline.splits import cv_folds, holdout_split, stratified_subset
from workbench.pipeline.validation import TaskInfo, ValidationReport, target_array, validate

LEARNING_CURVE_FRACTIONS = (0.1, 0.25, 0.5)
SAVE_OVERHEAD_S = 1.5
# Rows the search cross-validates on: enough to rank configurations, few enough for many trials.
# The final model is always refitted on every training row.
SEARCH_ROWS_PER_BUDGET_SECOND = 400
MIN_SEARCH_ROWS = 5_000
THREADS_MIN_ROWS = 20_000


@dataclass
class AutoMLResult:
    validation: ValidationReport
    train_rows: int
    test_rows: int
    search_rows: int
    leaderboard: list[dict[str, Any]]  # best configuration of each family, ranked
    trials: list[dict[str, Any]]  # every trial, ranked
    best: dict[str, Any]  # the leaderboard row that became the final model
    estimator: Any = field(repr=False)
    holdout: pl.DataFrame = field(repr=False)  # raw held-out rows (every column, target included)
    holdout_scores: dict[str, float] = field(default_factory=dict)
    diagnostics: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    stop_reason: str = ""
    backend: str = "local"
    workers: int = 1

    @property
    def task(self) -> TaskInfo:
        return self.validation.task

    @property
    def features(self) -> Any:
        return self.validation.plan

    @property
    def best_model(self) -> str:
        return str(self.best["model"])

    @property
    def best_score(self) -> float:
        """The final model's primary metric on the frozen holdout."""
        return self.holdout_scores[self.task.metric]

    def summary(self) -> dict[str, Any]:
        """Plain data about the run for the audit log and `--json` (no estimator, no frames)."""
        return {
            "validation": self.validation.as_dict(),
            "feature_engineering": self.validation.plan.engineering_report(),
            "train_rows": self.train_rows, "test_rows": self.test_rows, "search_rows": self.search_rows,
            "best": {k: v for k, v in self.best.items()}, "holdout_scores": self.holdout_scores,
            "timings": self.timings, "stop_reason": self.stop_reason, "trial_count": len(self.trials),
            "backend": self.backend, "workers": self.workers,
        }


def search_row_cap(budget_s: float) -> int:
    return max(MIN_SEARCH_ROWS, int(budget_s * SEARCH_ROWS_PER_BUDGET_SECOND))


def run_automl(frame: pl.DataFrame, spec: RunSpec, progress: Progress | None = None, *, backend: Any = None,
               started_at: float | None = None, cancel: threading.Event | None = None,
               validated: tuple[pl.DataFrame, ValidationReport] | None = None) -> AutoMLResult:
    """Run the whole AutoML pipeline on `frame` (raw rows from the lake) as `spec` says.

    `started_at` (time.monotonic()) is when the run began, so time spent loading data counts against the
    budget; `backend` defaults to the one the spec names; `validated` is `validate(frame, spec)` when the
    caller already ran it (to refuse bad input before recording a run).
    """
    from workbench.backends.compute import Task
    from workbench.backends.discovery import get_compute_backend
    from workbench.pipeline.diagnostics import compute_diagnostics
    from workbench.pipeline.evaluate import fit_final, learning_curve_point
    from workbench.pipeline.leaderboard import family_bests, rank_rows, trial_row
    from workbench.pipeline.metrics import score_estimator
    from workbench.pipeline.search import CostModel, Trial, run_search, until

    started = time.monotonic() if started_at is None else started_at
    end = started + spec.time_budget_s
    report = ProgressReporter(progress, started, spec.time_budget_s)
    timings: dict[str, float] = {}

    own_backend = backend is None
    if own_backend:
        backend = get_compute_backend(spec.backend)
    # Workers import scikit-learn and LightGBM while the data is validated, not on the clock of trial one.
    warm = threading.Thread(target=_warm_up, args=(backend,), daemon=True)
    warm.start()
    report("validate", "checking the target and columns")
    try:
        frame, validation = validated if validated is not None else validate(frame, spec)
    except BaseException:
        warm.join()
        if own_backend:
            backend.close()
        raise
    info, plan = validation.task, validation.plan
    report.metric = info.metric
    classification = info.task != "regression"
    y = target_array(frame, spec.target, info.task)
    idx_train, idx_test = holdout_split(frame, y, spec, classification)
    X = frame.select(plan.raw_columns)
    search_idx = stratified_subset(idx_train, y, search_row_cap(spec.time_budget_s), spec.seed, classification,
                                    spec.cv_folds)
    X_search, y_search = X[search_idx], y[search_idx]
    folds = cv_folds(frame, y, search_idx, spec, classification)
    timings["validate_s"] = round(time.monotonic() - started, 3)

    warm.join()
    try:
        workers = max(1, backend.worker_count())
        n_jobs = _inner_jobs(workers, len(search_idx))
        problem = Problem(X_search, y_search, folds, info.task, plan, spec.seed, n_jobs)
        fold_train_rows = len(folds[0][0])
        final_scale = len(idx_train) / fold_train_rows
        n_features = len(plan.raw_columns)
        costs = CostModel()

        def fold_seconds(trial: Trial) -> float:
            est = costs.fold_seconds(trial.family, trial.params)
            return est if est is not None else float(np.mean([r["fit_time_s"] for r in trial.fold_results]))

        def diagnostics_seconds(trial: Trial) -> float:
            # ~3 predictions per feature (permutation importance) + 60 (partial dependence) on <= 2,000 rows.
            per_row = float(np.median([r["score_time_s"] / r["score_rows"] for r in trial.fold_results]))
            per_call = per_row * min(2000, len(idx_test))
            calls = n_features * 3 + 3 * 20 + 2
            return 1.0 + calls * (0.01 + per_call)

        def final_seconds(trial: Trial) -> float:
            size_mb = (trial.cost("model_size_kb") or 0) / 1024 * final_scale
            return costs.batch_seconds(fold_seconds(trial) * final_scale, 1) + SAVE_OVERHEAD_S + 0.1 * size_mb

        subsampled = len(search_idx) < len(idx_train)

        def reserve(trial: Trial | None) -> float:
            if trial is None:
                return max(2.0, 0.05 * spec.time_budget_s)
            # On a sample, the confirm round (fits of ~85% of the rows, side by side) takes the final fit's place.
            return final_seconds(trial) * (1.15 if subsampled else 1.0) + diagnostics_seconds(trial)

        t_search = time.monotonic()

        def on_trial(state: Any, trial: Trial) -> None:
            done = len(state.trials)
            spent = time.monotonic() - t_search
            left = max(0.0, end - reserve(state.best) - time.monotonic())
            total = done + int(left / (spent / done)) if done and spent > 0 else None
            if spec.max_trials:
                total = min(total or spec.max_trials, spec.max_trials)
            best = state.best
            score = round(trial.mean(info.metric), 6) if trial.ok else None
            report("scored", f"{trial.family} {'failed' if not trial.ok else f'{info.metric}={score:.4f}'}",
                   trial=done, trials=total, candidate=trial.family, score=score,
                   best_model=best.family if best else None,
                   best_score=round(best.mean(info.metric), 6) if best else None)

        report("search", f"searching {', '.join(spec.candidates)} on {len(search_idx):,} rows, "
                         f"{spec.cv_folds}-fold CV, {workers} worker(s)")
        families = [f for f in SEARCH_ORDER if f in spec.candidates]
        state, costs = run_search(
            problem, families, info.metric, backend,
            search_deadline=lambda s: end - reserve(s.best), on_trial=on_trial, max_trials=spec.max_trials,
            patience=max(15, 6 * len(families)), seed=spec.seed, cancel=cancel, costs=costs,
        )
        if cancel is not None and cancel.is_set():
            raise KeyboardInterrupt
        if state.best is None and time.monotonic() < end + 0.05 * spec.time_budget_s:
            # The back-end returned no complete trial in time (worker start-up alone can take seconds):
            # the cheapest family's defaults, fitted here, are the floor every run ends with.
            floor = _floor_trial(problem, families, len(state.trials))
            state.trials.append(floor)
            if floor.ok:
                state.best = floor
                state.stop_reason += "; fitted the cheapest family in-process"
        timings["search_s"] = round(time.monotonic() - t_search, 3)
        if state.best is None:
            errors = [t.error for t in state.trials if t.error]
            why = f" (first error: {errors[0]})" if errors else ""
            raise RunFailedError(f"No candidate finished within the time budget of {spec.time_budget_s:g} s{why}; "
                                 "raise time_budget_s or use a smaller sample.")
        rows = rank_rows([trial_row(t, info.task) for t in state.trials], info.metric)
        leaderboard = family_bests(rows, info.metric)
        by_number = {t.number: t for t in state.trials}

        rows_by_number = {r["trial"]: r for r in rows}
        confirmation = None
        if subsampled:
            # The search saw a sample: its leaders are scored again on most training rows (pipeline/confirm.py).
            candidates = pick_candidates([by_number[r["trial"]] for r in rows], info.metric, max(2, min(3, workers)))
            if len(candidates) >= 2:
                report("confirm", f"scoring {', '.join(_label(t) for t in candidates)} on most training rows")
                budget = (end - time.monotonic() - max(diagnostics_seconds(t) for t in candidates)
                          - SAVE_OVERHEAD_S - costs.batch_overhead)
                confirmation = confirm_at_scale(
                    X, y, idx_train, candidates, task=info.task, metric=info.metric, plan=plan, seed=spec.seed,
                    backend=backend, workers=workers, n_jobs=_inner_jobs(workers, len(idx_train)),
                    seconds_per_row=lambda t: fold_seconds(t) * 1.1 / fold_train_rows,
                    min_rows=int(MIN_GAIN_OVER_SEARCH * fold_train_rows), budget_s=budget, cancel=cancel)
                timings["confirm_s"] = round(confirmation.seconds, 3) if confirmation else 0.0

        # The final model: the confirmed winner, else the best family, refitted on every training row if the
        # budget allows, else on as many as it allows (never fewer than a CV fold saw); a family whose refit
        # cannot fit even then gives way to the next one. A confirmed winner already fitted on most rows
        # is kept as it is when a refit on all of them would not fit.
        left = end + 0.05 * spec.time_budget_s - time.monotonic()

        def affordable_rows(t: Trial) -> int | None:
            avail = left - diagnostics_seconds(t) - SAVE_OVERHEAD_S - costs.batch_overhead
            per_row = fold_seconds(t) * 1.1 / fold_train_rows
            rows = int(avail / per_row) if per_row > 0 else len(idx_train)
            return min(rows, len(idx_train)) if rows >= fold_train_rows else None

        if confirmation is not None:
            trial = confirmation.winner
            chosen = {**rows_by_number[trial.number], "confirm": confirmation.as_dict()}
            refit = affordable_rows(trial) == len(idx_train)
            final_idx = idx_train
        else:
            choice = next(((r, n) for r in leaderboard if (n := affordable_rows(by_number[r["trial"]]))), None)
            chosen, final_rows = choice if choice else (leaderboard[0], fold_train_rows)
            trial = by_number[chosen["trial"]]
            refit = True
            final_idx = idx_train if final_rows >= len(idx_train) else stratified_subset(
                idx_train, y, final_rows, spec.seed, classification, spec.cv_folds)
        t_final = time.monotonic()
        learning_curve = None
        if refit:
            report("final_fit", f"refitting {trial.family} on {len(final_idx):,} of {len(idx_train):,} training rows")
            final_n_jobs = _inner_jobs(workers, len(final_idx))
            tasks = [Task("final", fit_final, (X[final_idx], y[final_idx], trial.family, trial.params, info.task,
                                               plan, spec.seed, final_n_jobs))]
            lc_seconds = fold_seconds(trial) * sum(LEARNING_CURVE_FRACTIONS) / max(1, workers - 1)
            final_est = final_seconds(trial) * len(final_idx) / len(idx_train)
            if time.monotonic() + max(final_est, lc_seconds) + diagnostics_seconds(trial) < end:
                tasks += [Task(f"lc:{f}", learning_curve_point, (problem, trial.family, trial.params, f))
                          for f in LEARNING_CURVE_FRACTIONS]
            with until(end - diagnostics_seconds(trial) + 0.5 * final_est, cancel) as stop:
                # The final fit is submitted first, so a stop only ever drops learning-curve points.
                results = {r.key: r for r in backend.run_tasks(tasks, cancel=stop)}
            final = results.get("final")
            if final is None or not final.ok:
                raise RunFailedError(f"The final fit of {trial.family} failed: {final.error if final else 'cancelled'}")
            estimator, final_fit_s = final.value
            learning_curve = _learning_curve(results, trial, problem, info.metric)
        else:
            assert confirmation is not None
            report("final_fit", f"keeping {trial.family} as fitted on {confirmation.train_rows:,} of "
                                f"{len(idx_train):,} training rows (no time left to refit on all)")
            estimator, final_fit_s = confirmation.estimator, confirmation.seconds
            final_idx = np.arange(confirmation.train_rows)  # only its length is reported
        timings["final_fit_s"] = round(time.monotonic() - t_final, 3)
    finally:
        if own_backend:
            backend.close()

    holdout_X = X[idx_test]
    holdout_scores = score_estimator(info.task, estimator, holdout_X, y[idx_test])
    t_diag = time.monotonic()
    report("diagnostics", "learning curve, importance, partial dependence, curves")
    diagnostics = compute_diagnostics(estimator, holdout_X, y[idx_test], info.task, info.metric, plan, spec.seed,
                                      deadline=end - SAVE_OVERHEAD_S, learning_curve=learning_curve)
    timings["diagnostics_s"] = round(time.monotonic() - t_diag, 3)
    timings["engine_total_s"] = round(time.monotonic() - started, 3)
    best = {**chosen, "final_fit_s": round(final_fit_s, 3), "final_rows": len(final_idx)}
    return AutoMLResult(
        validation=validation, train_rows=len(idx_train), test_rows=len(idx_test), search_rows=len(search_idx),
        leaderboard=leaderboard, trials=rows, best=best, estimator=estimator, holdout=frame[idx_test],
        holdout_scores=holdout_scores, diagnostics=diagnostics, timings=timings, stop_reason=state.stop_reason,
        backend=getattr(backend, "name", str(spec.backend)), workers=workers,
    )


def _label(trial: Any) -> str:
    return f"{trial.family} ({'defaults' if trial.is_default else f'trial {trial.number}'})"


def _warm_up(backend: Any) -> None:
    from workbench.backends.compute import Task
    from workbench.pipeline.evaluate import import_libraries

    try:
        backend.run_tasks([Task(f"warm-up:{i}", import_libraries) for i in range(backend.worker_count())], max_retries=0)
    except Exception:  # a back-end that cannot even warm up fails loudly on the first trial instead
        pass


def _floor_trial(problem: Problem, families: list[str], number: int) -> Any:
    from dataclasses import replace

    from workbench.pipeline.candidates import FAMILIES
    from workbench.pipeline.evaluate import fit_fold
    from workbench.pipeline.search import Trial

    family = min(families, key=lambda f: FAMILIES[f].relative_cost)
    trial = Trial(number, family, FAMILIES[family].defaults(problem.task), is_default=True)
    problem = replace(problem, n_jobs=1)
    try:
        trial.fold_results = [fit_fold(problem, family, trial.params, k, k == 0) for k in range(len(problem.folds))]
    except Exception as exc:  # reported like any failed trial
        trial.error = f"{type(exc).__name__}: {exc}"
    return trial


def _inner_jobs(workers: int, rows: int) -> int:
    """Threads per task: the cores left per worker, and just one on small data, where thread start-up
    and spinning cost more than they save (badly so on a busy machine)."""
    if rows < THREADS_MIN_ROWS:
        return 1
    return max(1, (os.cpu_count() or 1) // workers)


def _learning_curve(results: dict[str, Any], trial: Any, problem: Problem, metric: str) -> dict[str, Any] | None:
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
