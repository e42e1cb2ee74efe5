"""Whether a table version may be used: read from the `lake.checked` / `lake.certified` audit events.

It sits in the lake layer because the run engine (below the checks package) must refuse uncertified data
before a run is recorded. The checks themselves live in `workbench/checks/`; this module only reads their
events and knows where a table's expectations are declared (`expectations/TABLE.toml` in the workspace).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.errors import LakeError
from workbench.workspace import Workspace

EXPECTATIONS_DIR = "expectations"
CHECKED, CERTIFIED, ALLOWED = "lake.checked", "lake.certified", "lake.uncertified_allowed"


@dataclass(frozen=True)
class VersionState:
    """What the log says about one table version: `state` is certified, failed, allowed, unchecked or
    `no expectations` (a table nobody declared checks for is usable as before)."""

    table: str
    version: int | None
    state: str
    checked_at: str | None = None
    checked_by: str | None = None
    failures: tuple[str, ...] = ()

    @property
    def usable(self) -> bool:
        return self.state in ("certified", "allowed", "no expectations")


def expectations_path(ws: Workspace, table: str) -> Path:
    return ws.root / EXPECTATIONS_DIR / f"{table}.toml"


def has_expectations(ws: Workspace, table: str) -> bool:
    return expectations_path(ws, table).is_file()


def version_events(ws: Workspace, table: str, version: int | None = None,
                   kinds: tuple[str, ...] = (CHECKED, CERTIFIED, ALLOWED)) -> list[dict[str, Any]]:
    """The check events of `table` (of one version if given), newest first; an absent log has none."""
    from workbench.audit import AuditLog

    if not ws.audit_path.exists():
        return []
    marks = ", ".join("?" * len(kinds))
    sql = (f"SELECT seq, ts, actor, kind, data_version, params FROM events WHERE kind IN ({marks}) AND subject = ?"
           + (" AND data_version = ?" if version is not None else "") + " ORDER BY seq DESC")
    args: list[Any] = [*kinds, table] + ([version] if version is not None else [])
    with AuditLog(ws.audit_path, ws.root) as log:
        rows = log.conn.execute(sql, args).fetchall()
    return [{"seq": s, "ts": ts, "actor": a, "kind": k, "version": v, "params": json.loads(p) if p else {}}
            for s, ts, a, k, v, p in rows]


def version_state(ws: Workspace, table: str, version: int | None,
                  events: list[dict[str, Any]] | None = None) -> VersionState:
    """The newest verdict on `table@version`: a later check overrides an earlier one; an explicit,
    audited allowance makes a failed or unchecked version usable. `events`: that version's, newest first."""
    if version is None:
        return VersionState(table, None, "unchecked" if has_expectations(ws, table) else "no expectations")
    events = version_events(ws, table, version) if events is None else events
    allowed = next((e for e in events if e["kind"] == ALLOWED), None)
    checked = next((e for e in events if e["kind"] == CHECKED), None)
    certified = next((e for e in events if e["kind"] == CERTIFIED), None)
    if checked is not None and not checked["params"].get("passed"):
        newer_allowance = allowed is not None and allowed["seq"] > checked["seq"]
        state = "allowed" if newer_allowance else "failed"
        return VersionState(table, version, state, checked["ts"], checked["actor"],
                            tuple(checked["params"].get("failures") or ()))
    if certified is not None:
        return VersionState(table, version, "certified", certified["ts"], certified["actor"])
    if allowed is not None:
        return VersionState(table, version, "allowed", allowed["ts"], allowed["actor"])
    if not has_expectations(ws, table):
        return VersionState(table, version, "no expectations")
    return VersionState(table, version, "unchecked")


def version_states(ws: Workspace, pairs: list[tuple[str, int | None]]) -> dict[str, VersionState]:
    """`version_state` of many tables' versions from one read of the log (the Lake tab's catalog)."""
    from workbench.audit import AuditLog

    by_key: dict[tuple[str, int], list[dict[str, Any]]] = {}
    if ws.audit_path.exists() and pairs:
        with AuditLog(ws.audit_path, ws.root) as log:
            rows = log.conn.execute(
                "SELECT seq, ts, actor, kind, subject, data_version, params FROM events WHERE kind IN (?, ?, ?) "
                "ORDER BY seq DESC", [CHECKED, CERTIFIED, ALLOWED]).fetchall()
        wanted = {(t, v) for t, v in pairs}
        for seq, ts, actor, kind, subject, version, params in rows:
            if (subject, version) in wanted:
                by_key.setdefault((subject, version), []).append(
                    {"seq": seq, "ts": ts, "actor": actor, "kind": kind, "version": version,
                     "params": json.loads(params) if params else {}})
    return {t: version_state(ws, t, v, by_key.get((t, v), []) if v is not None else None) for t, v in pairs}


def refuse_unusable(ws: Workspace, reads: list[tuple[str, int | None]]) -> None:
    """Raise one sentence when a run would train on a table version that failed its checks or has
    expectations but was never checked; `workbench batch --allow-uncertified` records an allowance."""
    for table, version in reads:
        state = version_state(ws, table, version)
        if state.usable:
            continue
        if state.state == "failed":
            why = state.failures[0].rstrip(".") if state.failures else "see `workbench lake check`"
            raise LakeError(f"{table} version {version} failed its checks ({why}); fix the data, or pass "
                            "--allow-uncertified to train on it anyway (audited).")
        raise LakeError(f"{table} version {version} has expectations but was never checked; run "
                        f"`workbench lake check {table}` first, or pass --allow-uncertified (audited).")


def allow_uncertified(ws: Workspace, table: str, version: int, reason: str) -> None:
    """Record that `table@version` may be used for training although it is not certified (contributor)."""
    from workbench.access.actions import require_role
    from workbench.audit import AuditLog

    if not reason.strip():
        raise LakeError("Say why uncertified data may be used: --allow-uncertified REASON.")
    require_role(ws, "contributor", "Allowing uncertified data")
    with AuditLog(ws.audit_path, ws.root) as log:
        log.record(ALLOWED, actor=ws.actor, subject=table, data_version=version,
                   params={"table": table, "version": version, "reason": reason})


def tables_read(lake: Any, table: str | None, version: int | None, query: str | None) -> list[tuple[str, int | None]]:
    """(table, version) pairs a spec's data reads: its table, or the lake tables its query names (current)."""
    from workbench.lake.catalog import latest_version, list_tables, resolve_version

    if table is not None:
        if "." in table:
            return []  # an attached source: no versions, no expectations
        found = resolve_version(lake, table, version)
        return [(table, found.version)] if found else []  # no such table: loading it says so
    if query is None:
        return []
    try:
        named = {n.split(".")[-1] for n in lake.cursor().get_table_names(query)}
    except Exception:  # noqa: BLE001 - an unparsable query fails later with its own message
        return []
    known = {t.name for t in list_tables(lake)}
    out = []
    for name in sorted(named & known):
        latest = latest_version(lake, name)
        out.append((name, latest.version if latest else None))
    return out


__all__ = [
    "LakeError",
    "VersionState",
    "allow_uncertified",
    "expectations_path",
    "has_expectations",
    "refuse_unusable",
    "tables_read",
    "version_state",
]
