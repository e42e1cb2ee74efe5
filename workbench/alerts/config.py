"""`[alerts]` in `workbench.toml`: where alerts go. Secrets are named by environment variable, never written.

```toml
[alerts]
throttle_minutes = 60              # one alert per condition per window; the rest are counted, not sent

[alerts.webhook]
url = "https://hooks.example/x"    # or url_env = "WB_WEBHOOK_URL" when the URL itself is the secret
token_env = "WB_WEBHOOK_TOKEN"     # optional: sent as `Authorization: Bearer ...`
timeout_s = 3                      # per attempt
retries = 2                        # attempts after the first; the pipeline waits at most (1 + retries) x timeout

[alerts.email]
host = "smtp.example"
port = 587
sender = "workbench@example"
to = ["team@example"]
username = "workbench"             # optional
password_env = "WB_SMTP_PASSWORD"  # optional; the password is read from the environment when sending
starttls = false
timeout_s = 5
```
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from workbench.errors import WorkspaceError
from workbench.numbers import real_number, whole_number
from workbench.workspace import Workspace

_TOP = {"throttle_minutes", "webhook", "email"}
_WEBHOOK = {"url", "url_env", "token_env", "timeout_s", "retries"}
_EMAIL = {"host", "port", "sender", "to", "username", "password_env", "starttls", "timeout_s"}


@dataclass(frozen=True)
class WebhookTarget:
    url: str | None
    url_env: str | None
    token_env: str | None
    timeout_s: float = 3.0
    retries: int = 2

    def resolved_url(self) -> str | None:
        return os.environ.get(self.url_env) if self.url_env else self.url


@dataclass(frozen=True)
class EmailTarget:
    host: str
    port: int
    sender: str
    to: tuple[str, ...]
    username: str | None = None
    password_env: str | None = None
    starttls: bool = False
    timeout_s: float = 5.0


@dataclass(frozen=True)
class AlertSettings:
    throttle_minutes: float = 60.0
    webhook: WebhookTarget | None = None
    email: EmailTarget | None = None

    @property
    def configured(self) -> bool:
        return self.webhook is not None or self.email is not None


def _table(value: Any, name: str, known: set[str], where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise WorkspaceError(f"{where}: [{name}] must be a table.")
    unknown = sorted(set(value) - known)
    if unknown:
        raise WorkspaceError(f"{where}: unknown key {unknown[0]!r} in [{name}].")
    return value


def _text(section: dict[str, Any], key: str, name: str, where: str, required: bool = False) -> str | None:
    value = section.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise WorkspaceError(f"{where}: [{name}] {key} must be a non-empty string.")
    return value.strip()


def load_alert_settings(workspace: Workspace) -> AlertSettings:
    """The validated `[alerts]` section (no section: no alerts are sent, only recorded)."""
    where = str(workspace.settings_path)
    raw = workspace.settings.extra.get("alerts")
    if raw is None:
        return AlertSettings()
    top = _table(raw, "alerts", _TOP, where)
    throttle = real_number(top.get("throttle_minutes", 60), "[alerts] throttle_minutes", 0, 60 * 24 * 365,
                           what="a number of minutes", error=WorkspaceError, where=where)
    webhook = email = None
    if "webhook" in top:
        w = _table(top["webhook"], "alerts.webhook", _WEBHOOK, where)
        url, url_env = _text(w, "url", "alerts.webhook", where), _text(w, "url_env", "alerts.webhook", where)
        if (url is None) == (url_env is None):
            raise WorkspaceError(f"{where}: [alerts.webhook] needs exactly one of url or url_env.")
        if url is not None and not url.startswith(("http://", "https://")):
            raise WorkspaceError(f"{where}: [alerts.webhook] url must start with http:// or https://.")
        webhook = WebhookTarget(
            url=url, url_env=url_env, token_env=_text(w, "token_env", "alerts.webhook", where),
            timeout_s=real_number(w.get("timeout_s", 3), "[alerts.webhook] timeout_s", 0, 60, low_open=True,
                                  what="seconds", error=WorkspaceError, where=where),
            retries=whole_number(w.get("retries", 2), "[alerts.webhook] retries", 0, 5, error=WorkspaceError,
                                 where=where))
    if "email" in top:
        e = _table(top["email"], "alerts.email", _EMAIL, where)
        to = e.get("to")
        if isinstance(to, str):
            to = [to]
        if not isinstance(to, list) or not to or not all(isinstance(t, str) and "@" in t for t in to):
            raise WorkspaceError(f"{where}: [alerts.email] to must be a list of e-mail addresses.")
        starttls = e.get("starttls", False)
        if not isinstance(starttls, bool):
            raise WorkspaceError(f"{where}: [alerts.email] starttls must be true or false.")
        email = EmailTarget(
            host=_text(e, "host", "alerts.email", where, required=True) or "",
            port=whole_number(e.get("port", 25), "[alerts.email] port", 1, 65535, error=WorkspaceError, where=where),
            sender=_text(e, "sender", "alerts.email", where, required=True) or "",
            to=tuple(t.strip() for t in to), username=_text(e, "username", "alerts.email", where),
            password_env=_text(e, "password_env", "alerts.email", where), starttls=starttls,
            timeout_s=real_number(e.get("timeout_s", 5), "[alerts.email] timeout_s", 0, 60, low_open=True,
                                  what="seconds", error=WorkspaceError, where=where))
    return AlertSettings(throttle_minutes=throttle, webhook=webhook, email=email)
