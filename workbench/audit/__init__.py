"""The SQLite run/audit log: an append-only, hash-chained record of every action in a workspace."""

from workbench.audit.log import AuditLog, Event

__all__ = ["AuditLog", "Event"]
