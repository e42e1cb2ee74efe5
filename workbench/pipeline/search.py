"""Algorithm selection + hyperparameter search with Optuna, under a time budget, through a compute back-end.

One Optuna study covers every family (a `family` choice with conditional spaces, TPE sampler, seeded).
The first trials are each family's defaults; after that Optuna proposes a batch of trials at a time (one
per back-end worker), and every trial's folds run as independent back-end tasks. Before a trial starts,
its cost is estimated from the family's measured fit times; a trial that would not finish before the
search deadline is skipped, so the budget holds even though a running fit cannot be interrupted.
"""

from __future__ import annotations

import threading
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import numpy as np

from workbench.backends.compute import ComputeBackend, Task, TaskResult
from workbench.pipeline.candidates import FAMILIES, cost_factor
from workbench.pipeline.evaluate import Problem, fit_fold
from workbench.pipeline.metrics import HIGHER_IS_BETTER, better


@dataclass
class Trial:
    number: int
    family: str
    params: dict[str, Any]
    is_default: bool = False
    fold_results: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    wall_s: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None and bool(self.fold_results)

    def mean(self, metric: str) -> float:
        return float(np.mean([r["scores"][metric] for r in self.fold_results]))

    def std(self, metric: str) -> float:
        return float(np.std([r["scores"][metric] for r in self.fold_results]))

    def cost(self, key: str) -> float | None:
        values = [r[key] for r in self.fold_results if key in r]
        return float(values[0]) if values else None


@dataclass
class SearchState:
    trials: list[Trial] = field(default_factory=list)
    best: Trial | None = None
    skipped: int = 0
    stop_reason: str = ""


class CostModel:
    """Seconds one fold task of a configuration takes, learned from the fold tasks already run."""

    def __init__(self) -> None:
        self.per_unit: dict[str, list[float]] = {}
        # Seconds a batch of tasks takes beyond its work spread over the workers (shipping data, scheduling).
        self.batch_overheads: list[float] = []

    @property
    def batch_overhead(self) -> float:
        return float(np.median(self.batch_overheads)) if self.batch_overheads else 1.0

    def batch_seconds(self, work_s: float, workers: int) -> float:
        return work_s / workers * 1.1 + self.batch_overhead

    def observe(self, family: str, params: dict[str, Any], seconds: float) -> None:
        self.per_unit.setdefault(family, []).append(seconds / cost_factor(family, params))

    def fold_seconds(self, family: str, params: dict[str, Any]) -> float | None:
        seen = self.per_unit.get(family)
        if seen:
            return float(np.median(seen)) * cost_factor(family, params)
        # Not timed yet: scale a timed family by the families' prior relative costs.
        for other in sorted(self.per_unit, key=lambda f: f != "lightgbm"):
            times = self.per_unit[other]
            ratio = FAMILIES[family].relative_cost / FAMILIES[other].relative_cost
            return float(np.median(times)) * ratio * cost_factor(family, params)
        return None


