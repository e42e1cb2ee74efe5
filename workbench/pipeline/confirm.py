"""Confirm at scale: when the search ranked configurations on a sample of the training rows, the leaders
are scored again on (nearly) all of them before one becomes the final model.

Hyperparameters tuned on a sample do not always carry over to ten times the rows: a small learning rate
and few leaves that won on 24,000 flights under-fit 260,000, where the family's defaults do better. So
the choice, the best defaults and the leader (`selection.confirm_candidates`) are fitted side by side (one
per back-end worker) on most training rows and scored on a slice held aside from them; the best of those
becomes the final model. Its confirm fit is a model of training rows only, so it is the one whose frozen
holdout scores the run reports; the saved model is then refitted on every row.
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
    estimators: dict[int, Any] = field(default_factory=dict, repr=False)  # every candidate that finished

    def as_dict(self) -> dict[str, Any]:
        return {"scores": {str(k): round(v, 6) for k, v in self.scores.items()}, "winner_trial": self.winner.number,
                "train_rows": self.train_rows, "validation_rows": self.validation_rows,
                "seconds": round(self.seconds, 3)}


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
    n_jobs: int,
    rows: int,
    params_for: Callable[[Trial, int], dict[str, Any]],
    deadline: float | None,
    clock: Callable[[], float] = time.monotonic,
    cancel: threading.Event | None = None,
) -> Confirmation | None:
    """Fit `candidates` on `rows` of the training rows (side by side on the back-end's workers; the caller
    decides how many the budget allows) and score them on a held-aside slice; None if every fit failed.
    `params_for(trial, rows)` is the configuration a fit on that many rows uses (`candidates.final_params`).
    A fit still running at `deadline` finishes (it cannot be interrupted); one not yet started is dropped."""
    from workbench.backends.compute import Task
    from workbench.pipeline.search import until

    if len(candidates) < 2:
        return None
    classification = task != "regression"
    fit_rows, held = split_for_confirm(idx_train, y, seed, classification)
    if rows < len(fit_rows):
        fit_rows = np.sort(np.random.default_rng(seed).permutation(fit_rows)[:rows])
    X_fit, y_fit, X_held, y_held = X[fit_rows], y[fit_rows], X[held], y[held]
    tasks = [Task(f"confirm:{t.number}", confirm_fit, (X_fit, y_fit, X_held, y_held, t.family,
                                                       params_for(t, len(fit_rows)), task, plan, seed, n_jobs))
             for t in candidates]
    t0 = clock()
    if deadline is None:
        results = {r.key: r for r in backend.run_tasks(tasks)}
    else:
        with until(deadline, cancel, clock) as stop:
            results = {r.key: r for r in backend.run_tasks(tasks, cancel=stop)}
    done = [(t, results[f"confirm:{t.number}"].value) for t in candidates
            if f"confirm:{t.number}" in results and results[f"confirm:{t.number}"].ok]
    if not done:
        return None
    scores = {t.number: float(v["scores"][metric]) for t, v in done}
    sign = 1 if HIGHER_IS_BETTER[metric] else -1
    # Ties keep the candidates' order (the choice first).
    winner, value = max(done, key=lambda tv: (sign * tv[1]["scores"][metric], -candidates.index(tv[0])))
    return Confirmation(scores, winner, value["estimator"], len(fit_rows), len(held), clock() - t0,
                        {t.number: v["estimator"] for t, v in done})
