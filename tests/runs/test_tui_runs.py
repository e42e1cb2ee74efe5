"""Pilot tests: watch a detached run progress on the Runs screen, cancel it with `c`, find it on the Audit screen."""

from __future__ import annotations

import time

from textual.widgets import DataTable, Static

from conftest import SPECS
from tui_support import settle
from workbench.pipeline.spec import load_spec
from workbench.runs.engine import start_detached
from workbench.workspace import Workspace


async def _until(pilot, predicate, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        await pilot.pause(0.2)
    raise AssertionError("condition not met on screen in time")


async def _open_runs(app, pilot) -> None:
    """Press 2 once start-up work is done (the Lake tab focuses its table list when its load finishes)."""
    await settle(app, pilot, rounds=1)
    await pilot.press("2")
    await _until(pilot, lambda: app.focused is not None and app.focused.id == "runs-table", timeout=10)


def _text(app, selector: str) -> str:
    return str(app.query_one(selector, Static).render())


async def test_runs_screen_shows_live_progress_and_cancels(sample_workspace: Workspace) -> None:
    from workbench.tui.app import WorkbenchApp

    run_id = start_detached(sample_workspace, load_spec(SPECS / "flight_delay.toml"))
    app = WorkbenchApp(sample_workspace)
    async with app.run_test(size=(180, 50)) as pilot:
        await _open_runs(app, pilot)
        table = app.query_one("#runs-table", DataTable)
        await _until(pilot, lambda: table.row_count == 1)
        await _until(pilot, lambda: "search" in _text(app, "#run-progress") or "scored" in _text(app, "#run-progress"),
                     timeout=120)
        assert "running" in _text(app, "#run-progress") and "elapsed" in _text(app, "#run-progress")
        await pilot.press("c")
        await _until(pilot, lambda: table.get_row(run_id)[2] == "cancelled", timeout=30)
        assert not (sample_workspace.artifacts_dir / run_id).exists()

        await pilot.press("3")
        await pilot.press("slash")
        await pilot.press(*"kind:run.cancelled", "enter")
        events = app.query_one("#events", DataTable)
        await _until(pilot, lambda: events.row_count == 1)
        await _until(pilot, lambda: "run.cancelled" in _text(app, "#event-detail"))
        assert "content matches its hash" in _text(app, "#event-detail")
        await _until(pilot, lambda: "intact" in _text(app, "#chain-status"))


async def test_new_run_launcher_starts_a_detached_run(sample_workspace: Workspace) -> None:
    from workbench.tui.app import WorkbenchApp

    app = WorkbenchApp(sample_workspace)
    async with app.run_test(size=(180, 50)) as pilot:
        await _open_runs(app, pilot)
        await pilot.press("n")
        await _until(pilot, lambda: len(app.screen.query("#spec-list")) == 1, timeout=10)
        option_list = app.screen.query_one("#spec-list")
        ids = [option_list.get_option_at_index(i).id for i in range(option_list.option_count)]
        option_list.highlighted = next(i for i, p in enumerate(ids) if p.endswith("penguin_body_mass.toml"))
        await pilot.press("enter")
        # The new-run form: the spec's back-end (local, no options given) is the default; Enter starts it.
        await _until(pilot, lambda: len(app.screen.query("#new-run-backend")) == 1, timeout=10)
        await pilot.press("enter")
        table = app.query_one("#runs-table", DataTable)
        await _until(pilot, lambda: table.row_count == 1 and table.get_row_at(0)[2] == "succeeded", timeout=90)
        assert "rmse" in _text(app, "#run-detail")
        # The row appeared as "queued" and was updated in place: its columns grew with it (not cut to "succee").
        widths = [column.content_width for column in table.columns.values()]
        assert widths[2] >= len("succeeded") and widths[4] >= len(str(table.get_row_at(0)[4]))
