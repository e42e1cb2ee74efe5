"""Algorithm selection + hyperparameter search with Optuna, under a time budget, through a compute back-end.

One Optuna study covers every family (a `family` choice with conditional spaces, TPE sampler, seeded).
The search has two phases:

1. **Defaults.** Every family's library defaults, in `SEARCH_ORDER`, before any family gets a second
   trial. A family whose defaults cannot finish before the search deadline is not tried, and the run
   says so (`SearchState.untried`).
2. **Search.** Optuna proposes a batch of trials at a time (one per back-end worker); every trial's folds
   run as independent back-end tasks. A proposal that would not finish before the search deadline is
   skipped (the budget holds even though a running fit cannot be interrupted).

With `max_trials` the run is meant to be reproducible: no trial is skipped for its estimated time, so
the sequence depends on the seed alone (the deadline can still end the search, and the sequence records
where). `replay` runs a recorded sequence exactly (`runs reproduce`), whatever the clock says.
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

Clock = Callable[[], float]
STOPPED = "stopped by the time budget before all folds ran"
# Consecutive unaffordable proposals after which the search ends (the space left is too costly for the time).
MAX_SKIPS_IN_A_ROW = 30


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

    def se(self, metric: str) -> float:
        """Standard error of the CV mean (fold std / sqrt(folds))."""
        n = len(self.fold_results)
        return float(np.std([r["scores"][metric] for r in self.fold_results], ddof=1) / np.sqrt(n)) if n > 1 else 0.0

    def cost(self, key: str) -> float | None:
        values = [r[key] for r in self.fold_results if key in r]
        return float(values[0]) if values else None

    @property
    def trees(self) -> int | None:
        """The boosting rounds its folds used (early-stopped: found), rounded mean; None for other families."""
        values = [r["trees"] for r in self.fold_results if r.get("trees")]
        return int(round(float(np.mean(values)))) if values else None

    @property
    def work_s(self) -> float:
        return float(sum(r.get("work_s", r.get("fit_time_s", 0.0)) for r in self.fold_results))

    def record(self) -> dict[str, Any]:
        """What a replay needs to run this trial again (and how it ended)."""
        return {"number": self.number, "family": self.family, "params": self.params, "is_default": self.is_default,
                "ok": self.ok, **({"error": self.error} if self.error else {})}


@dataclass
class SearchState:
    trials: list[Trial] = field(default_factory=list)
    best: Trial | None = None
    skipped: int = 0
    stop_reason: str = ""
    untried: dict[str, str] = field(default_factory=dict)  # family -> why its defaults never ran

    def family_seconds(self) -> dict[str, float]:
        """Seconds of fit work spent on each family (summed over its trials' folds)."""
        out: dict[str, float] = {}
        for t in self.trials:
            out[t.family] = round(out.get(t.family, 0.0) + t.work_s, 3)
        return out


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

    def observe(self, family: str, params: dict[str, Any], seconds: float, trees: int | None = None) -> None:
        self.per_unit.setdefault(family, []).append(seconds / cost_factor(family, params, trees))

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


# A tuned boosting trial whose time share is short still grows at least this many trees.
MIN_CAPPED_TREES = 50


def cap_trees(trial: Trial, costs: CostModel, fold_seconds: float) -> None:
    """Cap an early-stopped boosting trial's trees at what `fold_seconds` per fold affords.

    Early stopping decides the tree count only once the fit runs, and a fold task that has started cannot be
    stopped: with a small learning rate, a tuned trial could grow its 2,000 trees past the time the final
    fits need. The cap is in the trial's parameters, so a replay grows the same trees."""
    if trial.params.get("early_stopping") is not True:
        return
    key = FAMILIES[trial.family].cost_key
    at_most = costs.fold_seconds(trial.family, {**trial.params, "early_stopping": False})  # every tree grown
    if key is None or at_most is None or at_most <= fold_seconds:
        return
    trees = int(trial.params[key])
    trial.params = {**trial.params, key: max(MIN_CAPPED_TREES, min(trees, int(trees * fold_seconds / at_most)))}


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
    clock: Clock = time.monotonic,
    replay: list[dict[str, Any]] | None = None,
    finish: Callable[[Trial | None], float] | None = None,
) -> tuple[SearchState, CostModel]:
    """Run trials until the deadline (re-read after every batch), `max_trials`, `patience` or `cancel`;
    or, with `replay`, exactly the recorded trials (`Trial.record()`), ignoring time.

    `finish(trial)` is what the stages after the search would need if `trial` became the final model (the
    deadline already keeps that for the current best): a proposal that could win but whose own final fits
    would not fit either is skipped, so a late leader never finds the time for its refit gone."""
    state = SearchState()
    costs = costs if costs is not None else CostModel()
    if replay is not None:
        _replay(problem, metric, backend, replay, state, costs, on_trial, cancel)
        return state, costs
    proposals = _Proposals(families, problem.task, metric, seed)
    n_folds = len(problem.folds)
    workers = max(1, backend.worker_count())
    reproducible = max_trials is not None
    since_improvement = 0
    skips_in_a_row = 0
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
        left = deadline - clock()
        if left <= 0:
            state.stop_reason = "time budget"
            break
        # One trial per worker (their folds keep every worker busy); defaults only while any remain.
        batch: list[Trial] = []
        planned = 0.0
        room = workers if max_trials is None else min(workers, max_trials - len(state.trials))
        defaults_phase = proposals.defaults_left() > 0
        while len(batch) < room and (proposals.defaults_left() > 0) == defaults_phase:
            trial = proposals.next()
            if not reproducible:
                # Its share of the time left: the folds of `room` trials spread over the workers.
                cap_trees(trial, costs, left * workers / (n_folds * max(1, room)))
            per_fold = None if reproducible else costs.fold_seconds(trial.family, trial.params)
            if per_fold is not None:
                # The batch's wall time if its folds share the workers evenly, plus this trial, plus what its
                # own final fits would need beyond the current best's.
                expected = costs.batch_seconds(planned + per_fold * n_folds, workers)
                extra = max(0.0, finish(trial) - finish(state.best)) if finish and state.best is not None else 0.0
                if expected + extra > left:
                    proposals.tell_skipped(trial)
                    if trial.is_default:
                        state.untried[trial.family] = (
                            f"its defaults needed ~{expected:.0f} s of CV"
                            + (f" and ~{extra:.0f} s more for their final fits" if extra >= 1 else "")
                            + f"; {max(0, left):.0f} s were left before the final fits' reserve")
                    state.skipped += 1
                    skips_in_a_row += 1
                    if skips_in_a_row >= MAX_SKIPS_IN_A_ROW:
                        break
                    continue
                planned += per_fold * n_folds
            skips_in_a_row = 0
            batch.append(trial)
        if not batch:
            if proposals.defaults_left() > 0 or defaults_phase:
                continue  # every remaining default was unaffordable: the search phase may still fit cheaper trials
            state.stop_reason = "time budget (no affordable trial left)"
            break
        results = _run_batch(problem, batch, backend, costs, workers, deadline, cancel, clock)
        for trial in batch:
            _settle(trial, results, n_folds, costs)
            state.trials.append(trial)
            improved = _update_best(state, trial, metric)
            proposals.tell(trial)
            since_improvement = 0 if improved else since_improvement + 1
            if on_trial:
                on_trial(state, trial)
    for family in families:
        if family not in {t.family for t in state.trials} and family not in state.untried:
            state.untried[family] = f"the search ended ({state.stop_reason}) before its defaults ran"
    return state, costs


