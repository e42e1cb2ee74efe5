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
