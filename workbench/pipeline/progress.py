"""Progress events from the engine: stage, trial i of ~n, best score so far, time left.

The engine calls `progress(stage, info)`, the callback the run engine's `ProgressTracker` (runs/progress.py)
and the CLI take, with its vocabulary: stages `validate`, `search`, `scored` (one per finished trial, with
`candidate` and the primary metric's value), `confirm` (the leaders re-scored on most rows when the
search saw a sample), `final_fit`, `diagnostics`; `trial`/`trials` for i of ~n and
`remaining_s` for the time left of the budget.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any, Callable

Progress = Callable[[str, dict[str, Any]], None]

STAGES = ("validate", "search", "scored", "confirm", "final_fit", "diagnostics")


@dataclass(frozen=True)
class ProgressEvent:
    stage: str
    message: str = ""
    trial: int | None = None  # trials finished so far
    trials: int | None = None  # how many the remaining budget should allow, roughly
    candidate: str | None = None  # the family of the trial just scored
    score: float | None = None  # its CV mean of the primary metric
    best_model: str | None = None
    best_score: float | None = None
    metric: str | None = None
    elapsed_s: float = 0.0
    remaining_s: float = 0.0

    def as_info(self) -> dict[str, Any]:
        info = {k: v for k, v in asdict(self).items() if v is not None and k not in ("stage", "score")}
        if self.score is not None and self.metric:
            info[self.metric] = self.score  # the run engine's tracker reads best-so-far from this key
        return info


class TrialEstimate:
    """The "trial i of ~n" estimate, smoothed so it does not jump: seconds per trial and the total itself are
    exponential moving averages; the total is never below the trials done (plus one while searching) and
    never above `max_trials`."""

    def __init__(self, max_trials: int | None = None, alpha: float = 0.3) -> None:
        self.max_trials = max_trials
        self.alpha = alpha
        self.per_trial: float | None = None
        self.total: float | None = None
        self._last: tuple[int, float] | None = None

    def update(self, done: int, spent_s: float, left_s: float) -> int | None:
        """After `done` trials in `spent_s` seconds of search, with `left_s` seconds of search left."""
        if done <= 0 or spent_s <= 0:
            return self.max_trials
        prev_done, prev_spent = self._last or (0, 0.0)
        self._last = (done, spent_s)
        if done > prev_done and spent_s > prev_spent:
            rate = (spent_s - prev_spent) / (done - prev_done)
            self.per_trial = rate if self.per_trial is None else self.alpha * rate + (1 - self.alpha) * self.per_trial
        raw = done + max(0.0, left_s) / self.per_trial if self.per_trial else float(done)
        self.total = raw if self.total is None else self.alpha * raw + (1 - self.alpha) * self.total
        shown = max(done + (1 if left_s > 0 else 0), int(round(self.total)))
        if self.max_trials is not None:
            shown = min(shown, self.max_trials)
        return max(done, shown)


class ProgressReporter:
    """Stamps events with elapsed and remaining time before handing them to the callback."""

    def __init__(self, callback: Progress | None, started: float, budget_s: float, metric: str | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.callback = callback
        self.started = started
        self.budget_s = budget_s
        self.metric = metric
        self.clock = clock

    def time_left(self) -> float:
        return self.started + self.budget_s - self.clock()

    def __call__(self, stage: str, message: str = "", **fields: Any) -> None:
        if self.callback is None:
            return
        elapsed = self.clock() - self.started
        event = ProgressEvent(stage, message, metric=self.metric, elapsed_s=round(elapsed, 1),
                              remaining_s=round(max(0.0, self.budget_s - elapsed), 1), **fields)
        self.callback(stage, event.as_info())


def format_event(stage: str, info: dict[str, Any]) -> str:
    """One human line for a progress event (the CLI's progress line)."""
    parts = [f"[{stage}]"]
    if info.get("message"):
        parts.append(str(info["message"]))
    if info.get("trial") is not None:
        total = info.get("trials")
        parts.append(f"trial {info['trial']}" + (f" of ~{total}" if total else ""))
    if info.get("best_score") is not None:
        parts.append(f"best {info.get('best_model')} {info.get('metric', '')}={info['best_score']:.4f}")
    if "remaining_s" in info:
        parts.append(f"{info['remaining_s']:.0f}s left")
    return "  ".join(parts)
