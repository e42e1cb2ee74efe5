"""Serving history per version from real audit events: a service killed without a stop stays open, windows sum."""

from __future__ import annotations

from workbench.audit import AuditLog
from workbench.registry.serving import serving_records
from workbench.workspace import Workspace


def _serve_events(log: AuditLog, events: list[tuple[str, dict]]) -> None:  # type: ignore[type-arg]
    log.record_many([{"kind": kind, "actor": "alice", "subject": "species@champion",
                      "params": {"model": "species", **params}} for kind, params in events])


def test_windows_sum_per_version_and_a_killed_service_stays_open(empty_workspace: Workspace) -> None:
    with AuditLog(empty_workspace.audit_path, empty_workspace.root) as log:
        _serve_events(log, [
            ("serve.started", {"version": 1, "port": 8001, "pid": 11}),
            ("serve.stats", {"version": 1, "requests": 10, "rows": 100, "errors": 1, "latency_p99_ms": 4.0,
                             "psi": {"a": 0.02, "b": 0.4}, "drifted_features": ["b"]}),
            ("serve.stats", {"version": 1, "requests": 5, "rows": 50, "errors": 0, "latency_p99_ms": 9.5,
                             "psi": {"a": 0.01, "b": 0.05}, "drifted_features": []}),
            ("serve.stopped", {"version": 1, "port": 8001, "requests": 15}),
            ("serve.started", {"version": 2, "port": 8002, "pid": 12}),  # then kill -9: no stop, no window
        ])
        served = serving_records(log)
    v1, v2 = served[("species", 1)], served[("species", 2)]
    assert (v1.requests, v1.rows, v1.errors, v1.windows, v1.open_services) == (15, 150, 1, 2, 0)
    assert v1.worst_p99_ms == 9.5 and v1.last_drifted == [] and v1.last_max_psi == 0.05  # the last window's drift
    assert (v2.requests, v2.windows, v2.open_services) == (0, 0, 1)
    assert "1 service(s) started with no stop recorded" in v2.summary()
    assert "15 request(s), 150 row(s), 1 error(s), p99 ≤ 9.5 ms" in v1.summary() and "no drift" in v1.summary()


def test_a_workspace_that_never_served_has_no_records(empty_workspace: Workspace) -> None:
    with AuditLog(empty_workspace.audit_path, empty_workspace.root) as log:
        assert serving_records(log) == {}
