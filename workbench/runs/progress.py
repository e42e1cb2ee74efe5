"""Live progress of a run, written to the log so any process (CLI `runs watch`, the TUI) can follow it.

The pipeline reports `(stage, info)`. Recognised info keys: `index`/`total` (or `trial`/`trials`) for
step i of n, `candidate` or `model`, the metric's value on `scored` (for best-so-far), and
`remaining_s` if the reporter knows better than the estimate. The latest snapshot goes to
`runs.progress` (JSON, at most every `interval` seconds, always on a stage change); each new stage and
each scored candidate is also a chained `run.stage` event.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

from workbench.audit import AuditLog
from workbench.runs.cancel import CancelScope
from workbench.runs.records import RunRecords

Progress = Callable[[str, dict[str, Any]], None]
_CHAINED_STAGES = ("scored",)  # recorded every time, not only when the stage changes
_UNCHAINED_STAGES = ("load", "waiting")  # before the run starts (checks, a wait for a slot): progress only


@dataclass
class ProgressSnapshot:
    stage: str = "queued"
    step: int | None = None
    steps: int | None = None
    detail: str = ""
    best_model: str | None = None
    best_score: float | None = None
    metric: str | None = None
    elapsed_s: float = 0.0
    remaining_s: float | None = None
    updated_at: float = field(default_factory=time.time)

    def as_json(self) -> str:
        return json.dumps(asdict(self), default=str)

    @classmethod
    def from_json(cls, text: str | None) -> "ProgressSnapshot | None":
        if not text:
            return None
        try:
            data = json.loads(text)
            return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})
        except (ValueError, TypeError):
            return None

    def line(self, final: bool = False) -> str:
        """One human line: `fit 2/5 lightgbm · best linear log_loss=0.0812 · 12s elapsed, ~30s left`
        (`final`: the run is over, so no timing — its duration is shown beside it)."""
        parts = [self.stage + (f" {self.step}/{self.steps}" if self.step and self.steps else "")
                 + (f" {self.detail}" if self.detail else "")]
        if self.best_model is not None and self.best_score is not None:
            parts.append(f"best {self.best_model} {self.metric or 'score'}={self.best_score:.4g}")
        if not final:
            timing = f"{self.elapsed_s:.0f}s elapsed"
            if self.remaining_s is not None:
                timing += f", ~{self.remaining_s:.0f}s left"
            parts.append(timing)
        return " · ".join(parts)


class ProgressTracker:
    """The `progress` callback given to `run_spec` by the run engine."""

    def __init__(self, log: AuditLog, run_id: str, actor: str, *, metric: str | None = None,
                 scope: CancelScope | None = None, echo: Progress | None = None, interval: float = 0.5) -> None:
        self.log, self.run_id, self.actor = log, run_id, actor
        self.scope, self.echo, self.interval = scope, echo, interval
        self.snapshot = ProgressSnapshot(metric=None if metric in (None, "auto") else metric)
        self._t0 = time.monotonic()
        self._step_t0: float | None = None
        self._last_write = 0.0

    def __call__(self, stage: str, info: dict[str, Any]) -> None:
        if self.echo is not None:
            self.echo(stage, info)
        if self.scope is not None:
            if stage == "save":
                self.scope.too_late = True  # the model is trained: finish rather than throw it away
            self.scope.check()
        snap = self.snapshot
        changed = stage != snap.stage
        snap.stage = stage
        step = info.get("index", info.get("trial"))
        steps = info.get("total", info.get("trials"))
        if isinstance(step, int) and isinstance(steps, int):
            if self._step_t0 is None:
                self._step_t0 = time.monotonic()
            snap.step, snap.steps = step, steps
        name = info.get("candidate", info.get("model", info.get("message")))
        snap.detail = str(name) if name is not None else ""
        if stage == "scored":
            self._update_best(info)
        now = time.monotonic()
        snap.elapsed_s = round(now - self._t0, 1)
        snap.remaining_s = self._remaining(info, now)
        snap.updated_at = time.time()
        if (changed or stage in _CHAINED_STAGES) and stage not in _UNCHAINED_STAGES:
            self.log.record("run.stage", actor=self.actor, run_id=self.run_id, subject=stage,
                            params={k: v for k, v in info.items() if isinstance(v, (str, int, float, bool, type(None)))})
        if changed or now - self._last_write >= self.interval:
            self.flush()
            self._check_cancel_flag()

    def _update_best(self, info: dict[str, Any]) -> None:
        from workbench.pipeline.metrics import HIGHER_IS_BETTER

        snap = self.snapshot
        scores = {k: v for k, v in info.items() if k in HIGHER_IS_BETTER and isinstance(v, (int, float))}
        if not scores:
            return
        metric = snap.metric if snap.metric in scores else next(iter(scores))
        snap.metric = metric
        value = float(scores[metric])
        better = (snap.best_score is None or
                  (value > snap.best_score if HIGHER_IS_BETTER[metric] else value < snap.best_score))
        if better:
            snap.best_model, snap.best_score = str(info.get("candidate", info.get("model", "?"))), value

    def _remaining(self, info: dict[str, Any], now: float) -> float | None:
        given = info.get("remaining_s")
        if isinstance(given, (int, float)):
            return round(float(given), 1)
        snap = self.snapshot
        if self._step_t0 is None or not snap.step or not snap.steps:
            return snap.remaining_s
        done = snap.step - 1 + (1 if snap.stage == "scored" else 0)
        if done <= 0:
            return None
        return round((now - self._step_t0) / done * (snap.steps - done), 1)

    def restart_clock(self) -> None:
        """Elapsed time counts from here (a run that waited for a slot starts now)."""
        self._t0 = time.monotonic()

    def flush(self) -> None:
        self._last_write = time.monotonic()
        RunRecords(self.log).set_run_fields(self.run_id, progress=self.snapshot.as_json())

    def _check_cancel_flag(self) -> None:
        """The cooperative route: a cancel requested through the log (e.g. from another host)."""
        if self.scope is None or self.scope.event.is_set():
            return
        row = self.log.conn.execute("SELECT cancel_requested_at FROM runs WHERE run_id = ?", [self.run_id]).fetchone()
        if row and row[0]:
            self.scope.request()


def duration_s(run: dict[str, Any]) -> float | None:
    """Seconds from start to finish (or to now while running)."""
    from datetime import datetime, timezone

    if not run.get("started_at"):
        return None
    try:
        start = datetime.fromisoformat(run["started_at"].replace("Z", "+00:00"))
        end = (datetime.fromisoformat(run["finished_at"].replace("Z", "+00:00")) if run.get("finished_at")
               else datetime.now(timezone.utc))
    except ValueError:
        return None
    return round((end - start).total_seconds(), 1)
