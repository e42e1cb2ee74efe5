"""Fixtures for the pipeline, scheduler and alert tests: pipeline files, a real HTTP server and a real SMTP
server (aiosmtpd) on 127.0.0.1, and clocks that run a day of schedules in seconds.

Not a conftest.py (it would shadow tests/conftest.py); test modules import what they use from here.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "registry"))

from registry_fixtures import as_user, declared_team, set_policy, train  # noqa: E402,F401

from workbench.audit import AuditLog  # noqa: E402
from workbench.scheduler.clock import ManualClock  # noqa: E402
from workbench.workspace import Workspace  # noqa: E402

SAMPLE_DATA = Path(__file__).resolve().parents[2] / "sample_data"
WEBHOOK_TOKEN = "hook-token-5f2a9c41d7"
SMTP_PASSWORD = "smtp-pass-8e31b06c"


def species_spec(name: str) -> str:
    """A fast real spec on the sample penguins (two linear trials) for pipelines that retrain."""
    return (f'name = "{name}"\ntarget = "species"\nmetric = "log_loss"\nholdout = 0.25\nseed = 3\n'
            'candidates = ["linear"]\nmax_trials = 2\ntime_budget_s = 60\n\n[data]\ntable = "penguins"\n')


def write_pipeline(ws: Workspace, name: str, text: str) -> Path:
    folder = ws.root / "pipelines"
    folder.mkdir(exist_ok=True)
    path = folder / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def events(ws: Workspace, kind: str, subject: str | None = None) -> list[dict[str, Any]]:
    """Events of `kind` (exactly), oldest first, params decoded."""
    with AuditLog(ws.audit_path, ws.root) as log:
        rows = log.conn.execute("SELECT seq, subject, outcome, params FROM events WHERE kind = ?"
                                + (" AND subject = ?" if subject else "") + " ORDER BY seq",
                                [kind, *([subject] if subject else [])]).fetchall()
    return [{"seq": s, "subject": sub, "outcome": o, **json.loads(p)} for s, sub, o, p in rows]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SteppingClock(ManualClock):
    """Manual time whose sleep also yields a moment of real time (for a scheduler running in a thread)."""

    def sleep(self, seconds: float) -> None:
        super().sleep(seconds)
        time.sleep(0.005)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


@dataclass
class HttpSink:
    url: str
    received: list[dict[str, Any]] = field(default_factory=list)
    status: int = 200


@pytest.fixture
def http_sink() -> Iterator[HttpSink]:
    """A real HTTP server on 127.0.0.1 that records each POST (body and Authorization header)."""
    sink = HttpSink(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            sink.received.append({"body": json.loads(body), "authorization": self.headers.get("Authorization")})
            self.send_response(sink.status)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    sink.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield sink
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@dataclass
class SmtpSink:
    port: int
    messages: list[dict[str, Any]] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that accepts one login and records each message."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    sink = SmtpSink(port=free_port())

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
            sink.messages.append({"from": envelope.mail_from, "to": list(envelope.rcpt_tos),
                                  "data": envelope.content.decode("utf-8", "replace")})
            return "250 OK"

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        if isinstance(data, LoginPassword):
            sink.logins.append((data.login.decode(), data.password.decode()))
            return AuthResult(success=data.password.decode() == SMTP_PASSWORD)
        return AuthResult(success=False)

    controller = Controller(Handler(), hostname="127.0.0.1", port=sink.port, authenticator=authenticator,
                            auth_require_tls=False)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()


def configure_alerts(ws: Workspace, *, url: str | None = None, smtp_port: int | None = None,
                     extra_webhook: str = "", throttle_minutes: float = 60) -> Workspace:
    """Append an `[alerts]` section to workbench.toml (secrets by environment variable name only)."""
    lines = ["", "[alerts]", f"throttle_minutes = {throttle_minutes}"]
    if url:
        lines += ["[alerts.webhook]", f'url = "{url}"', 'token_env = "WB_WEBHOOK_TOKEN"', "timeout_s = 2",
                  "retries = 1", extra_webhook]
    if smtp_port:
        lines += ["[alerts.email]", 'host = "127.0.0.1"', f"port = {smtp_port}", 'sender = "workbench@example.org"',
                  'to = ["team@example.org"]', 'username = "workbench"', 'password_env = "WB_SMTP_PASSWORD"']
    with ws.settings_path.open("a", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    return Workspace.load(ws.root)
