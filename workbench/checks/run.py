"""Check one table version against its expectations, in DuckDB, and record the verdict.

Every check is a `lake.checked` event (passed or not, with one sentence per failure); a version that passes
is also `lake.certified`, naming the expectations' SHA-256, in the same transaction: the certifier is the
acting OS identity, as for every event. Runs refuse versions that failed or were never checked
(`lake/certification.py`); pipelines trigger on `lake.certified`. A version that fails also alerts
(`check:TABLE`, when `[alerts]` is configured), whoever ran the check: a refresh, `lake check`, a pipeline.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from workbench.checks.expectations import (
    Expectations,
    ExpectationsError,
    load_expectations,
)
from workbench.errors import ExitCode, WorkbenchError
from workbench.lake.certification import CERTIFIED, CHECKED, expectations_path
from workbench.workspace import Workspace


@dataclass(frozen=True)
class CheckOutcome:
    table: str
    version: int | None
    passed: bool
    certified: bool
    failures: list[str] = field(default_factory=list)  # one sentence each
    notes: list[str] = field(default_factory=list)  # what could not be judged, and why
    expectations_sha: str | None = None
    rows: int | None = None
    psi: dict[str, float | None] = field(default_factory=dict)
    alert: str | None = None  # a failure's alert: sent, failed, throttled, unconfigured or "not sent: why"

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _unknown_columns(exp: Expectations, columns: set[str]) -> None:
    """A rule on a column the table never had is a typo in the expectations, not a data failure."""
    missing = sorted(c for c in exp.named_columns() - columns if c not in exp.schema)
    if missing:
        raise ExpectationsError(f"{exp.path} names column {missing[0]!r}, which {exp.table} does not have "
                                f"(columns: {', '.join(sorted(columns))}); declare it under [schema] if it "
                                "may go missing.")


def evaluate(ws: Workspace, lake: Any, exp: Expectations, version: int | None,
             now: datetime) -> CheckOutcome:
    """Run every expectation on `exp.table`@`version` through one read-only lake handle; records nothing."""
    import duckdb

    from workbench.checks.drift import drift_failures
    from workbench.checks.sql import build_plan, integer_spans, run_plan, schema_failures, unique_integer_columns
    from workbench.lake.catalog import resolve_version, table_ref

    found = resolve_version(lake, exp.table, version)
    ref = table_ref(lake, exp.table, found.version if found else None)
    cur = lake.cursor()
    types = {r[0]: r[1] for r in cur.execute(f"DESCRIBE SELECT * FROM {ref}").fetchall()}
    _unknown_columns(exp, set(types))
    failures = schema_failures(exp, types)
    try:
        spans = integer_spans(cur, unique_integer_columns(exp, types), ref)
        rows, row_failures = run_plan(cur, build_plan(exp, set(types), now, spans), ref)
    except duckdb.Error as exc:
        first = str(exc).strip().splitlines()[0]
        raise ExpectationsError(f"{exp.path} cannot be checked on {exp.table}: {first}") from None
    failures += row_failures
    notes: list[str] = []
    psi: dict[str, float | None] = {}
    if exp.drift_model:
        drifted, notes, psi = drift_failures(ws, exp, cur, ref, set(types))
        failures += drifted
    return CheckOutcome(table=exp.table, version=found.version if found else None, passed=not failures,
                        certified=not failures, failures=failures, notes=notes, expectations_sha=exp.sha256,
                        rows=rows, psi=psi)


def check_table(ws: Workspace, table: str, version: int | None = None, *, now: datetime | None = None,
                trigger: str = "manual") -> CheckOutcome:
    """Check `table` (its current version, or `version`) against `expectations/TABLE.toml`; records
    `lake.checked`, and `lake.certified` when it passes. Bad expectations or an unknown table write nothing."""
    from workbench.access.actions import require_role
    from workbench.audit import AuditLog
    from workbench.lake.catalog import resolve_version
    from workbench.lake.engine import open_lake
    from workbench.lake.names import check_table_name

    require_role(ws, "contributor", "Certifying a table version")
    now = now or datetime.now(UTC)  # one clock for freshness and the alert's throttle (a pipeline passes its own)
    with open_lake(ws, read_only=True) as lake:
        from workbench.lake.catalog import require_table

        require_table(lake, check_table_name(table))
        exp = load_expectations(ws, table)
        if exp is None:
            raise ExpectationsError(f"Table {table!r} has no expectations; write them in "
                                    f"{expectations_path(ws, table)} first.")
        outcome = evaluate(ws, lake, exp, version, now)
        found = resolve_version(lake, table, outcome.version)
    events: list[dict[str, Any]] = [{
        "kind": CHECKED, "actor": ws.actor, "subject": table, "data_version": outcome.version,
        "fingerprint": found.fingerprint if found else None, "outcome": "ok" if outcome.passed else "failed",
        "params": {"table": table, "version": outcome.version, "passed": outcome.passed,
                   "failures": outcome.failures, "notes": outcome.notes, "rows": outcome.rows,
                   "expectations_sha": outcome.expectations_sha, "psi": outcome.psi, "trigger": trigger}}]
    if outcome.passed:
        events.append({"kind": CERTIFIED, "actor": ws.actor, "subject": table, "data_version": outcome.version,
                       "fingerprint": found.fingerprint if found else None,
                       "params": {"table": table, "version": outcome.version,
                                  "expectations_sha": outcome.expectations_sha,
                                  "expectations": str(exp.path.relative_to(ws.root)), "trigger": trigger}})
    with AuditLog(ws.audit_path, ws.root) as log:
        log.record_many(events)
    if not outcome.passed:
        outcome = replace(outcome, alert=_alert_failed(ws, outcome, now, trigger))
    return outcome


def _alert_failed(ws: Workspace, outcome: CheckOutcome, now: datetime, trigger: str) -> str:
    """Tell someone a version failed (`check:TABLE`); best-effort: the verdict is recorded already, and an
    alert that cannot be sent (or a malformed `[alerts]` section) never changes it or the exit code."""
    from workbench.alerts.config import load_alert_settings
    from workbench.alerts.notify import notify

    try:
        settings = load_alert_settings(ws)
        if not settings.configured:
            return "unconfigured"
        shown = "; ".join(outcome.failures[:3])
        return notify(ws, f"check:{outcome.table}",
                      f"{outcome.table} version {outcome.version} failed its checks: {shown}",
                      {"table": outcome.table, "version": outcome.version, "failures": outcome.failures[:20],
                       "trigger": trigger, "expectations_sha": outcome.expectations_sha},
                      now=now, settings=settings).status
    except Exception as exc:  # noqa: BLE001 - an alert never decides a check's result
        return f"not sent: {exc.message if isinstance(exc, WorkbenchError) else type(exc).__name__}"


class ChecksFailedError(WorkbenchError):
    """A table version failed its checks: exit 1, as a failed run, so CI and pipelines stop."""

    title = "Checks failed"
    exit_code = ExitCode.RUN_FAILED
