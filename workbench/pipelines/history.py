"""Pipeline runs as the audit log records them: `pipeline.started`, `pipeline.step_finished`/`step_failed`,
`pipeline.finished` (and `pipeline.skipped` for missed cron slots). No other table: the log is the history."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from workbench.audit import AuditLog
from workbench.workspace import Workspace

KINDS = ("pipeline.started", "pipeline.finished", "pipeline.skipped")


@dataclass
class PipelineRun:
    run: str
    pipeline: str
    started_at: str
    trigger: dict[str, Any]
    actor: str
    started_seq: int
    pid: int | None = None
    host: str | None = None
    outcome: str = "running"  # running | succeeded | failed | interrupted
    finished_at: str | None = None
    error: str | None = None
    failed_step: int | None = None
    steps: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _rows(log: AuditLog, kinds: tuple[str, ...], pipeline: str | None, limit: int,
          after_seq: int = 0) -> list[tuple[Any, ...]]:
    marks = ", ".join("?" * len(kinds))
    sql = (f"SELECT seq, ts, kind, subject, actor, outcome, params FROM events WHERE kind IN ({marks}) AND seq > ?"
           + (" AND subject = ?" if pipeline else "") + " ORDER BY seq DESC LIMIT ?")
    return log.conn.execute(sql, [*kinds, after_seq, *([pipeline] if pipeline else []), limit]).fetchall()


def pipeline_runs(ws: Workspace, pipeline: str | None = None, limit: int = 50, *,
                  with_steps: bool = False, log: AuditLog | None = None) -> list[PipelineRun]:
    """The newest `limit` runs (of one pipeline, or all), newest first, each with its outcome."""
    if log is None:
        with AuditLog(ws.audit_path, ws.root) as opened:
            return pipeline_runs(ws, pipeline, limit, with_steps=with_steps, log=opened)
    runs: dict[str, PipelineRun] = {}
    for seq, ts, _kind, subject, actor, _outcome, params in _rows(log, ("pipeline.started",), pipeline, limit):
        p = json.loads(params)
        runs[p["run"]] = PipelineRun(run=p["run"], pipeline=subject, started_at=ts, trigger=p.get("trigger") or {},
                                     actor=actor, started_seq=seq, pid=p.get("pid"), host=p.get("host"))
    if not runs:
        return []
    oldest = min(r.started_seq for r in runs.values())
    kinds = ("pipeline.finished", "pipeline.step_finished", "pipeline.step_failed") if with_steps \
        else ("pipeline.finished",)
    for _seq, ts, kind, _subject, _actor, outcome, params in reversed(
            _rows(log, kinds, pipeline, 1_000_000, after_seq=oldest - 1)):
        p = json.loads(params)
        run = runs.get(p.get("run"))
        if run is None:
            continue
        if kind == "pipeline.finished":
            run.outcome, run.finished_at = outcome, ts
            run.error, run.failed_step = p.get("error"), p.get("failed_step")
        else:
            run.steps.append({"index": p.get("index"), "kind": p.get("step_kind"), "outcome": outcome,
                              "result": p.get("result"), "error": p.get("error"), "at": ts})
    return sorted(runs.values(), key=lambda r: r.started_seq, reverse=True)


def last_trigger_marks(log: AuditLog, pipeline: str) -> dict[str, Any]:
    """What the scheduler last handled for `pipeline`: the newest cron `slot` (run or skipped) and the newest
    triggering event's seq (`trigger_seq`: a `lake.certified` or an upstream `pipeline.finished`), and the seq of
    its own newest `pipeline.finished`."""
    marks: dict[str, Any] = {"slot": None, "trigger_seq": None, "finished_seq": None}
    finished = _rows(log, ("pipeline.finished",), pipeline, 1)
    if finished:
        marks["finished_seq"] = int(finished[0][0])
    for _seq, _ts, _kind, _subject, _actor, _outcome, params in _rows(
            log, ("pipeline.started", "pipeline.skipped"), pipeline, 200):
        trigger = json.loads(params).get("trigger") or {}
        if marks["slot"] is None and trigger.get("slot"):
            marks["slot"] = trigger["slot"]
        if marks["trigger_seq"] is None and trigger.get("seq") is not None:
            marks["trigger_seq"] = int(trigger["seq"])
        if marks["slot"] is not None and marks["trigger_seq"] is not None:
            break
    return marks
