"""Greedy ensemble selection (Caruana et al. 2004, as auto-sklearn and AutoGluon do it) on out-of-fold
predictions of the best configurations.

Every CV fold of a trial predicts the rows it did not train on, so each trial has one out-of-fold
prediction per search row. Starting from nothing, each round adds (with replacement) the trial whose
addition makes the averaged prediction score best; the counts are the weights. The ensemble is used only
when its out-of-fold score beats the best single trial's on the same rows; then each member is refitted
like any single model and `WeightedEnsemble` averages them, with the `predict` / `predict_proba` /
`classes_` every consumer of a saved model uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from workbench.pipeline.metrics import HIGHER_IS_BETTER, score_metric, score_predictions
from workbench.pipeline.ensemble_model import WeightedEnsemble  # noqa: F401  (re-exported)
from workbench.pipeline.search import Trial

MAX_MEMBERS = 8  # candidates: the best trials by CV
ROUNDS = 25
MIN_GAIN = 1e-4  # an ensemble must beat the best single trial by more than this (absolute, on its metric)


@dataclass
class Selection:
    members: list[Trial]  # with weight > 0, best first
    weights: list[float]  # sum to 1
    score: float  # the ensemble's out-of-fold score
    best_single: float  # the best member alone, on the same rows
    rounds: int

    @property
    def gain(self) -> float:
        return self.score - self.best_single

    def as_dict(self) -> dict[str, Any]:
        # Weights exact (not rounded): a replay rebuilds this very ensemble.
        return {"members": [t.number for t in self.members], "weights": [float(w) for w in self.weights],
                "oof_score": round(self.score, 6), "best_single_oof": round(self.best_single, 6), "rounds": self.rounds}


def out_of_fold(trial: Trial, folds: Any, n_rows: int) -> np.ndarray | None:
    """The trial's prediction of every search row from the fold that did not train on it (None if not kept)."""
    parts = [r.get("oof") for r in trial.fold_results]
    if not parts or any(p is None for p in parts):
        return None
    first = np.asarray(parts[0])
    out = np.zeros((n_rows, *first.shape[1:]), dtype=np.float64)
    for (_, test), pred in zip(folds, parts):
        out[test] = np.asarray(pred, dtype=np.float64)
    if out.ndim == 2:  # probabilities kept as float32: rows sum to one again in float64
        out /= np.clip(out.sum(axis=1, keepdims=True), 1e-12, None)
    return out


def _score(task: str, metric: str, y: np.ndarray, pred: np.ndarray, classes: np.ndarray | None) -> float:
    return score_metric(task, metric, y, pred, classes)


def greedy_selection(candidates: list[Trial], folds: Any, y: np.ndarray, task: str, metric: str,
                     classes: np.ndarray | None, rounds: int = ROUNDS) -> Selection | None:
    """Caruana's forward selection with replacement over `candidates`' out-of-fold predictions."""
    preds = [(t, p) for t in candidates if (p := out_of_fold(t, folds, len(y))) is not None]
    if len(preds) < 2:
        return None
    sign = 1.0 if HIGHER_IS_BETTER[metric] else -1.0
    singles = [sign * _score(task, metric, y, p, classes) for _, p in preds]
    best_single = max(singles)
    counts = np.zeros(len(preds))
    total = np.zeros_like(preds[0][1])
    best_score, best_counts = -np.inf, counts.copy()
    for k in range(1, rounds + 1):
        scores = [sign * _score(task, metric, y, (total + p) / k, classes) for _, p in preds]
        j = int(np.argmax(scores))  # ties: the earlier (better-ranked) candidate
        counts[j] += 1
        total = total + preds[j][1]
        if scores[j] > best_score + 1e-12:
            best_score, best_counts = scores[j], counts.copy()
    chosen = [i for i in np.argsort(-best_counts, kind="stable") if best_counts[i] > 0]
    weights = [float(best_counts[i] / best_counts.sum()) for i in chosen]
    return Selection([preds[i][0] for i in chosen], weights, sign * best_score, sign * best_single, rounds)


def worth_it(selection: Selection | None, metric: str) -> bool:
    """Does the ensemble beat the best single trial on the out-of-fold rows (with more than one member)?"""
    if selection is None or len(selection.members) < 2:
        return False
    gain = selection.gain if HIGHER_IS_BETTER[metric] else -selection.gain
    return gain > MIN_GAIN


# -- the ensemble stage ---------------------------------------------------------------------------------------

def select(ctx: Any, rows: Any, state: Any) -> tuple[Selection | None, str]:
    """The ensemble the run should save instead of a single model, or None and why not."""
    from workbench.pipeline.selection import rank

    if not ctx.spec.ensemble:
        return None, "ensemble = false in the spec"
    if ctx.replay is not None:
        recorded = ctx.replay.ensemble
        if not recorded:
            return None, "the recorded run saved a single model"
        by_number = {t.number: t for t in state.trials}
        members = [by_number[n] for n in recorded["members"]]
        return Selection(members, list(recorded["weights"]), recorded["oof_score"], recorded["best_single_oof"],
                         recorded["rounds"]), ""
    if rows.subsampled:
        return None, "the search saw a sample of the training rows (its leaders are confirmed on more rows instead)"
    candidates = rank(state.trials, ctx.metric)[:MAX_MEMBERS]
    classes = None if ctx.task == "regression" else np.unique(rows.y[rows.search])
    selection = greedy_selection(candidates, rows.folds, rows.y[rows.search], ctx.task, ctx.metric, classes)
    if selection is None:
        return None, "fewer than two finished trials"
    if not worth_it(selection, ctx.metric):
        return None, (f"no ensemble beat the best single trial on out-of-fold predictions "
                      f"({selection.score:.4f} vs {selection.best_single:.4f})")
    reserve = ctx.reserve(rows)
    fits = [reserve.fit_seconds(t, n) for t in selection.members
            for n in {len(rows.train), rows.frame.height if ctx.spec.refit_all else len(rows.train)}]
    from workbench.pipeline.stages import LEARNING_CURVE_FRACTIONS

    # The members' fits, the learning curve of the first member (fitted beside them), and diagnostics that
    # predict with every member (so their costs add up).
    curve = reserve.fold_seconds(selection.members[0]) * sum(LEARNING_CURVE_FRACTIONS)
    need = (ctx.costs.batch_seconds(sum(fits) + curve, ctx.workers)
            + sum(reserve.diagnostics_seconds(t) for t in selection.members))
    room = ctx.budget.left_hard(1.5)
    if need > room:
        return None, f"an ensemble of {len(selection.members)} would need ~{need:.0f} s to fit; {max(0.0, room):.0f} s were left"
    return selection, ""


