"""Pilot tests: press the keys a user would press and assert on what the screen shows."""

from __future__ import annotations

from textual.widgets import DataTable, OptionList, Static, TabbedContent

from workbench.tui.app import WorkbenchApp
from workbench.workspace import Workspace


async def _settle(app, pilot) -> None:
    for _ in range(3):
        await pilot.pause(0.05)
        await app.workers.wait_for_complete()
    await pilot.pause(0.05)


def _caption(app) -> str:
    return str(app.query_one("#caption", Static).render())


async def test_lake_lists_tables_and_previews_real_rows(sample_workspace: Workspace) -> None:
    app = WorkbenchApp(sample_workspace)
    async with app.run_test(size=(140, 40)) as pilot:
        await _settle(app, pilot)
        tables = app.query_one("#tables", OptionList)
        labels = [str(tables.get_option_at_index(i).prompt) for i in range(tables.option_count)]
        assert [label.split()[0] for label in labels] == ["airlines", "airports", "flights", "penguins", "planes", "weather"]
        assert "336,776 rows" in labels[2]
        # The first table is previewed; move down to flights.
        assert "airlines: rows 1–16 of 16" in _caption(app)
        await pilot.press("down", "down")
        await _settle(app, pilot)
        assert "flights: rows 1–200 of 336,776" in _caption(app)
        preview = app.query_one("#preview", DataTable)
        assert preview.row_count == 200
        assert [str(c.label) for c in preview.columns.values()][:3] == ["year", "month", "day"]
        from workbench.lake import open_lake

        with open_lake(sample_workspace) as lake:
            first = lake.cursor().execute("SELECT year, month, day, carrier FROM flights LIMIT 1").fetchone()
        row = preview.get_row_at(0)
        assert row[:3] == [str(v) for v in first[:3]] and first[3] in row
        await pilot.press("n")
        await _settle(app, pilot)
        assert "flights: rows 201–400 of 336,776" in _caption(app)
        await pilot.press("p", "p")
        await _settle(app, pilot)
        assert "flights: rows 1–200" in _caption(app)
        await pilot.press("down")  # penguins
        await _settle(app, pilot)
        assert "penguins: rows 1–200 of 344" in _caption(app)
        assert app.query_one("#preview", DataTable).get_row_at(0)[0] == "Adelie"


async def test_tabs_switch_by_key_and_show_runs_and_audit(sample_workspace: Workspace) -> None:
    from conftest import SPECS

    from workbench.runs.batch import run_batch

    result = run_batch(sample_workspace, SPECS / "penguin_species.toml")
    app = WorkbenchApp(sample_workspace)
    async with app.run_test(size=(140, 40)) as pilot:
        await _settle(app, pilot)
        await pilot.press("2")
        await _settle(app, pilot)
        assert app.query_one(TabbedContent).active == "runs"
        runs = app.query_one("#runs-table", DataTable)
        assert runs.row_count == 1
        assert runs.get_row_at(0)[:3] == [result.run_id, "penguin_species", "succeeded"]
        detail = str(app.query_one("#run-detail", Static).render())
        assert "lightgbm" in detail and "linear" in detail
        await pilot.press("3")
        await _settle(app, pilot)
        assert app.query_one(TabbedContent).active == "audit"
        assert "audit chain intact" in str(app.query_one("#chain-status", Static).render())
        kinds = [app.query_one("#events", DataTable).get_row_at(i)[3] for i in range(app.query_one("#events", DataTable).row_count)]
        assert kinds[:2] == ["run.finished", "run.started"] and "workspace.init" in kinds
        await pilot.press("4")
        await _settle(app, pilot)
        assert app.query_one(TabbedContent).active == "models"
        await pilot.press("1")
        await _settle(app, pilot)
        assert app.query_one(TabbedContent).active == "lake"


async def test_empty_lake_says_how_to_load_data(empty_workspace: Workspace) -> None:
    app = WorkbenchApp(empty_workspace)
    async with app.run_test(size=(120, 30)) as pilot:
        await _settle(app, pilot)
        assert "workbench lake ingest" in _caption(app)
