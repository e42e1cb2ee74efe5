"""Shared Pilot helpers for the TUI tests."""

from __future__ import annotations

from textual.worker import WorkerCancelled


async def settle(app, pilot, rounds: int = 3, pause: float = 0.1) -> None:  # type: ignore[no-untyped-def]
    """Let background workers finish. An exclusive worker superseded by a newer one ends cancelled,
    which `wait_for_complete` raises: that is expected, so wait for the newer one instead."""
    for _ in range(rounds):
        await pilot.pause(pause)
        try:
            await app.workers.wait_for_complete()
        except WorkerCancelled:
            continue
    await pilot.pause(pause)


def record_finished_runs(ws, count: int, *, state: str = "failed") -> list[str]:  # type: ignore[no-untyped-def]
    """`count` finished runs with fixed ids and times, recorded through the runs table's own API (each with its
    event), for tests that need a list of runs on screen without training models."""
    from workbench.audit import AuditLog
    from workbench.runs.records import RunRecords

    ids = []
    with AuditLog(ws.audit_path, ws.root) as log:
        records = RunRecords(log)
        for i in range(count):
            run_id = f"20261201-0900{i:02d}-{i:06x}"
            records.upsert_run(run_id, name=f"run_{i}", state=state, actor="tester", data_source="penguins@1",
                               queued_at=f"2026-12-01T09:00:{i:02d}Z", started_at=f"2026-12-01T09:00:{i:02d}Z",
                               finished_at=f"2026-12-01T09:01:{i:02d}Z", error="stopped for the test", backend="local",
                               event={"kind": f"run.{state}", "actor": "tester", "subject": f"run_{i}"})
            ids.append(run_id)
    return ids