def run_search(
    problem: Problem,
    families: list[str],
    metric: str,
    backend: ComputeBackend,
    *,
    search_deadline: Callable[[SearchState], float],
    on_trial: Callable[[SearchState, Trial], None] | None = None,
    max_trials: int | None = None,
    patience: int | None = None,
    seed: int = 0,
    cancel: threading.Event | None = None,
    costs: CostModel | None = None,
) -> tuple[SearchState, CostModel]:
    """Run trials until the deadline (re-read after every batch), `max_trials`, `patience` or `cancel`."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    direction = "maximize" if HIGHER_IS_BETTER[metric] else "minimize"
    sampler = optuna.samplers.TPESampler(seed=seed, multivariate=True, group=True, constant_liar=True,
                                         n_startup_trials=max(5, len(families)))
    study = optuna.create_study(direction=direction, sampler=sampler)
    for family in families:
        study.enqueue_trial({"family": family})
    state = SearchState()
    costs = costs if costs is not None else CostModel()
    n_folds = len(problem.folds)
    workers = max(1, backend.worker_count())
    since_improvement = 0
    while True:
        if cancel is not None and cancel.is_set():
            state.stop_reason = "cancelled"
            break
        if max_trials is not None and len(state.trials) >= max_trials:
            state.stop_reason = "max_trials reached"
            break
        if patience is not None and since_improvement >= patience:
            state.stop_reason = f"no improvement in {patience} trials"
            break
        deadline = search_deadline(state)
        left = deadline - time.monotonic()
        if left <= 0:
            state.stop_reason = "time budget"
            break
        # Ask one trial per worker: their folds keep every worker busy (workers x folds tasks).
        batch: list[tuple[Any, Trial]] = []
        planned = 0.0
        room = workers if max_trials is None else min(workers, max_trials - len(state.trials))
        asks = 0
        while len(batch) < room and asks < room * 4:
            asks += 1
            ot = study.ask()
            family = ot.suggest_categorical("family", families)
            is_default = ot.number < len(families)
            params = FAMILIES[family].defaults(problem.task) if is_default else FAMILIES[family].suggest(ot, problem.task)
            per_fold = costs.fold_seconds(family, params)
            if per_fold is not None:
                # The batch's wall time if its folds share the workers evenly, plus this trial.
                expected = costs.batch_seconds(planned + per_fold * n_folds, workers)
                if expected > left:
                    study.tell(ot, state=optuna.trial.TrialState.FAIL)
                    state.skipped += 1
                    continue
                planned += per_fold * n_folds
            batch.append((ot, Trial(ot.number, family, params, is_default)))
        if not batch:
            state.stop_reason = "time budget (no affordable trial left)"
            break
        tasks = [Task(f"{t.number}:{k}", fit_fold, (problem, t.family, t.params, k, k == 0))
                 for _, t in batch for k in range(n_folds)]
        t0 = time.monotonic()
        with until(deadline, cancel) as stop:
            results = backend.run_tasks(tasks, cancel=stop)
        wall = time.monotonic() - t0
        work = sum(r.value["work_s"] for r in results if r.ok)
        if work > 0 and len(results) == len(tasks):
            costs.batch_overheads.append(max(0.0, wall - work / min(workers, len(tasks))))
        by_key: dict[str, TaskResult] = {r.key: r for r in results}
        for ot, trial in batch:
            trial.wall_s = wall
            folds = [by_key.get(f"{trial.number}:{k}") for k in range(n_folds)]
            errors = [r.error for r in folds if r is not None and not r.ok]
            if errors:
                trial.error = errors[0].splitlines()[0]
            elif any(r is None for r in folds):
                trial.error = "stopped by the time budget before all folds ran"
            else:
                trial.fold_results = [r.value for r in folds]  # type: ignore[union-attr]
            for r in folds:
                if r is not None and r.ok:
                    costs.observe(trial.family, trial.params, r.value["work_s"])
            state.trials.append(trial)
            if trial.ok and not np.isnan(trial.mean(metric)):
                study.tell(ot, trial.mean(metric))
                if state.best is None or better(metric, trial.mean(metric), state.best.mean(metric)):
                    # Gains below 0.1 % (or 1e-4) are noise for the patience count.
                    gain = abs(trial.mean(metric) - state.best.mean(metric)) if state.best else float("inf")
                    improved = gain > max(1e-4, 1e-3 * abs(state.best.mean(metric))) if state.best else True
                    state.best = trial
                    since_improvement = 0 if improved else since_improvement + 1
                else:
                    since_improvement += 1
            else:
                study.tell(ot, state=optuna.trial.TrialState.FAIL)
                since_improvement += 1
            if on_trial:
                on_trial(state, trial)
    return state, costs


@contextmanager
def until(deadline: float, cancel: threading.Event | None = None) -> Iterator[threading.Event]:
    """An event that is set at `deadline` (time.monotonic()) or when `cancel` is set: handed to
    `run_tasks`, it drops the tasks that have not started by then."""
    stopper = _Stopper(deadline, cancel)
    try:
        yield stopper.event
    finally:
        stopper.close()


class _Stopper:
    """Sets an event at the deadline (or when the caller cancels), so unstarted fold tasks are dropped."""

    def __init__(self, deadline: float, cancel: threading.Event | None) -> None:
        self.event = threading.Event()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, args=(deadline, cancel), daemon=True)
        self._thread.start()

    def _watch(self, deadline: float, cancel: threading.Event | None) -> None:
        while not self._done.wait(0.1):
            if time.monotonic() >= deadline or (cancel is not None and cancel.is_set()):
                self.event.set()
                return

    def close(self) -> None:
        self._done.set()
        self._thread.join(timeout=1)