class _Proposals:
    """The trial sequence: every family's defaults in order, then what the seeded TPE sampler proposes."""

    def __init__(self, families: list[str], task: str, metric: str, seed: int) -> None:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
        self.optuna = optuna
        self.families, self.task, self.metric = families, task, metric
        direction = "maximize" if HIGHER_IS_BETTER[metric] else "minimize"
        sampler = optuna.samplers.TPESampler(seed=seed, multivariate=True, group=True, constant_liar=True,
                                             n_startup_trials=max(5, len(families)))
        self.study = optuna.create_study(direction=direction, sampler=sampler)
        for family in families:
            self.study.enqueue_trial({"family": family})
        self.asked: dict[int, Any] = {}
        self.defaults_asked = 0

    def defaults_left(self) -> int:
        return len(self.families) - self.defaults_asked

    def next(self) -> Trial:
        ot = self.study.ask()
        family = ot.suggest_categorical("family", self.families)
        is_default = ot.number < len(self.families)
        params = FAMILIES[family].defaults(self.task) if is_default else FAMILIES[family].suggest(ot, self.task)
        self.asked[ot.number] = ot
        self.defaults_asked += is_default
        return Trial(ot.number, family, params, is_default)

    def tell_skipped(self, trial: Trial) -> None:
        self.study.tell(self.asked.pop(trial.number), state=self.optuna.trial.TrialState.FAIL)

    def tell(self, trial: Trial) -> None:
        ot = self.asked.pop(trial.number)
        if trial.ok and not np.isnan(trial.mean(self.metric)):
            self.study.tell(ot, trial.mean(self.metric))
        else:
            self.study.tell(ot, state=self.optuna.trial.TrialState.FAIL)


