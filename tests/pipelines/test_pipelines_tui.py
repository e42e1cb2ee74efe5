"""The Pipelines tab: `6` shows each pipeline's trigger, next slot, last run and outcome; a highlighted one
shows its recent runs and steps. Pilot presses the keys on a real workspace."""

from __future__ import annotations

from pipeline_fixtures import write_pipeline

from workbench.pipelines.run import run_pipeline
from workbench.pipelines.spec import load_pipeline


NIGHTLY = '[trigger]\ncron = "0 2 * * *"\n\n[[steps]]\nkind = "noop"\n'


async def _pipelines_table(app, pilot):  # type: ignore[no-untyped-def]
    """Open the tab (`6`) and return its table once the files and runs are loaded."""
    from textual.widgets import DataTable

    await pilot.press("6")
    await app.workers.wait_for_complete()
    await pilot.pause()
    return app.query_one("#pipelines-table", DataTable)


async def test_pipelines_tab_shows_next_and_last_runs(sample_workspace) -> None:
    from textual.widgets import Static

    from workbench.tui.app import WorkbenchApp

    ws = sample_workspace
    write_pipeline(ws, "nightly", NIGHTLY)
    write_pipeline(ws, "broken", '[[steps]]\nkind = "score"\nmodel = "nosuch"\ntable = "penguins"\ninto = "o"\n')
    run_pipeline(ws, load_pipeline(ws, "nightly"))
    run_pipeline(ws, load_pipeline(ws, "broken"))
    app = WorkbenchApp(ws)
    async with app.run_test(size=(160, 48)) as pilot:
        table = await _pipelines_table(app, pilot)
        rows = {table.get_row_at(i)[0]: table.get_row_at(i) for i in range(table.row_count)}
        assert set(rows) == {"nightly", "broken"}
        assert rows["nightly"][1] == "cron 0 2 * * *" and rows["nightly"][2].endswith("02:00")
        assert "succeeded" in str(rows["nightly"][4]) and "failed" in str(rows["broken"][4])
        assert rows["broken"][2] == "—"  # manual: no next slot
        table.focus()
        table.move_cursor(row=list(rows).index("broken"))
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        detail = str(app.query_one("#pipeline-detail", Static).render())
        assert "broken" in detail and "1 score ✗" in detail and "nosuch" in detail


async def test_g_runs_the_highlighted_pipeline_after_a_confirmation(sample_workspace) -> None:
    from pipeline_fixtures import events

    from workbench.tui.app import WorkbenchApp
    from workbench.tui.panes.model_dialogs import ConfirmDialog

    ws = sample_workspace
    write_pipeline(ws, "nightly", NIGHTLY)
    app = WorkbenchApp(ws)
    async with app.run_test(size=(160, 48)) as pilot:
        table = await _pipelines_table(app, pilot)
        table.focus()
        await pilot.press("g")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        assert "1. noop" in str(app.screen.query_one("#dialog-body").render())
        await pilot.press("n")  # cancelled: nothing runs, nothing is recorded
        await app.workers.wait_for_complete()
        assert events(ws, "pipeline.started") == []
        await pilot.press("g")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        (started,) = events(ws, "pipeline.started")
        assert started["trigger"] == {"kind": "manual", "via": "tui"}
        assert [e["outcome"] for e in events(ws, "pipeline.finished")] == ["succeeded"]
        assert "succeeded" in str(table.get_row_at(0)[4])
