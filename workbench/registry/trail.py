"""Every registry change is an audit event, written while the registry's write transaction is open.

Order: the event is appended first and the registry row, carrying the event's seq and hash
(`registry/binding.py`), commits second. If the event cannot be written the change rolls back, so the
registry never holds a change the audit log does not show; a row without its event is refused when read.
"""

from __future__ import annotations

from typing import Any

from workbench.workspace import Workspace


def record_event(workspace: Workspace, kind: str, subject: str, params: dict[str, Any], *,
                 run_id: str | None = None, data_version: int | None = None, fingerprint: str | None = None,
                 outcome: str = "ok", governed: bool = False, ledger: Any = None) -> Any:
    """Append the event; returns its `EventRef` for the row that it justifies.

    `governed`: a promotion request, decision or protected alias move, signed by the acting person with
    their enrolled key (`access/actions.py`)."""
    from workbench.audit import AuditLog

    if governed:
        from workbench.access.actions import append_governed

        return append_governed(workspace, kind, subject, params, run_id=run_id, ledger=ledger)

    with AuditLog(workspace.audit_path, workspace.root) as log:
        return log.append_event(kind, actor=workspace.actor, subject=subject, run_id=run_id, params=params, outcome=outcome,
                   data_version=data_version, fingerprint=fingerprint)
