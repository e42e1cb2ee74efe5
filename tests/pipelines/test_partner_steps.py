"""Refresh and check steps call the sources/checks parts lazily, exactly as agreed: absent, the step fails with
one sentence; present (here a stand-in module with the agreed signature), a failed check stops the pipeline
and alerts."""

from __future__ import annotations

import sys
import types
from dataclasses import dataclass, field

import pytest
from pipeline_fixtures import at, configure_alerts, events, http_sink, write_pipeline  # noqa: F401

from workbench.pipelines.run import run_pipeline
from workbench.pipelines.spec import load_pipeline


@dataclass
class CheckOutcome:
    table: str
    version: int | None
    passed: bool
    certified: bool
    failures: list[str] = field(default_factory=list)


@dataclass
class RefreshOutcome:
    changed: bool
    table: str
    version: int | None
    checks: object = None


PIPELINE = ('[[steps]]\nkind = "refresh"\nsource = "penguins_csv"\n\n[[steps]]\nkind = "check"\n'
            'table = "penguins"\n\n[[steps]]\nkind = "noop"\n')


def test_missing_partner_module_fails_the_step_in_one_sentence(sample_workspace, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "workbench.sources.refresh", None)  # import raises ImportError
    write_pipeline(sample_workspace, "p", PIPELINE)
    outcome = run_pipeline(sample_workspace, load_pipeline(sample_workspace, "p"))
    assert outcome.failed_step == 1
    assert outcome.error == "This Workbench has no workbench.sources.refresh.refresh_source, so the step cannot run."


def test_a_failed_check_stops_the_pipeline_and_alerts(sample_workspace, monkeypatch, http_sink) -> None:
    calls = []
    sources = types.ModuleType("workbench.sources.refresh")
    sources.refresh_source = lambda ws, name, *, now, via: calls.append(("refresh", name, via)) or RefreshOutcome(
        True, "penguins", 2)
    checks = types.ModuleType("workbench.checks.run")
    checks.check_table = lambda ws, table, version=None, *, now, trigger: calls.append(
        ("check", table, trigger)) or CheckOutcome(table, 2, False, False, ["bill_length_mm: 3 nulls (expected none)"])
    monkeypatch.setitem(sys.modules, "workbench.sources.refresh", sources)
    monkeypatch.setitem(sys.modules, "workbench.checks.run", checks)
    ws = configure_alerts(sample_workspace, url=http_sink.url)
    write_pipeline(ws, "p", PIPELINE)
    outcome = run_pipeline(ws, load_pipeline(ws, "p"), now=at("2026-03-01T02:00:00+00:00"))
    assert calls == [("refresh", "penguins_csv", "pipeline:p"), ("check", "penguins", "pipeline:p")]
    assert outcome.failed_step == 2 and "bill_length_mm: 3 nulls" in outcome.error
    assert [s["index"] for s in events(ws, "pipeline.step_finished", "p")] == [1]  # step 3 never ran
    (post,) = http_sink.received
    assert "failed its checks" in post["body"]["details"]["error"]