def fit(ctx: Any, rows: Any, selection: Selection, record: Any) -> Any:
    """Fit every member on the training rows (the holdout scores that ensemble) and, with refit_all, on
    every row (the saved ensemble); None if any fit failed (the run then saves its single best model)."""
    from workbench.backends.compute import Task
    from workbench.pipeline.evaluate import fit_final as fit_task, learning_curve_point
    from workbench.pipeline.stages import (LEARNING_CURVE_FRACTIONS, Fitted, _learning_curve, inner_jobs, params_for,
                                           search_problem)

    spec = ctx.spec
    n_all, n_train = rows.frame.height, len(rows.train)
    final_rows = n_all if spec.refit_all else n_train
    sets = {"holdout": rows.train, **({"final": rows.every} if final_rows != n_train else {})}
    tasks = [Task(f"{which}:{t.number}", fit_task, (rows.X[idx], rows.y[idx], t.family, params_for(t, rows, len(idx)),
                                                    ctx.task, ctx.validation.plan, spec.seed,
                                                    inner_jobs(ctx.workers, len(idx))))
             for which, idx in sets.items() for t in selection.members]
    top = selection.members[0]  # the learning curve shown is the heaviest member's
    problem = search_problem(ctx, rows, record.n_jobs)
    curve = [Task(f"lc:{f}", learning_curve_point, (problem, top.family, top.params, f)) for f in LEARNING_CURVE_FRACTIONS]
    ctx.report("final_fit", f"fitting an ensemble of {len(selection.members)} on {final_rows:,} rows "
                            f"and on the {n_train:,} training rows the holdout scores")
    t0 = ctx.budget.now()
    results = {r.key: r for r in ctx.backend.run_tasks(tasks + curve)}
    ctx.check_cancel()
    if not all(results.get(t.key) is not None and results[t.key].ok for t in tasks):
        return None
    built = {which: WeightedEnsemble([results[f"{which}:{t.number}"].value[0] for t in selection.members],
                                     selection.weights, ctx.task) for which in sets}
    fit_s = sum(results[t.key].value[1] for t in tasks)
    ctx.timings["final_fit_s"] = round(ctx.budget.now() - t0, 3)
    record.ensemble = selection.as_dict()
    scope = "train+holdout" if "final" in sets else "train"
    record.chosen_trial = None
    record.final = {"holdout_model_rows": n_train, "final_rows": final_rows, "final_rows_scope": scope}
    return Fitted(top, built["holdout"], n_train, built.get("final", built["holdout"]), final_rows, scope, fit_s,
                  learning_curve=_learning_curve(results, top, problem, ctx.metric))


def leaderboard_row(selection: Selection, fitted: Any, rows: Any, task: str, metric: str) -> dict[str, Any]:
    """The ensemble's leaderboard row: its out-of-fold score, members, and costs measured like any model's."""
    import pickle

    from workbench.pipeline.evaluate import measure_latency

    from workbench.pipeline.metrics import TASK_METRICS

    X = rows.X[rows.holdout] if len(rows.holdout) else rows.X
    costs = measure_latency(fitted.holdout_estimator, X, task)
    # Scored per CV fold like every trial row (mean ± std), from the members' out-of-fold predictions.
    y = rows.y[rows.search]
    classes = None if task == "regression" else np.unique(y)
    blend = sum(w * out_of_fold(t, rows.folds, len(y)) for t, w in zip(selection.members, selection.weights))
    per_fold = [score_predictions(task, y[test], blend[test], classes) for _, test in rows.folds]
    scores: dict[str, float] = {}
    for name in TASK_METRICS[task]:
        values = np.array([f[name] for f in per_fold])
        scores[name], scores[f"{name}_std"] = round(float(values.mean()), 6), round(float(values.std()), 6)
    scores[f"{metric}_se"] = round(float(np.std([f[metric] for f in per_fold], ddof=1) / np.sqrt(len(per_fold))), 6)
    return {"model": "ensemble", "family": "ensemble", "trial": -1, "config": "ensemble", **scores,
            "trials": len(selection.members),  # as a family's row counts its trials: here, the members
            "oof_score": round(selection.score, 6),
            "members": [{"trial": t.number, "model": t.family, "weight": round(w, 4)}
                        for t, w in zip(selection.members, selection.weights)],
            "oof_best_single": round(selection.best_single, 6),
            "fit_time_s": round(sum(float(np.mean([r["fit_time_s"] for r in t.fold_results])) for t in selection.members), 4),
            **{k: round(v, 4) for k, v in costs.items()},
            "model_size_kb": round(len(pickle.dumps(fitted.estimator, protocol=pickle.HIGHEST_PROTOCOL)) / 1024, 4),
            "params": {"members": [t.number for t in selection.members], "weights": selection.weights}}