def _run_batch(problem: Problem, batch: list[Trial], backend: ComputeBackend, costs: CostModel, workers: int,
               deadline: float | None, cancel: threading.Event | None, clock: Clock) -> dict[str, TaskResult]:
    n_folds = len(problem.folds)
    tasks = [Task(f"{t.number}:{k}", fit_fold, (problem, t.family, t.params, k, k == 0))
             for t in batch for k in range(n_folds)]
    t0 = clock()
    if deadline is None:
        results = backend.run_tasks(tasks)
    else:
        with until(deadline, cancel, clock) as stop:
            results = backend.run_tasks(tasks, cancel=stop)
    wall = clock() - t0
    work = sum(r.value["work_s"] for r in results if r.ok)
    if work > 0 and len(results) == len(tasks):
        costs.batch_overheads.append(max(0.0, wall - work / min(workers, len(tasks))))
    for t in batch:
        t.wall_s = wall
    return {r.key: r for r in results}


def _settle(trial: Trial, results: dict[str, TaskResult], n_folds: int, costs: CostModel) -> None:
    folds = [results.get(f"{trial.number}:{k}") for k in range(n_folds)]
    errors = [r.error for r in folds if r is not None and not r.ok]
    if errors:
        trial.error = (errors[0] or "").splitlines()[0]
    elif any(r is None for r in folds):
        trial.error = STOPPED
    else:
        trial.fold_results = [r.value for r in folds]  # type: ignore[union-attr]
    for r in folds:
        if r is not None and r.ok:
            costs.observe(trial.family, trial.params, r.value["work_s"], r.value.get("trees"))


def _update_best(state: SearchState, trial: Trial, metric: str) -> bool:
    """Make `trial` the best if it is; True if it improved on the best by more than noise (0.1 %, 1e-4)."""
    if not trial.ok or np.isnan(trial.mean(metric)):
        return False
    if state.best is None:
        state.best = trial
        return True
    if not better(metric, trial.mean(metric), state.best.mean(metric)):
        return False
    gain = abs(trial.mean(metric) - state.best.mean(metric))
    improved = gain > max(1e-4, 1e-3 * abs(state.best.mean(metric)))
    state.best = trial
    return improved


def _replay(problem: Problem, metric: str, backend: ComputeBackend, recorded: list[dict[str, Any]],
            state: SearchState, costs: CostModel, on_trial: Callable[[SearchState, Trial], None] | None,
            cancel: threading.Event | None) -> None:
    """Run the recorded trials in their batches' order; a trial that did not finish then does not run now."""
    workers = max(1, backend.worker_count())
    n_folds = len(problem.folds)
    trials = [Trial(int(r["number"]), str(r["family"]), dict(r["params"]), bool(r["is_default"])) for r in recorded]
    outcome = {int(r["number"]): r for r in recorded}
    to_run = [t for t in trials if outcome[t.number].get("ok", True)]
    for i in range(0, len(to_run), workers):
        if cancel is not None and cancel.is_set():
            state.stop_reason = "cancelled"
            return
        batch = to_run[i:i + workers]
        results = _run_batch(problem, batch, backend, costs, workers, None, cancel, time.monotonic)
        for t in batch:
            _settle(t, results, n_folds, costs)
    for trial in trials:
        if not outcome[trial.number].get("ok", True):
            trial.error = str(outcome[trial.number].get("error") or STOPPED)
        state.trials.append(trial)
        _update_best(state, trial, metric)
        if on_trial:
            on_trial(state, trial)
    state.stop_reason = f"replayed {len(trials)} recorded trials"


@contextmanager
def until(deadline: float, cancel: threading.Event | None = None, clock: Clock = time.monotonic) -> Iterator[threading.Event]:
    """An event that is set at `deadline` (on `clock`) or when `cancel` is set: handed to `run_tasks`, it
    drops the tasks that have not started by then."""
    stopper = _Stopper(deadline, cancel, clock)
    try:
        yield stopper.event
    finally:
        stopper.close()


class _Stopper:
    """Sets an event at the deadline (or when the caller cancels), so unstarted fold tasks are dropped."""

    def __init__(self, deadline: float, cancel: threading.Event | None, clock: Clock) -> None:
        self.event = threading.Event()
        self._done = threading.Event()
        self._clock = clock
        self._thread = threading.Thread(target=self._watch, args=(deadline, cancel), daemon=True)
        self._thread.start()

    def _watch(self, deadline: float, cancel: threading.Event | None) -> None:
        while not self._done.wait(0.1):
            if self._clock() >= deadline or (cancel is not None and cancel.is_set()):
                self.event.set()
                return

    def close(self) -> None:
        self._done.set()
        self._thread.join(timeout=1)
