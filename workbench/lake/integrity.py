"""The lake against the audit log, both ways, for `workbench audit verify`.

Every DuckLake snapshot that made a table version carries Workbench's commit metadata
(`{"workbench": 1, "tables": [...]}`); each such version must have an audit event with the same table,
version and fingerprint. Every lake write event must still have its version in the lake, unless a later
`lake.prune` event pruned it or a `lake.write_failed` event says its write never committed. A snapshot that
changed data with no Workbench metadata was made behind Workbench's back. Both sides are read straight from
SQLite, read-only (the catalog has a few hundred snapshots; the log's lake events come from its `kind` index).
"""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from workbench.audit.findings import Finding
from workbench.workspace import Workspace

# Events that record a new table version: (kind, how to find the table it wrote).
_WRITE_KINDS = {"lake.ingest": "subject", "lake.sql_write": "subject", "lake.write": "subject",
                "model.predicted": "into"}
# A snapshot whose changes are only these made no data (the schema created with the lake).
_SCHEMA_ONLY = ("created_schema",)
_CHANGE = re.compile(r'(\w+):("(?:[^"]|"")*"(?:\."(?:[^"]|"")*")?|\d+)')


@dataclass(frozen=True)
class _Version:
    table: str
    version: int
    fingerprint: str | None


def _read_only(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)


def _json(text: Any) -> Any:
    try:
        return json.loads(text) if text else None
    except (TypeError, ValueError):
        return None


def _snapshots(catalog: Path) -> Iterator[tuple[int, str, Any, dict[int, str]]]:
    """(snapshot id, its change list, its parsed extra_info, table names by id) for every snapshot."""
    con = _read_only(catalog)
    try:
        names = {int(i): n for i, n in con.execute("SELECT table_id, table_name FROM ducklake_table")}
        rows = con.execute("SELECT snapshot_id, changes_made, commit_extra_info FROM ducklake_snapshot_changes "
                           "ORDER BY snapshot_id").fetchall()
    finally:
        con.close()
    for snapshot_id, changes, extra in rows:
        yield int(snapshot_id), changes or "", _json(extra), names


def _changed_table(changes: str, names: dict[int, str]) -> str:
    """The first table a change list names, as people read it."""
    for kind, target in _CHANGE.findall(changes):
        if kind in _SCHEMA_ONLY:
            continue
        if target.isdigit():
            return names.get(int(target), f"#{target}")
        return target.split(".")[-1].strip('"').replace('""', '"')
    return changes


def _lake_events(audit: Path) -> list[tuple[int, str, str | None, int | None, str | None, dict[str, Any]]]:
    if not audit.exists():
        return []
    con = _read_only(audit)
    try:
        rows = con.execute(
            "SELECT seq, kind, subject, data_version, fingerprint, params FROM events "
            "WHERE (kind >= 'lake.' AND kind < 'lake/') OR kind = 'model.predicted' ORDER BY seq").fetchall()
    finally:
        con.close()
    return [(seq, kind, subject, version, fp, _json(params) or {}) for seq, kind, subject, version, fp, params in rows]


def check_lake(workspace: Workspace) -> list[Finding]:
    """Every disagreement between the lake's snapshots and the audit log's lake events."""
    if not workspace.lake_catalog.exists():
        return []
    findings: list[Finding] = []
    versions: dict[_Version, int] = {}
    for snapshot_id, changes, extra, names in _snapshots(workspace.lake_catalog):
        if isinstance(extra, dict) and extra.get("workbench") == 1:
            for entry in extra.get("tables", []):
                try:
                    versions[_Version(str(entry["table"]), int(entry["version"]), entry.get("fingerprint"))] = snapshot_id
                except (KeyError, TypeError, ValueError):
                    findings.append(Finding("lake.snapshot", "lake", str(snapshot_id),
                                            f"snapshot {snapshot_id} has unreadable Workbench metadata."))
            continue
        kinds = {k for k, _ in _CHANGE.findall(changes)}
        if kinds - set(_SCHEMA_ONLY):
            table = _changed_table(changes, names)
            findings.append(Finding("lake.snapshot", "lake", str(snapshot_id),
                                    f"snapshot {snapshot_id} changed table {table} with no audit event."))

    events = _lake_events(workspace.audit_path)
    failed = {str(p.get("write_id")) for _, kind, _, _, _, p in events if kind == "lake.write_failed" and p.get("write_id")}
    pruned: dict[tuple[str, int], int] = {}  # (table, version) -> seq of the last prune that pruned it
    for seq, kind, subject, _, _, params in events:
        if kind == "lake.prune" and subject:
            for v in params.get("pruned_versions") or []:
                pruned[(subject, int(v))] = seq
    recorded: set[_Version] = set()
    for seq, kind, subject, version, fingerprint, params in events:
        where = _WRITE_KINDS.get(kind)
        if where is None or version is None:
            continue
        table = subject if where == "subject" else params.get(where)
        if not table:
            continue
        key = _Version(str(table), int(version), fingerprint)
        recorded.add(key)
        if key in versions or str(params.get("write_id")) in failed or pruned.get((key.table, key.version), 0) > seq:
            continue
        findings.append(Finding("lake.event", "lake", f"{key.table}@{key.version}",
                                f"audit event {seq} ({kind}) records {key.table} version {key.version}, "
                                "but the lake has no such version."))
    for key, snapshot_id in versions.items():
        if key not in recorded:
            findings.append(Finding("lake.snapshot", "lake", f"{key.table}@{key.version}",
                                    f"snapshot {snapshot_id} holds {key.table} version {key.version}, "
                                    "but no audit event records it."))
    return findings
