"""Confirm at scale: when the search ranked configurations on a sample of the training rows, the leaders
are scored again on (nearly) all of them before one becomes the final model.

Hyperparameters tuned on a sample do not always carry over to ten times the rows: a small learning rate
and few leaves that won on 24,000 flights under-fit 260,000, where the family's defaults do better. So
the best trial, its family's defaults and the runner-up family's best are fitted side by side (one per
back-end worker) on most training rows and scored on a slice held aside from them; the best of those
becomes the final model. Its confirm fit is already a model of most rows, so the engine only refits it
on every row when the budget still allows.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import polars as pl

from workbench.pipeline.feature_engineering import FeaturePlan
from workbench.pipeline.metrics import HIGHER_IS_BETTER
from workbench.pipeline.search import Trial

VALIDATION_SHARE = 0.15
MAX_VALIDATION_ROWS = 50_000
MIN_GAIN_OVER_SEARCH = 2.0  # confirm only when it can train on at least this many times a search fold's rows


@dataclass
class Confirmation:
    """Scores of the candidates on the held-aside slice, and the winner fitted on `train_rows` rows."""

    scores: dict[int, float]  # trial number -> primary metric on the confirm slice
    winner: Trial
    estimator: Any = field(repr=False)
    train_rows: int
    validation_rows: int
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        return {"scores": {str(k): round(v, 6) for k, v in self.scores.items()}, "winner_trial": self.winner.number,
                "train_rows": self.train_rows, "validation_rows": self.validation_rows,
                "seconds": round(self.seconds, 3)}


def pick_candidates(ranked: list[Trial], metric: str, count: int) -> list[Trial]:
    """The best trial, its family's defaults (the configuration least tied to the sample's size), then
    the best trial of each next family, up to `count`."""
    ranked = [t for t in ranked if t.ok]
    if not ranked:
        return []
    first = ranked[0]
    picks = [first]
    defaults = next((t for t in ranked if t.family == first.family and t.is_default), None)
    if defaults is not None and defaults is not first:
        picks.append(defaults)
    for trial in ranked:
        if len(picks) >= count:
            break
        if trial.family not in {p.family for p in picks}:
            picks.append(trial)
    return picks[:count]


def split_for_confirm(idx_train: np.ndarray, y: np.ndarray, seed: int, classification: bool) -> tuple[np.ndarray, np.ndarray]:
    """(confirm-train rows, held-aside rows) of the training rows; stratified for classification."""
    from sklearn.model_selection import train_test_split

    size = min(MAX_VALIDATION_ROWS, max(1, int(len(idx_train) * VALIDATION_SHARE)))
    strat = y[idx_train] if classification else None
    try:
        fit_rows, held = train_test_split(idx_train, test_size=size, random_state=seed + 1, stratify=strat)
    except ValueError:
        fit_rows, held = train_test_split(idx_train, test_size=size, random_state=seed + 1)
    return np.sort(fit_rows), np.sort(held)


def confirm_fit(X_fit: pl.DataFrame, y_fit: np.ndarray, X_held: pl.DataFrame, y_held: np.ndarray, family: str,
                params: dict[str, Any], task: str, plan: FeaturePlan, seed: int, n_jobs: int) -> dict[str, Any]:
    """A back-end task: fit one configuration on the confirm rows, score it on the held-aside slice."""
    from workbench.pipeline.evaluate import fit_final
    from workbench.pipeline.metrics import score_estimator

    estimator, fit_s = fit_final(X_fit, y_fit, family, params, task, plan, seed, n_jobs)
    return {"estimator": estimator, "fit_s": fit_s, "scores": score_estimator(task, estimator, X_held, y_held)}


def confirm_at_scale(
    X: pl.DataFrame,
    y: np.ndarray,
    idx_train: np.ndarray,
    candidates: list[Trial],
    *,
    task: str,
    metric: str,
    plan: FeaturePlan,
    seed: int,
    backend: Any,
    workers: int,
    n_jobs: int,
    seconds_per_row: Callable[[Trial], float],
    min_rows: int,
    budget_s: float,
    cancel: threading.Event | None = None,
) -> Confirmation | None:
    """Fit `candidates` on as many training rows as `budget_s` allows (side by side on the back-end's
    workers) and score them on a held-aside slice; None if that would not reach `min_rows` rows, or if
    every fit failed. `seconds_per_row(trial)` is the trial's fit cost per training row, from its CV fits."""
    from workbench.backends.compute import Task
    from workbench.pipeline.search import until

    if len(candidates) < 2:
        return None
    classification = task != "regression"
    fit_rows, held = split_for_confirm(idx_train, y, seed, classification)
    rounds = -(-len(candidates) // max(1, workers))
    slowest = max(seconds_per_row(t) for t in candidates) * rounds
    affordable = int(budget_s / slowest) if slowest > 0 else len(fit_rows)
    rows = min(len(fit_rows), affordable)
    if rows < min_rows:
        return None
    if rows < len(fit_rows):
        fit_rows = np.sort(np.random.default_rng(seed).permutation(fit_rows)[:rows])
    X_fit, y_fit, X_held, y_held = X[fit_rows], y[fit_rows], X[held], y[held]
    tasks = [Task(f"confirm:{t.number}", confirm_fit, (X_fit, y_fit, X_held, y_held, t.family, t.params, task, plan,
                                                       seed, n_jobs))
             for t in candidates]
    t0 = time.monotonic()
    # A fit that is still running at the deadline finishes (it cannot be interrupted); one not yet started is dropped.
    with until(t0 + budget_s * 1.5, cancel) as stop:
        results = {r.key: r for r in backend.run_tasks(tasks, cancel=stop)}
    done = [(t, results[f"confirm:{t.number}"].value) for t in candidates
            if f"confirm:{t.number}" in results and results[f"confirm:{t.number}"].ok]
    if not done:
        return None
    scores = {t.number: float(v["scores"][metric]) for t, v in done}
    sign = 1 if HIGHER_IS_BETTER[metric] else -1
    # Ties keep the search's order (its leader first).
    winner, value = max(done, key=lambda tv: (sign * tv[1]["scores"][metric], -candidates.index(tv[0])))
    return Confirmation(scores, winner, value["estimator"], len(fit_rows), len(held), time.monotonic() - t0)
