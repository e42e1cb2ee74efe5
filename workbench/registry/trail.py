"""Every registry change is an audit event, written while the registry's write transaction is open.

Order of commits: the event is appended first, the registry row commits second. If the event cannot be
written the change rolls back, so the registry never holds a change the audit log does not show.
"""

from __future__ import annotations

from typing import Any

from workbench.workspace import Workspace


def record_event(workspace: Workspace, kind: str, subject: str, params: dict[str, Any], *,
                 run_id: str | None = None, data_version: int | None = None, fingerprint: str | None = None,
                 outcome: str = "ok") -> None:
    from workbench.audit import AuditLog

    with AuditLog(workspace.audit_path, workspace.root) as log:
        log.record(kind, actor=workspace.actor, subject=subject, run_id=run_id, params=params, outcome=outcome,
                   data_version=data_version, fingerprint=fingerprint)
