"""Delivery: a JSON POST with a short timeout and bounded retries, and one SMTP message. Neither raises:
each returns what happened, so an unreachable target never stops the caller."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from typing import Any, Callable

from workbench.alerts.config import EmailTarget, WebhookTarget

RETRY_PAUSE_S = 0.2  # between webhook attempts; short, so the pipeline waits at most about (1 + retries) x timeout


@dataclass(frozen=True)
class Delivery:
    channel: str  # "webhook" | "email"
    ok: bool
    attempts: int
    error: str | None = None  # one line, masked before it is recorded


def post_webhook(target: WebhookTarget, payload: dict[str, Any],
                 sleep: Callable[[float], None] = time.sleep) -> Delivery:
    """POST `payload` as JSON; retry a failed attempt at most `retries` times, each within `timeout_s`."""
    import urllib.error
    import urllib.request

    url = target.resolved_url()
    if not url:
        return Delivery("webhook", False, 0, f"the environment variable {target.url_env} is not set")
    headers = {"Content-Type": "application/json", "User-Agent": "workbench-alerts"}
    token = os.environ.get(target.token_env) if target.token_env else None
    if token:
        headers["Authorization"] = f"Bearer {token}"
    body = json.dumps(payload, default=str).encode()
    error = None
    for attempt in range(1, target.retries + 2):
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=target.timeout_s) as response:  # noqa: S310 - configured URL
                if 200 <= response.status < 300:
                    return Delivery("webhook", True, attempt)
                error = f"HTTP {response.status}"
        except urllib.error.HTTPError as exc:
            error = f"HTTP {exc.code}"
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            reason = getattr(exc, "reason", exc)
            error = f"{type(reason).__name__}: {reason}"
        if attempt <= target.retries:
            sleep(RETRY_PAUSE_S)
    return Delivery("webhook", False, target.retries + 1, error)


def send_email(target: EmailTarget, subject: str, text: str) -> Delivery:
    """Send one plain-text message; the password is read from the environment here and nowhere else."""
    import smtplib
    from email.message import EmailMessage

    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = target.sender
    message["To"] = ", ".join(target.to)
    message.set_content(text)
    password = os.environ.get(target.password_env) if target.password_env else None
    if target.password_env and password is None:
        return Delivery("email", False, 0, f"the environment variable {target.password_env} is not set")
    try:
        with smtplib.SMTP(target.host, target.port, timeout=target.timeout_s) as smtp:
            if target.starttls:
                smtp.starttls()
            if target.username and password is not None:
                smtp.login(target.username, password)
            smtp.send_message(message)
    except (smtplib.SMTPException, OSError) as exc:
        return Delivery("email", False, 1, f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
    return Delivery("email", True, 1)
