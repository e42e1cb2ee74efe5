"""Run one pipeline: steps in order, each an audit event; the first failure stops it, is recorded, and alerts.

Events: `pipeline.started` (trigger, steps, pid), then per step `pipeline.step_finished` or
`pipeline.step_failed`, then `pipeline.finished` (outcome `succeeded` or `failed`). A run whose process died
between them is settled as `interrupted` by `settle_interrupted` (the scheduler does it when it starts).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from workbench.audit import AuditLog
from workbench.audit.log import new_run_id
from workbench.errors import BadInputError, WorkbenchError
from workbench.identity import current_host
from workbench.process_identity import process_alive
from workbench.pipelines.lock import pipeline_lock_path, try_exclusive
from workbench.pipelines.spec import Pipeline
from workbench.pipelines.steps import STEP_RUNNERS, StepContext
from workbench.workspace import Workspace


class PipelineBusy(BadInputError):
    title = "Pipeline already running"


@dataclass
class PipelineOutcome:
    pipeline: str
    run: str
    outcome: str  # succeeded | failed
    steps: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    failed_step: int | None = None
    alert: str | None = None  # the alert's status when the run failed

    @property
    def ok(self) -> bool:
        return self.outcome == "succeeded"

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _one_sentence(exc: BaseException) -> str:
    if isinstance(exc, WorkbenchError):
        return exc.message
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}"


def run_pipeline(ws: Workspace, pipeline: Pipeline, trigger: dict[str, Any] | None = None, *,
                 now: datetime | None = None, log: AuditLog | None = None) -> PipelineOutcome:
    """Run `pipeline`'s steps now (refused, with nothing written, if it is already running or the role is
    missing). `trigger` says why (cron slot, certified version, upstream run, or by hand) and is recorded.

    `log`: an open audit log to append to (the scheduler keeps one open: opening and closing SQLite per
    event is most of a short run's cost)."""
    from workbench.access.actions import require_role

    require_role(ws, "contributor", "Running a pipeline")
    now = now or datetime.now(timezone.utc)
    trigger = trigger or {"kind": "manual"}
    with try_exclusive(ws, pipeline_lock_path(ws, pipeline.name)) as held:
        if not held:
            raise PipelineBusy(f"Pipeline {pipeline.name} is running already; it was not started again.")
        if log is not None:
            return _run_steps(ws, pipeline, trigger, now, log)
        with AuditLog(ws.audit_path, ws.root) as opened:
            return _run_steps(ws, pipeline, trigger, now, opened)


def _run_steps(ws: Workspace, pipeline: Pipeline, trigger: dict[str, Any], now: datetime,
               log: AuditLog) -> PipelineOutcome:
    run = "pl-" + new_run_id()
    actor = ws.actor
    log.record("pipeline.started", actor=actor, subject=pipeline.name, outcome="running",
               params={"run": run, "trigger": trigger, "steps": [s.describe() for s in pipeline.steps],
                       "pid": os.getpid(), "host": current_host(), "at": now.isoformat()})
    ctx = StepContext(pipeline=pipeline, now=now)
    outcome = PipelineOutcome(pipeline.name, run, "succeeded")
    for index, step in enumerate(pipeline.steps, 1):
        try:
            result = STEP_RUNNERS[step.kind](ws, step, ctx)
        except KeyboardInterrupt:
            _finish(log, ws, pipeline, run, "interrupted", outcome, error="interrupted (Ctrl-C or SIGINT)",
                    failed_step=index)
            raise
        except Exception as exc:  # noqa: BLE001 - any failure stops the pipeline and is recorded, never half-hidden
            error = _one_sentence(exc)
            log.record("pipeline.step_failed", actor=actor, subject=pipeline.name, outcome="failed",
                       params={"run": run, "index": index, "step_kind": step.kind, "step": step.describe(),
                               "error": error})
            outcome.steps.append({"index": index, "kind": step.kind, "outcome": "failed", "error": error})
            _finish(log, ws, pipeline, run, "failed", outcome, error=error, failed_step=index)
            outcome.alert = _alert_failure(ws, pipeline, run, index, step.kind, error, now)
            return outcome
        log.record("pipeline.step_finished", actor=actor, subject=pipeline.name, outcome="succeeded",
                   run_id=result.get("run_id"),
                   params={"run": run, "index": index, "step_kind": step.kind, "step": step.describe(),
                           "result": result})
        outcome.steps.append({"index": index, "kind": step.kind, "outcome": "succeeded", "result": result})
    _finish(log, ws, pipeline, run, "succeeded", outcome)
    return outcome


def _finish(log: AuditLog, ws: Workspace, pipeline: Pipeline, run: str, state: str, outcome: PipelineOutcome, *,
            error: str | None = None, failed_step: int | None = None) -> None:
    outcome.outcome, outcome.error, outcome.failed_step = state, error, failed_step
    log.record("pipeline.finished", actor=ws.actor, subject=pipeline.name, outcome=state,
               params={"run": run, "steps_run": len(outcome.steps),
                       **({"error": error, "failed_step": failed_step} if error else {})})


def _alert_failure(ws: Workspace, pipeline: Pipeline, run: str, index: int, kind: str, error: str,
                   now: datetime) -> str:
    """Alert on the failure; an alert that cannot be delivered is recorded (`alert.failed`), never raised."""
    from workbench.alerts.notify import notify

    try:
        return notify(ws, f"pipeline:{pipeline.name}:failed", f"Pipeline {pipeline.name} failed at step {index} ({kind})",
                      {"pipeline": pipeline.name, "run": run, "step": index, "kind": kind, "error": error},
                      now=now).status
    except WorkbenchError as exc:  # e.g. a malformed [alerts] section: the failure is recorded already
        return f"not sent: {exc.message}"


def settle_interrupted(ws: Workspace) -> list[str]:
    """Record `pipeline.finished` (interrupted) for runs on this host whose process is gone."""
    from workbench.pipelines.history import pipeline_runs

    settled = []
    host = current_host()
    for r in pipeline_runs(ws, limit=200):
        if r.outcome != "running" or r.host != host or r.pid is None or process_alive(r.pid, None):
            continue
        with AuditLog(ws.audit_path, ws.root) as log:
            log.record("pipeline.finished", actor=ws.actor, subject=r.pipeline, outcome="interrupted",
                       params={"run": r.run, "error": "its process ended before the pipeline finished"})
        settled.append(r.run)
    return settled

