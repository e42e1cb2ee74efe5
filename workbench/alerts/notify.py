"""`notify(ws, condition_key, title, details)`: send an alert for a condition unless one was sent for the same
condition within the throttle window; every outcome is an audit event (`alert.sent`, `alert.failed`,
`alert.throttled` with the count so far), never carrying a secret.

The throttle reads the log itself (the newest `alert.sent` for the condition), so it holds across processes
and restarts of the scheduler.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from workbench.alerts.channels import Delivery, post_webhook, send_email
from workbench.alerts.config import AlertSettings, load_alert_settings
from workbench.audit import AuditLog
from workbench.audit.redact import redact, redact_text, secret_env_values
from workbench.workspace import Workspace


@dataclass(frozen=True)
class AlertOutcome:
    condition_key: str
    status: str  # "sent" | "failed" | "throttled" | "unconfigured"
    deliveries: tuple[Delivery, ...] = ()
    throttled_count: int = 0
    details: dict[str, Any] = field(default_factory=dict)


def _last_sent(log: AuditLog, condition_key: str) -> tuple[datetime, int] | None:
    """When the newest alert for the condition was sent (by the caller's clock) and the seq of that event."""
    import json

    row = log.conn.execute("SELECT seq, params FROM events WHERE kind = 'alert.sent' AND subject = ? "
                           "ORDER BY seq DESC LIMIT 1", [condition_key]).fetchone()
    if row is None:
        return None
    at = json.loads(row[1]).get("at")
    return (datetime.fromisoformat(at), int(row[0])) if at else None


def _throttled_since(log: AuditLog, condition_key: str, seq: int) -> int:
    return int(log.conn.execute("SELECT count(*) FROM events WHERE kind = 'alert.throttled' AND subject = ? "
                                "AND seq > ?", [condition_key, seq]).fetchone()[0])


def notify(ws: Workspace, condition_key: str, title: str, details: dict[str, Any], *,
           now: datetime | None = None, settings: AlertSettings | None = None) -> AlertOutcome:
    """Alert about `condition_key` (e.g. `pipeline:nightly:step_failed`) to every configured channel."""
    now = now or datetime.now(timezone.utc)
    settings = settings or load_alert_settings(ws)
    secrets = secret_env_values()
    safe_title = redact_text(title, secrets)
    safe_details = redact(details)
    with AuditLog(ws.audit_path, ws.root) as log:
        last = _last_sent(log, condition_key)
        if last is not None and now - last[0] < timedelta(minutes=settings.throttle_minutes):
            count = _throttled_since(log, condition_key, last[1]) + 1
            log.record("alert.throttled", actor=ws.actor, subject=condition_key, outcome="throttled",
                       params={"title": safe_title, "at": now.isoformat(), "count": count,
                               "window_minutes": settings.throttle_minutes, "first_sent_seq": last[1]})
            return AlertOutcome(condition_key, "throttled", throttled_count=count, details=safe_details)
        if not settings.configured:
            return AlertOutcome(condition_key, "unconfigured", details=safe_details)
        payload = {"condition": condition_key, "title": safe_title, "details": safe_details,
                   "workspace": ws.settings.name, "at": now.isoformat()}
        deliveries: list[Delivery] = []
        if settings.webhook is not None:
            deliveries.append(post_webhook(settings.webhook, payload))
        if settings.email is not None:
            import json

            text = f"{safe_title}\n\n{json.dumps(safe_details, indent=2, default=str)}\n"
            deliveries.append(send_email(settings.email, f"[workbench] {safe_title}", text))
        sent = any(d.ok for d in deliveries)
        log.record("alert.sent" if sent else "alert.failed", actor=ws.actor, subject=condition_key,
                   outcome="sent" if sent else "failed",
                   params={"title": safe_title, "at": now.isoformat(), "details": safe_details,
                           "deliveries": [{"channel": d.channel, "ok": d.ok, "attempts": d.attempts,
                                           **({"error": redact_text(d.error, secrets)} if d.error else {})}
                                          for d in deliveries]})
    return AlertOutcome(condition_key, "sent" if sent else "failed", tuple(deliveries), details=safe_details)
