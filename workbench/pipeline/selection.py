"""Which finished trial becomes the final model, and why (the "choose" stage).

CV means that differ by less than their standard error are noise: the trial with the best mean (the
leader) is only one of the statistically tied trials. Among those, the run prefers a configuration that
was not tuned on these folds (library defaults: their score is not the maximum of many noisy tries), then
the smallest model (predicts fastest, costs least to keep). And the final model is never one that scores
below the best finished defaults trial, the baseline any user gets without an AutoML run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from workbench.pipeline.metrics import HIGHER_IS_BETTER
from workbench.pipeline.search import Trial


@dataclass
class Choice:
    trial: Trial  # what becomes the final model (unless the confirm round overrules it)
    leader: Trial  # the best CV mean
    baseline: Trial | None  # the best finished defaults trial
    tied: list[Trial] = field(default_factory=list)  # within one standard error of the leader, the leader included
    reason: str = ""

    def as_dict(self, metric: str) -> dict[str, Any]:
        return {"trial": self.trial.number, "leader_trial": self.leader.number,
                "baseline_trial": self.baseline.number if self.baseline else None,
                "tied_trials": [t.number for t in self.tied],
                "leader_se": round(self.leader.se(metric), 6), "reason": self.reason}


def _gap(metric: str, a: float, b: float) -> float:
    """How much worse `a` is than `b` (positive: worse)."""
    return (b - a) if HIGHER_IS_BETTER[metric] else (a - b)


def _size(trial: Trial) -> float:
    size = trial.cost("model_size_kb")
    return size if size is not None else float("inf")


def finished(trials: list[Trial], metric: str) -> list[Trial]:
    return [t for t in trials if t.ok and not np.isnan(t.mean(metric))]


def rank(trials: list[Trial], metric: str) -> list[Trial]:
    """Best CV mean first; equal means: the smaller model, then the earlier trial."""
    sign = -1 if HIGHER_IS_BETTER[metric] else 1
    return sorted(finished(trials, metric), key=lambda t: (sign * t.mean(metric), _size(t), t.number))


def choose(trials: list[Trial], metric: str) -> Choice | None:
    """The final model's trial among `trials` (None if none finished)."""
    ranked = rank(trials, metric)
    if not ranked:
        return None
    leader = ranked[0]
    se = leader.se(metric)
    defaults = [t for t in ranked if t.is_default]
    baseline = defaults[0] if defaults else None
    tied = [t for t in ranked if _gap(metric, t.mean(metric), leader.mean(metric)) <= se + 1e-12]
    # Never below the baseline: a tied trial that scores under the best defaults is not a candidate.
    eligible = [t for t in tied if baseline is None or _gap(metric, t.mean(metric), baseline.mean(metric)) <= 0]
    pick = min(eligible, key=lambda t: (not t.is_default, _size(t), t.number)) if eligible else leader
    what = _label(pick)
    if pick is leader:
        reason = f"{what} has the best CV {metric} ({leader.mean(metric):.4f})"
        if len(tied) > 1:
            reason += f"; {len(tied) - 1} other trial(s) within one standard error ({se:.4f}) score lower"
    else:
        why = "defaults are preferred among ties (not tuned on these folds)" if pick.is_default and not leader.is_default \
            else "the smallest model among them is preferred"
        reason = (f"{what} ({pick.mean(metric):.4f}) is within one standard error ({se:.4f}) of the leader "
                  f"{_label(leader)} ({leader.mean(metric):.4f}); of the {len(tied)} tied trials, {why}")
    return Choice(pick, leader, baseline, tied, reason)


def confirm_candidates(choice: Choice, ranked: list[Trial], count: int) -> list[Trial]:
    """What the confirm round re-scores on most training rows: the choice, the baseline, the leader, then
    the best trial of each next family, up to `count` (fewer than two: no confirm round is worth it)."""
    picks: list[Trial] = []
    for t in (choice.trial, choice.baseline, choice.leader):
        if t is not None and t not in picks:
            picks.append(t)
    for t in ranked:
        if len(picks) >= count:
            break
        if t.family not in {p.family for p in picks}:
            picks.append(t)
    return picks[:count]


def _label(trial: Trial) -> str:
    return f"{trial.family} ({'defaults' if trial.is_default else f'trial {trial.number}'})"
