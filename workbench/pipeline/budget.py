"""The run's time: one deadline for the whole run, the seconds the stages after the search need held in
reserve, and the clock that tells both (`time.monotonic`, or a fake one a test passes in).

The search may start a trial only when the trial and everything after it still fit: the confirm round
(when the search saw a sample and the round is cheap against the budget), the fit whose holdout scores
are reported, the refit on every row, the diagnostics and saving. `Reserve.finish_seconds(leader)` is that sum for the current leader; it is
re-computed after every batch, so a leader that is costlier to refit shortens the search at once.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from workbench.pipeline.search import CostModel, Trial

Clock = Callable[[], float]

# The final stages may run this share of the budget past its end, so a whole run ends within budget + 10 %
# even when a fit that cannot be interrupted takes longer than estimated.
OVERRUN_SHARE = 0.05
SAVE_OVERHEAD_S = 1.5
CONFIRM_SHARE = 0.85  # the confirm round fits its candidates on this share of the training rows
# The search keeps time for a confirm round only when it costs at most this share of the budget; on a
# tight budget the search (every family's defaults first) and the final fits come first, and the round runs
# only if time is left when the search ends.
CONFIRM_MAX_SHARE = 0.15
# Diagnostics shrink to the time they are given (fewer rows for importance, partial dependence skipped at the
# deadline), so the reserve holds at most this share of the budget for them: a pessimistic estimate (first
# predictions are slow) once kept 24 s of a 60 s run back and saved linear over LightGBM.
DIAGNOSTICS_MAX_SHARE = 0.05


def confirm_count(workers: int) -> int:
    """How many leaders the confirm round re-scores: one per worker, two to three."""
    return max(2, min(3, workers))


@dataclass
class Budget:
    """When the run started, how long it may take, and the clock that measures both."""

    total_s: float
    started: float
    clock: Clock = time.monotonic

    @classmethod
    def start(cls, total_s: float, started: float | None = None, clock: Clock | None = None) -> "Budget":
        clock = clock or time.monotonic
        return cls(float(total_s), clock() if started is None else float(started), clock)

    @property
    def end(self) -> float:
        return self.started + self.total_s

    @property
    def hard_end(self) -> float:
        """The latest the final stages may run to (the budget plus its overrun share)."""
        return self.end + OVERRUN_SHARE * self.total_s

    def now(self) -> float:
        return self.clock()

    def elapsed(self) -> float:
        return self.now() - self.started

    def left(self, reserve: float = 0.0) -> float:
        """Seconds left before the end of the budget, less `reserve`."""
        return self.end - reserve - self.now()

    def left_hard(self, reserve: float = 0.0) -> float:
        return self.hard_end - reserve - self.now()


@dataclass(frozen=True)
class Sizes:
    """The row counts the stages after the search work on."""

    fold_train_rows: int  # rows one CV fold of the search trains on
    train_rows: int  # the run's training rows (the frozen holdout excluded)
    final_rows: int  # rows the saved model is fitted on (training + holdout rows with refit_all)
    holdout_rows: int
    n_features: int
    workers: int
    confirm: bool  # the search saw a sample: its leaders are confirmed on most training rows first

    @property
    def confirm_rows(self) -> int:
        return int(self.train_rows * CONFIRM_SHARE)


class Reserve:
    """Seconds that the stages after the search need for a given leader (estimated from its CV fits)."""

    def __init__(self, sizes: Sizes, costs: "CostModel", budget_s: float | None = None) -> None:
        self.sizes = sizes
        self.costs = costs
        self.budget_s = budget_s

    def fold_seconds(self, trial: "Trial") -> float:
        if trial.fold_results:
            return float(sum(r["fit_time_s"] for r in trial.fold_results) / len(trial.fold_results))
        est = self.costs.fold_seconds(trial.family, trial.params)
        return est if est is not None else 1.0

    def fit_seconds(self, trial: "Trial", rows: int) -> float:
        """One fit of `trial`'s final configuration on `rows` rows (fit cost grows ~linearly with rows,
        and with the extra trees a tuned boosting refit on more rows gets)."""
        from workbench.pipeline.candidates import tree_scale

        ratio = rows / max(1, self.sizes.fold_train_rows)
        trees = tree_scale(ratio) if trial.params.get("early_stopping") is True else 1.0
        return self.fold_seconds(trial) * ratio * trees * 1.1

    def diagnostics_seconds(self, trial: "Trial") -> float:
        """Permutation importance (3 predictions per feature) and partial dependence (~60) on <= 2,000 rows."""
        results = [r for r in trial.fold_results if r.get("score_rows")]
        per_row = (float(sorted(r["score_time_s"] / r["score_rows"] for r in results)[len(results) // 2])
                   if results else 1e-5)
        per_call = per_row * min(2000, self.sizes.holdout_rows)
        calls = self.sizes.n_features * 3 + 3 * 20 + 2
        estimate = 1.0 + calls * (0.01 + per_call)
        if self.budget_s is None:
            return estimate
        return min(estimate, max(1.0, DIAGNOSTICS_MAX_SHARE * self.budget_s))

    def final_fit_seconds(self, trial: "Trial", confirmed: bool = False) -> float:
        """The fits after the choice: the train-rows fit whose holdout scores are reported (none when a
        confirm fit serves) and the refit on every row, side by side when there are two workers."""
        fits = [] if confirmed else [self.fit_seconds(trial, self.sizes.train_rows)]
        if self.sizes.final_rows > self.sizes.train_rows:
            fits.append(self.fit_seconds(trial, self.sizes.final_rows))
        if not fits:
            return 0.0
        wall = max(fits) if self.sizes.workers >= len(fits) else sum(fits)
        return self.costs.batch_seconds(wall, 1)

    def confirm_seconds(self, trial: "Trial") -> float:
        if not self.sizes.confirm:
            return 0.0
        rounds = math.ceil(confirm_count(self.sizes.workers) / max(1, self.sizes.workers))
        return self.costs.batch_seconds(self.fit_seconds(trial, self.sizes.confirm_rows) * rounds, 1)

    def finish_seconds(self, trial: "Trial | None", budget_s: float) -> float:
        """Everything after the search, for `trial` as the final model (a share of the budget before any)."""
        if trial is None:
            return max(2.0, 0.05 * budget_s)
        confirm = self.confirm_seconds(trial)
        if confirm > CONFIRM_MAX_SHARE * budget_s:
            confirm = 0.0
        return (confirm + self.final_fit_seconds(trial, confirmed=confirm > 0)
                + self.diagnostics_seconds(trial) + SAVE_OVERHEAD_S)
