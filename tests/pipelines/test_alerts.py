"""Alerts to a real HTTP server and a real SMTP server on 127.0.0.1: sent on a failing step, throttled per
condition (counted), bounded retries against an unreachable webhook, and no secret in the log or the body."""

from __future__ import annotations

import socket
from datetime import timedelta

import pytest
from pipeline_fixtures import (SMTP_PASSWORD, WEBHOOK_TOKEN, at, configure_alerts, events, free_port,  # noqa: F401
                               http_sink, smtp_sink,
                               write_pipeline)

from workbench.alerts.notify import notify
from workbench.pipelines.run import run_pipeline
from workbench.pipelines.spec import load_pipeline

FAILING = ('[[steps]]\nkind = "noop"\n\n[[steps]]\nkind = "score"\nmodel = "nosuch@champion"\n'
           'table = "penguins"\ninto = "scored"\n')


@pytest.fixture
def secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WB_WEBHOOK_TOKEN", WEBHOOK_TOKEN)
    monkeypatch.setenv("WB_SMTP_PASSWORD", SMTP_PASSWORD)


def test_a_failing_step_alerts_by_webhook_and_email_then_throttles(sample_workspace, http_sink, smtp_sink,
                                                                    secrets) -> None:
    ws = configure_alerts(sample_workspace, url=http_sink.url, smtp_port=smtp_sink.port)
    write_pipeline(ws, "nightly", FAILING)
    t0 = at("2026-03-01T02:00:00+00:00")
    outcome = run_pipeline(ws, load_pipeline(ws, "nightly"), now=t0)
    assert not outcome.ok and outcome.failed_step == 2 and outcome.alert == "sent"

    (post,) = http_sink.received
    assert post["authorization"] == f"Bearer {WEBHOOK_TOKEN}"
    assert post["body"]["condition"] == "pipeline:nightly:failed"
    assert post["body"]["details"]["step"] == 2 and "nosuch" in post["body"]["details"]["error"]
    (mail,) = smtp_sink.messages
    assert mail["to"] == ["team@example.org"] and "Pipeline nightly failed at step 2" in mail["data"]
    assert smtp_sink.logins == [("workbench", SMTP_PASSWORD)]
    (sent,) = events(ws, "alert.sent")
    assert sent["subject"] == "pipeline:nightly:failed"
    assert [d["channel"] for d in sent["deliveries"] if d["ok"]] == ["webhook", "email"]

    # The same condition within the window: counted, not sent; after the window: sent again.
    for minutes in (10, 20):
        assert run_pipeline(ws, load_pipeline(ws, "nightly"), now=t0 + timedelta(minutes=minutes)).alert == "throttled"
    assert [t["count"] for t in events(ws, "alert.throttled")] == [1, 2]
    assert len(http_sink.received) == 1 and len(smtp_sink.messages) == 1
    assert run_pipeline(ws, load_pipeline(ws, "nightly"), now=t0 + timedelta(minutes=61)).alert == "sent"
    assert len(http_sink.received) == 2

    raw = ws.audit_path.read_bytes() + b"".join(p.read_bytes() for p in ws.root.glob("audit.sqlite-*"))
    assert WEBHOOK_TOKEN.encode() not in raw and SMTP_PASSWORD.encode() not in raw
    assert WEBHOOK_TOKEN not in ws.settings_path.read_text() and SMTP_PASSWORD not in ws.settings_path.read_text()


def test_an_unreachable_webhook_is_bounded_and_never_stops_the_record(sample_workspace, secrets) -> None:
    silent = socket.socket()  # listens, never answers: each attempt ends at its timeout
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    try:
        ws = configure_alerts(sample_workspace, url=f"http://127.0.0.1:{silent.getsockname()[1]}/hook",
                              extra_webhook="")
        ws.settings_path.write_text(ws.settings_path.read_text().replace("timeout_s = 2", "timeout_s = 0.3"))
        write_pipeline(ws, "nightly", FAILING)
        from workbench.workspace import Workspace

        ws = Workspace.load(ws.root)
        outcome = run_pipeline(ws, load_pipeline(ws, "nightly"), now=at("2026-03-01T02:00:00+00:00"))
    finally:
        silent.close()
    assert outcome.outcome == "failed" and outcome.alert == "failed"
    (failed,) = events(ws, "alert.failed")
    (webhook,) = failed["deliveries"]
    assert webhook["attempts"] == 2 and not webhook["ok"]  # the first try and one retry, then it gave up
    assert "timed out" in webhook["error"].lower() or "timeout" in webhook["error"].lower()
    assert [f["outcome"] for f in events(ws, "pipeline.finished", "nightly")] == ["failed"]


def test_a_refused_connection_and_a_missing_secret_are_recorded_as_failed(sample_workspace, monkeypatch) -> None:
    original = sample_workspace.settings_path.read_text()
    ws = configure_alerts(sample_workspace, url=f"http://127.0.0.1:{free_port()}/hook")
    outcome = notify(ws, "lake.checked:penguins", "Table penguins failed its checks",
                     {"failures": ["bill_length_mm > 0"], "password": "hunter2-secret"})
    assert outcome.status == "failed" and outcome.deliveries[0].attempts == 2
    (failed,) = events(ws, "alert.failed")
    assert failed["details"]["password"] == "***"  # masked before it was recorded
    sample_workspace.settings_path.write_text(original)
    ws2 = configure_alerts(sample_workspace, smtp_port=free_port())
    monkeypatch.delenv("WB_SMTP_PASSWORD", raising=False)
    second = notify(ws2, "other", "x", {})
    assert any("WB_SMTP_PASSWORD is not set" in (d.error or "") for d in second.deliveries)
