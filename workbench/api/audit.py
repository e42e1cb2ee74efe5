"""The audit log from Python: search and read events (reading never writes)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench.workspace import Workspace

if TYPE_CHECKING:
    from workbench.audit import Event


class AuditApi:
    """Search the workspace's hash-chained log, as `workbench audit search` does."""

    def __init__(self, workspace: Workspace) -> None:
        self._ws = workspace

    def search(self, query: str | None = None, *, actor: str | None = None, kind: str | None = None,
               since: str | None = None, until: str | None = None, run: str | None = None,
               limit: int = 50) -> list[Event]:
        """Events matching every filter, newest first; `query` is full-text (FTS5) over the events."""
        from workbench.audit import AuditLog
        from workbench.audit.search import parse_time

        with AuditLog(self._ws.audit_path, self._ws.root) as log:
            return log.search(query, actor=actor, kind=kind, since=parse_time(since) if since else None,
                              until=parse_time(until, end=True) if until else None, run_id=run, limit=limit)

    def events(self, run: str | None = None, kind: str | None = None, limit: int = 200) -> list[Event]:
        """The newest events of a run or of one exact kind."""
        from workbench.audit import AuditLog

        with AuditLog(self._ws.audit_path, self._ws.root) as log:
            return log.events(kind=kind, run_id=run, limit=limit)
