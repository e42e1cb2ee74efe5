"""Facts for governance: when a table was last refreshed and certified, read from the audit log alone."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from workbench.lake.certification import (
    CERTIFIED,
    CHECKED,
    version_events,
    version_state,
)
from workbench.workspace import Workspace

REFRESHED = "source.refreshed"


@dataclass(frozen=True)
class TableStatus:
    table: str
    version: int | None  # the current version
    state: str  # of the current version: certified, failed, allowed, unchecked, no expectations
    last_refresh: str | None = None  # when a source last looked for new data (changed or not)
    last_refresh_changed: bool | None = None
    last_certified: str | None = None  # when any version was last certified
    last_certified_version: int | None = None
    last_check_result: str | None = None  # "passed" or "failed: <first failure>"
    last_checked_version: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def table_status(ws: Workspace, table: str, version: int | None = None) -> TableStatus:
    """The table's check status; `version` is its current version (looked up in the lake if None)."""
    if version is None:
        from workbench.lake.catalog import latest_version
        from workbench.lake.engine import open_lake

        with open_lake(ws, read_only=True) as lake:
            latest = latest_version(lake, table)
        version = latest.version if latest else None
    events = version_events(ws, table, kinds=(CHECKED, CERTIFIED, REFRESHED))
    refresh = next((e for e in events if e["kind"] == REFRESHED), None)
    certified = next((e for e in events if e["kind"] == CERTIFIED), None)
    checked = next((e for e in events if e["kind"] == CHECKED), None)
    result = None
    if checked is not None:
        failures = checked["params"].get("failures") or []
        result = "passed" if checked["params"].get("passed") else "failed: " + (failures[0] if failures else "?")
    return TableStatus(
        table=table, version=version, state=version_state(ws, table, version).state,
        last_refresh=refresh["ts"] if refresh else None,
        last_refresh_changed=refresh["params"].get("changed") if refresh else None,
        last_certified=certified["ts"] if certified else None,
        last_certified_version=certified["version"] if certified else None,
        last_check_result=result, last_checked_version=checked["version"] if checked else None)


def table_statuses(ws: Workspace, tables: list[tuple[str, int | None]]) -> list[TableStatus]:
    return [table_status(ws, t, v) for t, v in tables]
