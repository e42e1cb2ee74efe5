"""The scheduler service: one per workspace (a lock; a second one refuses at once), it reloads the pipeline
files each tick, runs what is due one at a time through `pipelines.run.run_pipeline` (so a scheduled run is
exactly a `workbench pipelines run`), and sleeps on its clock until the next slot or the poll interval."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

from workbench.audit import AuditLog
from workbench.errors import BadInputError, WorkbenchError
from workbench.pipelines.lock import try_exclusive
from workbench.pipelines.run import PipelineBusy, PipelineOutcome, run_pipeline, settle_interrupted
from workbench.pipelines.spec import Pipeline, load_pipelines
from workbench.scheduler.clock import Clock
from workbench.scheduler.triggers import Due, find_due, next_slot
from workbench.workspace import Workspace

MAX_RUNS_PER_TICK = 100  # `after` chains run in the tick their upstream finished in; a bound, not a limit in practice
Report = Callable[[str], None]


class SchedulerBusy(BadInputError):
    title = "Scheduler already running"


def lock_path(ws: Workspace) -> Path:
    return ws.state_dir / "scheduler.lock"


@dataclass
class Scheduler:
    ws: Workspace
    clock: Clock
    poll_s: float = 30.0
    report: Report = field(default=lambda line: None)
    baseline: datetime | None = None
    baseline_seq: int = 0
    outcomes: list[PipelineOutcome] = field(default_factory=list)
    runs_total: int = 0
    log: AuditLog | None = None  # open for the scheduler's life: one connection, not one per event
    _pipelines: dict[str, Pipeline] = field(default_factory=dict)

    def start(self) -> None:
        """Note where this scheduler starts. A pipeline that never ran counts cron slots from now, and events
        (certifications, upstream runs) from the first scheduler start of the workspace, so one made while the
        scheduler was down still triggers it once."""
        self.baseline = self.clock.now()
        self.log = AuditLog(self.ws.audit_path, self.ws.root)
        first = self.log.conn.execute("SELECT min(seq) FROM events WHERE kind = 'scheduler.started'").fetchone()[0]
        self.baseline_seq = int(first) if first is not None else self.log.head()[0]
        for run in settle_interrupted(self.ws):
            self.report(f"pipeline run {run} was interrupted (its process ended); recorded as interrupted")

    def stop(self) -> None:
        if self.log is not None:
            self.log.close()
            self.log = None

    def load(self) -> dict[str, Pipeline]:
        """The pipeline files now; a broken file keeps the last good set running and says why once."""
        try:
            self._pipelines = load_pipelines(self.ws)
        except WorkbenchError as exc:
            self.report(f"pipelines not reloaded: {exc.message}")
        return self._pipelines

    def tick(self) -> list[PipelineOutcome]:
        """Run every due pipeline once (and what their success triggers), one at a time."""
        ran: list[PipelineOutcome] = []
        pipelines = self.load()
        for _ in range(MAX_RUNS_PER_TICK):
            now = self.clock.now()
            assert self.log is not None, "start() first"
            due = find_due(self.log, pipelines, now, self.baseline or now, self.baseline_seq, self.poll_s * 2 + 60)
            if not due:
                break
            for item in due:
                outcome = self._handle(item, now)
                if outcome is not None:
                    ran.append(outcome)
        self.outcomes = (self.outcomes + ran)[-100:]  # the newest, for whoever drives the scheduler in-process
        self.runs_total += len(ran)
        return ran

    def _handle(self, item: Due, now: datetime) -> PipelineOutcome | None:
        name = item.pipeline.name
        assert self.log is not None
        if not item.run:
            self.log.record("pipeline.skipped", actor=self.ws.actor, subject=name, outcome="skipped",
                            params={"trigger": item.trigger, "at": now.isoformat()})
            self.report(f"{name}: {item.trigger['missed']} missed slot(s) skipped ({item.trigger['reason']})")
            return None
        try:
            outcome = run_pipeline(self.ws, item.pipeline, item.trigger, now=now, log=self.log)
        except PipelineBusy as exc:  # a person is running it by hand: this slot is theirs
            self.log.record("pipeline.skipped", actor=self.ws.actor, subject=name, outcome="skipped",
                            params={"trigger": {**item.trigger, "reason": "already running"}, "at": now.isoformat()})
            self.report(exc.message)
            return None
        self.report(f"{name}: {outcome.outcome}" + (f" at step {outcome.failed_step}: {outcome.error}"
                                                    if outcome.error else ""))
        return outcome

    def seconds_to_next(self) -> float:
        """Until the next cron slot of any pipeline, at most the poll interval (event triggers are polled)."""
        now = self.clock.now()
        wait = self.poll_s
        for p in self._pipelines.values():
            if p.trigger.kind == "cron":
                wait = min(wait, (next_slot(p.trigger.value or "", now) - now).total_seconds())
        return max(0.0, wait)

    def run(self, *, until: datetime | None = None, should_stop: Callable[[], bool] = lambda: False) -> None:
        """Tick and sleep until `until` (clock time) or `should_stop()`."""
        while not should_stop():
            self.tick()
            if until is not None and self.clock.now() >= until:
                return
            wait = self.seconds_to_next()
            if until is not None:
                wait = min(wait, max(0.0, (until - self.clock.now()).total_seconds()))
            self.clock.sleep(wait if wait > 0 else 0.001)


def serve(ws: Workspace, clock: Clock, *, poll_s: float = 30.0, report: Report = lambda line: None,
          until: datetime | None = None, once: bool = False,
          should_stop: Callable[[], bool] = lambda: False) -> Scheduler:
    """Hold the workspace's scheduler lock and run the scheduler (refused at once if another holds it)."""
    from workbench.access.actions import require_role

    require_role(ws, "contributor", "Running the scheduler")
    load_pipelines(ws)  # a broken pipeline file is refused before the service starts
    path = lock_path(ws)
    with try_exclusive(ws, path) as held:
        if not held:
            raise SchedulerBusy(f"A scheduler is already running for {ws.root}{_holder(ws)}; this one did not start.")
        scheduler = Scheduler(ws, clock, poll_s=poll_s, report=report)
        scheduler.start()
        report(f"scheduler started for {ws.root} (pid {os.getpid()}; Ctrl-C stops it)")
        with AuditLog(ws.audit_path, ws.root) as log:
            log.record("scheduler.started", actor=ws.actor, subject=ws.settings.name,
                       params={"pid": os.getpid(), "poll_s": poll_s, "pipelines": sorted(scheduler.load())})
        try:
            if once:
                scheduler.tick()
            else:
                scheduler.run(until=until, should_stop=should_stop)
        finally:
            with AuditLog(ws.audit_path, ws.root) as log:
                log.record("scheduler.stopped", actor=ws.actor, subject=ws.settings.name,
                           params={"pid": os.getpid(), "runs": scheduler.runs_total})
            scheduler.stop()
        return scheduler


