"""Progress events from the engine: stage, trial i of ~n, best score so far, time left.

The engine calls `progress(stage, info)` (the callback shape the run engine and the CLI already use);
`info` is `ProgressEvent.as_info()`, so the CLI can print a line and the TUI can fill a live panel.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any, Callable

Progress = Callable[[str, dict[str, Any]], None]

STAGES = ("validate", "search", "final_fit", "diagnostics")


@dataclass(frozen=True)
class ProgressEvent:
    stage: str
    message: str = ""
    trial: int | None = None  # trials finished so far
    trials_estimate: int | None = None  # how many the remaining budget should allow, roughly
    best_model: str | None = None
    best_score: float | None = None
    metric: str | None = None
    elapsed_s: float = 0.0
    time_left_s: float = 0.0

    def as_info(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None and k != "stage"}


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
                              time_left_s=round(max(0.0, self.budget_s - elapsed), 1), **fields)
        self.callback(stage, event.as_info())


def format_event(stage: str, info: dict[str, Any]) -> str:
    """One human line for a progress event (the CLI's progress line)."""
    parts = [f"[{stage}]"]
    if info.get("message"):
        parts.append(str(info["message"]))
    if info.get("trial") is not None:
        total = info.get("trials_estimate")
        parts.append(f"trial {info['trial']}" + (f" of ~{total}" if total else ""))
    if info.get("best_score") is not None:
        parts.append(f"best {info.get('best_model')} {info.get('metric', '')}={info['best_score']:.4f}")
    if "time_left_s" in info:
        parts.append(f"{info['time_left_s']:.0f}s left")
    return "  ".join(parts)
