"""Refresh a declared source: a new table version only when the content fingerprint changed, then its checks.

Every refresh is a `source.refreshed` event (changed or not), after the version's own `lake.ingest` event
when there is one. When the table has expectations, the new version is checked at once (`checks/run.py`):
`lake.checked`, and `lake.certified` if it passes. Pipelines call `refresh_source` as a step.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from workbench.checks.run import CheckOutcome
from workbench.workspace import Workspace


@dataclass(frozen=True)
class RefreshOutcome:
    source: str
    table: str
    changed: bool
    version: int | None  # the table's current version after the refresh
    checks: CheckOutcome | None  # None: unchanged, or the table has no expectations

    def as_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["checks"] = self.checks.as_dict() if self.checks else None
        return d


def refresh_source(ws: Workspace, name: str, *, now: datetime | None = None,
                   via: str | None = None) -> RefreshOutcome:
    """Look for new content at source `name`; ingest, audit and check it if there is any. `now`: the clock
    of the checks (freshness, alert throttle); `via`: who asked, e.g. `pipeline:NAME` (recorded)."""
    from workbench.access.actions import require_role
    from workbench.audit import AuditLog
    from workbench.checks.expectations import load_expectations
    from workbench.checks.run import check_table
    from workbench.lake.catalog import latest_version, table_exists
    from workbench.lake.certification import has_expectations
    from workbench.lake.engine import open_lake
    from workbench.lake.operations import ingest_if_changed
    from workbench.sources.declare import load_source
    from workbench.sources.readers import source_from_sql

    decl = load_source(ws, name)
    require_role(ws, "contributor", "Refreshing a source")
    load_expectations(ws, decl.table)  # malformed expectations stop the refresh before anything is written
    with open_lake(ws) as lake:
        from_sql, described, read_only = source_from_sql(ws, lake, decl)
        written = ingest_if_changed(lake, decl.table, from_sql, source=described, read_only_sql=read_only,
                                    params={"source_name": decl.name})
        current = written or (latest_version(lake, decl.table) if table_exists(lake, decl.table) else None)
    version = current.version if current else None
    with AuditLog(ws.audit_path, ws.root) as log:
        log.record("source.refreshed", actor=ws.actor, subject=decl.table, data_version=version,
                   fingerprint=current.fingerprint if current else None,
                   params={"source": decl.name, "table": decl.table, "version": version,
                           "changed": written is not None, "kind": decl.kind, **({"via": via} if via else {})})
    checks = None
    if written is not None and has_expectations(ws, decl.table):
        checks = check_table(ws, decl.table, written.version, now=now, trigger=f"source {decl.name}" + (f" via {via}" if via else ""))
    return RefreshOutcome(source=decl.name, table=decl.table, changed=written is not None, version=version,
                          checks=checks)
