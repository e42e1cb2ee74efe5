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


class ProgressReporter:
    """Stamps events with elapsed and remaining time before handing them to the callback."""

    def __init__(self, callback: Progress | None, started: float, budget_s: float, metric: str | None = None) -> None:
        self.callback = callback
        self.started = started
        self.budget_s = budget_s
        self.metric = metric

    def time_left(self) -> float:
        return self.started + self.budget_s - time.monotonic()

    def __call__(self, stage: str, message: str = "", **fields: Any) -> None:
        if self.callback is None:
            return
        elapsed = time.monotonic() - self.started
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
