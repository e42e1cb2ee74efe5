"""The runs table: one summary row per run, kept beside the events in `audit.sqlite`.

Why here and not in `audit/`: the audit log is the bottom layer and knows only events. A run's row is
derived from its lifecycle events (queued → running → succeeded/failed/cancelled/interrupted) and is
written in the same transaction as each of them, carrying that event's `seq` and `hash`
(`event_seq`, `event_hash`). Code that relies on a run (registering it, loading its model,
reproducing it) reads it through `trusted_run`, which checks the row against the newest lifecycle
event in the chain; `check_runs` does the same for every row for `workbench audit verify`. Live
progress, pids and cancel requests are bookkeeping, not evidence, and are not bound.
"""

from __future__ import annotations

import json
from typing import Any, Iterable, Mapping

from workbench.audit.findings import Finding
from workbench.audit.log import AuditLog, EventRef
from workbench.audit.redact import redact_text
from workbench.errors import IntegrityError

TERMINAL_STATES = ("succeeded", "failed", "cancelled", "interrupted")
ACTIVE_STATES = ("queued", "running")
# The event kinds that move a run, and the state each leaves it in.
LIFECYCLE = {"run.queued": "queued", "run.started": "running", "run.finished": "succeeded",
             "run.failed": "failed", "run.cancelled": "cancelled", "run.interrupted": "interrupted"}
_LIFECYCLE_KINDS = tuple(LIFECYCLE)
_KIND_PLACEHOLDERS = ", ".join("?" * len(_LIFECYCLE_KINDS))

_RUN_COLUMNS = {
    "run_id": str, "name": str, "state": str, "actor": str, "spec_path": str, "spec": str,
    "task": str, "metric": str, "data_source": str, "data_version": int, "fingerprint": str,
    "row_count": int, "queued_at": str, "started_at": str, "finished_at": str, "best_model": str,
    "best_score": float, "artifact_path": str, "artifact_sha256": str, "leaderboard": str,
    "error": str, "backend": str, "pid": int, "host": str,
    # live progress (JSON), the worker's process start time (tells a reused pid from ours), who asked
    # for a cancel and when, the run this one reproduces, the worker's log file
    "progress": str, "proc_start": str, "cancel_requested_at": str, "cancel_requested_by": str,
    "reproduces": str, "worker_log": str,
    # the lifecycle event this row was last derived from
    "event_seq": int, "event_hash": str,
}
_BINDING = ("event_seq", "event_hash")
_REDACTED_RUN_FIELDS = ("spec", "error", "spec_path", "data_source")


