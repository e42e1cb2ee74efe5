"""A data check that fails tells someone, whoever ran it (`sources refresh`, `lake check`, not only a
pipeline): an alert `check:TABLE` to a real HTTP server on 127.0.0.1. Best-effort: an alert that cannot be
delivered, or a malformed `[alerts]` section, is recorded and never changes the verdict or the exit code."""

from __future__ import annotations

import sys
from pathlib import Path

from checks_fixtures import NOW, events, readings_ws, write_expectations  # noqa: F401 - readings_ws is a fixture

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "pipelines"))

from pipeline_fixtures import configure_alerts, free_port, http_sink  # noqa: E402,F401 - http_sink is a fixture

FAILING = "[columns.temp]\nnot_null = true\n"  # day1.csv has a missing temp
PASSING = "min_rows = 1\n"


def test_a_failed_refresh_and_a_failed_lake_check_each_alert(readings_ws, http_sink, cli) -> None:
    ws = configure_alerts(readings_ws, url=http_sink.url, throttle_minutes=0)
    write_expectations(ws, "readings", FAILING)

    refreshed = cli("-w", str(ws.root), "sources", "refresh", "readings")
    assert refreshed.returncode == 1, refreshed.stderr
    assert "alert sent" in refreshed.stdout
    (post,) = http_sink.received
    body = post["body"]
    assert body["condition"] == "check:readings" and body["title"].startswith("readings version 1 failed its checks")
    assert body["details"]["version"] == 1 and body["details"]["trigger"] == "source readings"
    assert body["details"]["failures"] == ["temp has 1 missing value (not_null)."]

    checked = cli("-w", str(ws.root), "lake", "check", "readings")
    assert checked.returncode == 1, checked.stderr
    assert [p["body"]["details"]["trigger"] for p in http_sink.received] == ["source readings", "manual"]
    assert [e.subject for e in events(ws, "alert.sent")] == ["check:readings", "check:readings"]

    write_expectations(ws, "readings", PASSING)  # a version that passes alerts nobody
    assert cli("-w", str(ws.root), "lake", "check", "readings").returncode == 0
    assert len(http_sink.received) == 2


def test_an_alert_that_cannot_be_delivered_never_changes_the_verdict(readings_ws, cli) -> None:
    from workbench.sources.refresh import refresh_source

    dead = f"http://127.0.0.1:{free_port()}/hook"  # nothing listens there
    ws = configure_alerts(readings_ws, url=dead)
    write_expectations(ws, "readings", FAILING)
    outcome = refresh_source(ws, "readings", now=NOW)
    assert not outcome.checks.passed and outcome.checks.alert == "failed"
    (failed,) = events(ws, "alert.failed")
    assert failed.subject == "check:readings" and failed.params["deliveries"][0]["ok"] is False

    checked = cli("-w", str(ws.root), "lake", "check", "readings")
    assert checked.returncode == 1  # still "the version failed its checks", not an alert error
    assert checked.stderr.strip().splitlines() == [
        "Error: readings version 1 failed its checks; it is not certified."]


def test_a_malformed_alerts_section_is_reported_not_raised(readings_ws) -> None:
    from workbench.checks.run import check_table
    from workbench.sources.refresh import refresh_source
    from workbench.workspace import Workspace

    ws = readings_ws
    refresh_source(ws, "readings", now=NOW)
    with ws.settings_path.open("a", encoding="utf-8") as f:
        f.write('\n[alerts]\nthrottle_minutes = 60\n[alerts.webhook]\nurl = "ftp://nowhere"\n')
    ws = Workspace.load(ws.root)
    write_expectations(ws, "readings", FAILING)
    outcome = check_table(ws, "readings", now=NOW)
    assert not outcome.passed and outcome.alert.startswith("not sent: ") and "http://" in outcome.alert
    assert events(ws, "lake.checked")[0].params["passed"] is False
