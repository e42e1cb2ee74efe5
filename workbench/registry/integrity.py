"""The registry against the chain, both ways, for `workbench audit verify`.

Every row must agree with the event bound to it (`registry/binding.py`); every registry event in the
chain must have its row; each alias's newest row must be bound to the chain's newest event for it.
"""

from __future__ import annotations

from typing import Any

from workbench.audit.findings import Finding
from workbench.audit.log import AuditLog
from workbench.registry.binding import BINDINGS, closing_problem, row_problem
from workbench.registry.store import RegistryStore, registry_path
from workbench.workspace import Workspace

_ROW_EVENT_KINDS = ("model.registered", "model.alias_set", "model.promotion_requested", "model.approved",
                    "model.rejected", "model.evaluated", "model.promotion_withdrawn")


def check_registry(workspace: Workspace, log: AuditLog) -> list[Finding]:
    if not registry_path(workspace).exists():
        return _orphan_events(log, set())
    findings: list[Finding] = []
    bound: set[int] = set()
    with RegistryStore(registry_path(workspace)) as store:  # no workspace: read rows raw, report, don't raise
        for table, binding in BINDINGS.items():
            for row in store._all(f"SELECT * FROM {table}"):
                key = binding.key(row)
                for column in ("event_seq", "closed_event_seq"):
                    if row.get(column) is not None:
                        bound.add(int(row[column]))
                problem = row_problem(log, table, row)
                if problem is None and table == "promotion_requests":
                    problem = closing_problem(log, row)
                if problem:
                    findings.append(Finding(f"registry.{table}", table, key, f"{table} row {key}: {problem}."))
        findings += _alias_heads(store, log)
    return findings + _orphan_events(log, bound)


def _alias_heads(store: RegistryStore, log: AuditLog) -> list[Finding]:
    heads: dict[str, Any] = {}
    for row in store._all("SELECT model, alias, max(seq) AS seq FROM alias_events GROUP BY model, alias"):
        top = store._one("SELECT event_seq FROM alias_events WHERE seq = ?", (row["seq"],))
        heads[f"{row['model']}@{row['alias']}"] = top["event_seq"] if top else None
    chained = dict(log.conn.execute("SELECT subject, max(seq) FROM events WHERE kind = 'model.alias_set' "
                                    "GROUP BY subject").fetchall())
    out = []
    for subject in sorted(set(heads) | set(chained)):
        if heads.get(subject) != chained.get(subject):
            out.append(Finding("registry.alias", "alias_events", subject,
                               f"alias {subject}: the alias table's newest row is bound to event "
                               f"#{heads.get(subject)}, but the chain's newest alias event is #{chained.get(subject)}."))
    return out


def _orphan_events(log: AuditLog, bound: set[int]) -> list[Finding]:
    """Registry events whose row is gone (deleted, or the registry file replaced)."""
    marks = ", ".join("?" * len(_ROW_EVENT_KINDS))
    out = []
    for seq, kind, subject in log.conn.execute(
            f"SELECT seq, kind, subject FROM events WHERE kind IN ({marks}) ORDER BY seq", _ROW_EVENT_KINDS):
        if seq not in bound:
            out.append(Finding("registry.event", "events", str(seq),
                               f"event #{seq} ({kind} {subject}) has no registry row bound to it (deleted?)."))
    return out