def _holder(ws: Workspace) -> str:
    """Who holds the lock, from the newest `scheduler.started` (never by opening the lock file: closing any
    descriptor of it would drop a lock this process holds)."""
    with AuditLog(ws.audit_path, ws.root) as log:
        row = log.conn.execute("SELECT actor, params FROM events WHERE kind = 'scheduler.started' "
                               "ORDER BY seq DESC LIMIT 1").fetchone()
    if row is None:
        return ""
    import json

    return f" (started by {row[0]}, pid {json.loads(row[1]).get('pid')})"


def schedule_overview(ws: Workspace, now: datetime) -> list[dict[str, Any]]:
    """Per pipeline: trigger, next cron slot, last run and its outcome (the CLI's list and the TUI's tab)."""
    from workbench.pipelines.history import pipeline_runs

    rows = []
    pipelines = load_pipelines(ws)
    with AuditLog(ws.audit_path, ws.root) as log:
        for p in pipelines.values():
            last = pipeline_runs(ws, p.name, limit=1, log=log)
            rows.append({"name": p.name, "trigger": p.trigger.describe(), "steps": len(p.steps),
                         "next_run": next_slot(p.trigger.value or "", now).isoformat()
                         if p.trigger.kind == "cron" else None,
                         "last_run": last[0].started_at if last else None,
                         "last_outcome": last[0].outcome if last else None,
                         "last_error": last[0].error if last else None})
    return rows