class RunRecords:
    """The runs table of one open `AuditLog`, sharing its connection and transactions."""

    def __init__(self, log: AuditLog) -> None:
        self.log = log
        if not getattr(log, "_runs_table_ready", False):
            self._ensure_table()
            log._runs_table_ready = True  # type: ignore[attr-defined]

    @property
    def conn(self) -> Any:
        return self.log.conn

    def _ensure_table(self) -> None:
        existing = {r[1] for r in self.conn.execute("PRAGMA table_info(runs)")}
        if set(_RUN_COLUMNS) <= existing:
            return
        with self.log.transaction():
            existing = {r[1] for r in self.conn.execute("PRAGMA table_info(runs)")}  # re-check under the lock
            if not existing:
                self.log.db["runs"].create(_RUN_COLUMNS, pk="run_id", if_not_exists=True)
                self.log.db["runs"].create_index(["started_at"], if_not_exists=True)
                self.log.db["runs"].create_index(["state"], if_not_exists=True)
                return
            for name, typ in _RUN_COLUMNS.items():
                if name not in existing:
                    self.log.db["runs"].add_column(name, typ)
            if not set(_BINDING) <= existing:
                self._bind_existing_rows()

    def _bind_existing_rows(self) -> None:
        """Rows written before runs were bound: bind each to its newest lifecycle event when they agree.
        A row that disagrees stays unbound, and `check_runs` reports it."""
        latest = _latest_lifecycle(self.conn)
        for run_id, state in self.conn.execute("SELECT run_id, state FROM runs").fetchall():
            seq = latest.get(run_id)
            if seq is None:
                continue
            kind, h = self.conn.execute("SELECT kind, hash FROM events WHERE seq = ?", [seq]).fetchone()
            if LIFECYCLE.get(kind) == state:
                self.conn.execute("UPDATE runs SET event_seq = ?, event_hash = ? WHERE run_id = ?", [seq, h, run_id])

    def _run_row(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        row = {k: v for k, v in fields.items() if k in _RUN_COLUMNS and k not in _BINDING}
        for key in _REDACTED_RUN_FIELDS:
            if isinstance(row.get(key), str):
                row[key] = redact_text(row[key], self.log._secrets)
        return row

    def _values_for(self, run_id: str, state: str | None, event: Mapping[str, Any]) -> list[Any]:
        e = dict(event)
        return self.log.event_values(e["kind"], e["actor"], e.get("subject"), run_id, e.get("params"),
                                     e.get("outcome", state or "ok"), e.get("data_version"), e.get("fingerprint"))

    def upsert_run(self, run_id: str, *, event: Mapping[str, Any] | None = None, **fields: Any) -> None:
        """Insert or update a run's summary row, and append `event` (`record`'s arguments) in the same transaction."""
        row = {"run_id": run_id, **self._run_row(fields)}
        values = None if event is None else self._values_for(run_id, fields.get("state"), event)
        with self.log.transaction() as conn:
            if values is not None:
                ref = self.log.append(conn, [values])
                row.update(event_seq=ref.seq, event_hash=ref.hash)
            self.log.db["runs"].upsert(row, pk="run_id", alter=False)

    def transition_run(self, run_id: str, state: str, *, from_states: Iterable[str],
                       event: Mapping[str, Any] | None = None, **fields: Any) -> bool:
        """Move a run to `state` only if it is in one of `from_states`, recording `event` (`record`'s
        arguments) in the same transaction. False (nothing written) if another process got there first."""
        from_states = tuple(from_states)
        row = self._run_row(fields)
        values = None if event is None else self._values_for(run_id, state, event)
        with self.log.transaction() as conn:
            current = conn.execute("SELECT state FROM runs WHERE run_id = ?", [run_id]).fetchone()
            if current is None or current[0] not in from_states:
                return False
            if values is not None:
                ref: EventRef = self.log.append(conn, [values])
                row.update(event_seq=ref.seq, event_hash=ref.hash)
            sets = ", ".join(f"{k} = ?" for k in ("state", *row))
            conn.execute(f"UPDATE runs SET {sets} WHERE run_id = ?", [state, *row.values(), run_id])
        return True

    def set_run_fields(self, run_id: str, **fields: Any) -> None:
        """Update bookkeeping fields (progress, pid…) of an existing run; never its state or evidence."""
        row = self._run_row(fields)
        row.pop("state", None)
        if not row:
            return
        with self.log.transaction() as conn:
            conn.execute(f"UPDATE runs SET {', '.join(f'{k} = ?' for k in row)} WHERE run_id = ?", [*row.values(), run_id])

    def get_run(self, run_id: str) -> dict[str, Any] | None:
        """A run by id or unique id prefix, as stored (for display; `trusted_run` for decisions)."""
        rows = list(self.log.db.query("SELECT * FROM runs WHERE run_id = ? OR run_id LIKE ? ORDER BY run_id",
                                      [run_id, run_id + "%"]))
        exact = [r for r in rows if r["run_id"] == run_id]
        if exact:
            return exact[0]
        return rows[0] if len(rows) == 1 else None

    def list_runs(self, limit: int = 100, before: str | None = None,
                  states: Iterable[str] | None = None) -> list[dict[str, Any]]:
        """Newest first, keyset-paginated on run_id (which starts with the UTC time it was created)."""
        where, args = [], []
        if before:
            where.append("run_id < ?")
            args.append(before)
        if states is not None:
            states = tuple(states)
            where.append(f"state IN ({', '.join('?' * len(states))})")
            args.extend(states)
        sql = "SELECT * FROM runs" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY run_id DESC LIMIT ?"
        return list(self.log.db.query(sql, [*args, limit]))

    def trusted_run(self, run_id: str) -> dict[str, Any] | None:
        """The run as its chained events say it is: the row, checked against its newest lifecycle event,
        with `events` (the run's chained lifecycle params by kind) added. IntegrityError if they disagree."""
        row = self.get_run(run_id)
        if row is None:
            return None
        latest = self.conn.execute(
            f"SELECT max(seq) FROM events WHERE run_id = ? AND kind IN ({_KIND_PLACEHOLDERS})",
            [row["run_id"], *_LIFECYCLE_KINDS]).fetchone()[0]
        problem = _row_problem(self.log, row, latest)
        if problem:
            raise IntegrityError(f"The runs row of {row['run_id']} disagrees with the audit log ({problem}); "
                                 "it is not used. Run `workbench audit verify` for details.")
        row = dict(row)
        row["events"] = {}
        for (seq,) in self.conn.execute(
                f"SELECT seq FROM events WHERE run_id = ? AND kind IN ({_KIND_PLACEHOLDERS}) ORDER BY seq",
                [row["run_id"], *_LIFECYCLE_KINDS]):
            event = self.log.chained_event(seq)
            if event is None:
                raise IntegrityError(f"Event #{seq} of run {row['run_id']} was edited; the run is not used.")
            row["events"][event.kind] = event
        return row


def _latest_lifecycle(conn: Any) -> dict[str, int]:
    return dict(conn.execute(f"SELECT run_id, max(seq) FROM events WHERE kind IN ({_KIND_PLACEHOLDERS}) "
                             "AND run_id IS NOT NULL GROUP BY run_id", _LIFECYCLE_KINDS).fetchall())


def _row_problem(log: AuditLog, row: Mapping[str, Any], latest_seq: int | None) -> str | None:
    """Why a runs row is not what its newest lifecycle event says, or None when they agree."""
    if latest_seq is None:
        return "no run event in the audit log made it"
    if row.get("event_seq") != latest_seq:
        return f"it is not bound to the run's newest event #{latest_seq}"
    event = log.chained_event(latest_seq)
    if event is None or event.hash != row.get("event_hash"):
        return f"event #{latest_seq} does not match the hash the row carries"
    if LIFECYCLE[event.kind] != row.get("state"):
        return f"state {row.get('state')!r}, but event #{latest_seq} ({event.kind}) says {LIFECYCLE[event.kind]!r}"
    if event.kind == "run.finished":
        for column, key in (("artifact_path", "artifact"), ("artifact_sha256", "artifact_sha256"),
                            ("best_model", "best_model")):
            if row.get(column) != event.params.get(key):
                return f"{column} {row.get(column)!r}, but event #{latest_seq} recorded {event.params.get(key)!r}"
    elif row.get("artifact_path") or row.get("artifact_sha256"):
        return f"an artifact, but event #{latest_seq} ({event.kind}) recorded none"
    for column in ("data_version", "fingerprint"):
        chained = getattr(event, column)
        if chained is not None and row.get(column) != chained:
            return f"{column} {row.get(column)!r}, but event #{latest_seq} recorded {chained!r}"
    return None


def check_runs(log: AuditLog) -> list[Finding]:
    """Every runs row against the chain, and every run the chain knows against the table (both ways)."""
    RunRecords(log)
    latest = _latest_lifecycle(log.conn)
    findings = []
    seen = set()
    cur = log.conn.execute("SELECT * FROM runs")
    names = [d[0] for d in cur.description]
    for values in cur:
        row = dict(zip(names, values))
        seen.add(row["run_id"])
        problem = _row_problem(log, row, latest.get(row["run_id"]))
        if problem:
            findings.append(Finding("runs", "runs", row["run_id"], f"runs row {row['run_id']}: {problem}."))
    for run_id in sorted(set(latest) - seen):
        findings.append(Finding("runs", "runs", run_id,
                                f"run {run_id} has events in the chain but no runs row (deleted)."))
    return findings


def spec_of(run: Mapping[str, Any]) -> dict[str, Any]:
    """The spec a trusted run ran with, from its chained queued/started event (the row's copy is display)."""
    events = run.get("events") or {}
    for kind in ("run.started", "run.queued"):
        if kind in events and isinstance(events[kind].params.get("spec"), dict):
            return events[kind].params["spec"]
    return json.loads(run["spec"]) if run.get("spec") else {}
