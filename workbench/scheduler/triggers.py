"""When a pipeline is due. Catch-up rule for cron triggers: after downtime, the missed slots of a pipeline
collapse into one run, for the newest missed slot, if that slot is at most `catch_up_hours` old; otherwise
they are recorded as skipped (`pipeline.skipped`, with the count) and the pipeline waits for its next slot.
Never a burst. What was handled last is read from the audit log, so a restarted scheduler resumes there."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from workbench.audit import AuditLog
from workbench.pipelines.history import last_trigger_marks
from workbench.pipelines.spec import Pipeline

MAX_COUNTED_SLOTS = 10_000  # counting missed slots stops here (a per-minute cron down for a week)


@dataclass(frozen=True)
class Due:
    pipeline: Pipeline
    trigger: dict[str, Any]
    run: bool = True  # False: record the missed slots as skipped, do not run


def newest_slot(expression: str, now: datetime) -> datetime:
    """The newest slot at or before `now` (cronsim's reverse walk is exclusive of its start)."""
    from cronsim import CronSim

    start = now.replace(microsecond=0) + timedelta(seconds=1)
    return next(iter(CronSim(expression, start, reverse=True)))


def next_slot(expression: str, after: datetime) -> datetime:
    from cronsim import CronSim

    return next(iter(CronSim(expression, after)))


def _count_between(expression: str, after: datetime, until: datetime) -> int:
    """Slots in (after, until]."""
    from cronsim import CronSim

    count = 0
    for slot in CronSim(expression, after):
        if slot > until or count >= MAX_COUNTED_SLOTS:
            break
        count += 1
    return count


def cron_due(p: Pipeline, last_slot: datetime | None, baseline: datetime, now: datetime,
             on_time_s: float) -> Due | None:
    expression = p.trigger.value or ""
    slot = newest_slot(expression, now)
    anchor = last_slot or baseline
    if slot <= anchor:
        return None
    slots = _count_between(expression, anchor, slot)
    trigger = {"kind": "cron", "cron": expression, "slot": slot.isoformat(), "missed": max(0, slots - 1)}
    late = (now - slot).total_seconds()
    if late <= max(on_time_s, p.trigger.catch_up_hours * 3600):
        return Due(p, trigger)
    return Due(p, {**trigger, "missed": slots, "reason": f"newest missed slot is more than "
                                                          f"{p.trigger.catch_up_hours:g} h old"}, run=False)


def _newest_event(log: AuditLog, kind: str, after_seq: int, subject: str | None = None,
                  outcome: str | None = None, table: str | None = None) -> tuple[int, dict[str, Any]] | None:
    sql = "SELECT seq, params FROM events WHERE kind = ? AND seq > ?"
    args: list[Any] = [kind, after_seq]
    if subject is not None:
        sql, args = sql + " AND subject = ?", [*args, subject]
    if outcome is not None:
        sql, args = sql + " AND outcome = ?", [*args, outcome]
    for seq, params in log.conn.execute(sql + " ORDER BY seq DESC LIMIT 500", args):
        p = json.loads(params)
        if table is None or p.get("table") == table:
            return int(seq), p
    return None


def event_due(log: AuditLog, p: Pipeline, last_seq: int | None, baseline_seq: int,
              finished_seq: int | None = None) -> Due | None:
    """A `certified` trigger fires on the newest `lake.certified` of its table; an `after` trigger on the
    newest successful `pipeline.finished` of its upstream. Several since the last run are one run. Events
    written while the pipeline itself ran (its own check step certifying its table) do not fire it again."""
    after = max(baseline_seq if last_seq is None else last_seq, finished_seq or 0)
    if p.trigger.kind == "certified":
        found = _newest_event(log, "lake.certified", after, table=p.trigger.value)
        if found:
            return Due(p, {"kind": "certified", "seq": found[0], "table": p.trigger.value,
                           "version": found[1].get("version")})
    elif p.trigger.kind == "after":
        found = _newest_event(log, "pipeline.finished", after, subject=p.trigger.value, outcome="succeeded")
        if found:
            return Due(p, {"kind": "after", "seq": found[0], "pipeline": p.trigger.value,
                           "upstream_run": found[1].get("run")})
    return None


def find_due(log: AuditLog, pipelines: dict[str, Pipeline], now: datetime, baseline: datetime,
             baseline_seq: int, on_time_s: float) -> list[Due]:
    due = []
    for p in pipelines.values():
        if p.trigger.kind == "manual":
            continue
        marks = last_trigger_marks(log, p.name)
        if p.trigger.kind == "cron":
            last = datetime.fromisoformat(marks["slot"]) if marks["slot"] else None
            found = cron_due(p, last, baseline, now, on_time_s)
        else:
            found = event_due(log, p, marks["trigger_seq"], baseline_seq, marks["finished_seq"])
        if found:
            due.append(found)
    return due
