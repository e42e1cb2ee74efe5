"""Pilot tests: press the keys a user would press and assert on what the screen shows."""

from __future__ import annotations

from textual.widgets import DataTable, Static, TabbedContent

from workbench.tui.app import WorkbenchApp
from workbench.workspace import Workspace


from tui_support import settle as _settle


CAPTION = "#preview PageGrid .grid-caption"


def _caption(app) -> str:
    return str(app.screen.query_one(CAPTION).render())


async def _until(app, pilot, text: str) -> bool:
    """Wait (up to 30 s on a loaded machine) until the preview caption shows `text`."""
    for _ in range(300):
        if text in _caption(app):
            return True
        await pilot.pause(0.1)
    return False


async def test_lake_lists_tables_and_previews_real_rows(sample_workspace: Workspace) -> None:
    from workbench.lake import open_lake
    from workbench.tui.lake.catalog_tree import CatalogTree

    app = WorkbenchApp(sample_workspace)
    async with app.run_test(size=(150, 40)) as pilot:
        await _settle(app, pilot)
        tree = app.query_one(CatalogTree)
        tables = tree.root.children[0]
        labels = [str(node.label) for node in tables.children]
        assert [label.split()[0] for label in labels] == ["airlines", "airports", "flights", "penguins", "planes", "weather"]
        assert "336,776 rows" in labels[2]
        assert await _until(app, pilot, "airlines: rows 1–16 of 16")  # the first table is previewed
        await pilot.press("down", "down")
        assert await _until(app, pilot, "flights: rows 1–200 of 336,776")
        grid = app.query_one("#preview PageGrid")
        assert len(grid.page.rows) == 200
        assert grid.page.columns[:3] == ["year", "month", "day"]
        with open_lake(sample_workspace) as lake:
            first = lake.cursor().execute("SELECT year, month, day, carrier FROM flights LIMIT 1").fetchone()
        assert tuple(grid.page.rows[0][i] for i in (0, 1, 2)) == first[:3] and first[3] in grid.page.rows[0]
        await pilot.press("tab", "n")
        assert await _until(app, pilot, "flights: rows 201–400 of 336,776")
        await pilot.press("p")
        assert await _until(app, pilot, "flights: rows 1–200 of 336,776")
        await pilot.press("tab", "down")  # back to the catalog, next table
        assert await _until(app, pilot, "penguins: rows 1–200 of 344")
        assert app.query_one("#preview PageGrid").page.rows[0][0] == "Adelie"


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
        board = app.query_one("#leaderboard", DataTable)
        models = [board.get_row_at(i)[1] for i in range(board.row_count)]
        assert "lightgbm" in models and "linear" in models
        await pilot.press("3")
        await _settle(app, pilot)
        assert app.query_one(TabbedContent).active == "audit"
        assert "audit chain intact" in str(app.query_one("#chain-status", Static).render())
        kinds = [app.query_one("#events", DataTable).get_row_at(i)[3] for i in range(app.query_one("#events", DataTable).row_count)]
        assert kinds[:3] == ["run.finished", "plugin.loaded", "run.started"] and "workspace.init" in kinds
        await pilot.press("4")
        await _settle(app, pilot)
        assert app.query_one(TabbedContent).active == "models"
        await pilot.press("1")
        await _settle(app, pilot)
        assert app.query_one(TabbedContent).active == "lake"


async def test_empty_lake_says_how_to_load_data(empty_workspace: Workspace) -> None:
    from workbench.tui.lake.catalog_tree import CatalogTree

    app = WorkbenchApp(empty_workspace)
    async with app.run_test(size=(120, 30)) as pilot:
        await _settle(app, pilot)
        tables = app.query_one(CatalogTree).root.children[0]
        assert "press i to ingest" in str(tables.children[0].label)


async def test_audit_view_searches_into_the_archives_with_a(empty_workspace: Workspace) -> None:
    from textual.widgets import Input

    from workbench.audit import AuditLog
    from workbench.audit.archive import archive_events

    with AuditLog(empty_workspace.audit_path, empty_workspace.root) as log:
        log.record_many([{"kind": "model.promoted", "actor": "alice", "subject": f"churn-{i}",
                          "params": {"reason": "quarterly refresh"}} for i in range(10)])
        archive_events(log, actor="tester", keep=3)
        log.record("model.promoted", actor="bob", subject="churn-live", params={"reason": "quarterly refresh"})
    app = WorkbenchApp(empty_workspace)
    async with app.run_test(size=(150, 40)) as pilot:
        await _settle(app, pilot)
        await pilot.press("3")
        await _settle(app, pilot)
        await pilot.press("slash")
        app.query_one("#audit-search", Input).value = "quarterly"
        await pilot.press("enter")
        await _settle(app, pilot)
        table = app.query_one("#events", DataTable)

        def subjects() -> list[str]:
            return [table.get_row_at(i)[6] for i in range(table.row_count)]

        assert subjects() == ["churn-live", "churn-9", "churn-8", "churn-7"]  # the live log kept the 3 newest
        await pilot.press("a")
        await _settle(app, pilot)
        assert subjects() == ["churn-live"] + [f"churn-{i}" for i in range(9, -1, -1)]
        assert "archives included" in str(app.query_one("#audit-caption", Static).render())
        table.move_cursor(row=table.row_count - 1)  # the oldest: only in the archive file
        await _settle(app, pilot)
        detail = str(app.query_one("#event-detail", Static).render())
        assert "churn-0" in detail and "archived event" in detail
        await pilot.press("a")
        await _settle(app, pilot)
        assert subjects() == ["churn-live", "churn-9", "churn-8", "churn-7"]


async def test_audit_tab_checks_the_chain_when_opened_and_shows_where_it_broke(empty_workspace: Workspace) -> None:
    import sqlite3

    from workbench.audit import AuditLog

    with AuditLog(empty_workspace.audit_path, empty_workspace.root) as log:
        log.record_many([{"kind": "note.added", "actor": "alice", "subject": f"t{i}"} for i in range(5)])
        edited = log.head()[0] - 2
    app = WorkbenchApp(empty_workspace)
    async with app.run_test(size=(150, 40)) as pilot:
        await _settle(app, pilot)
        status = app.query_one("#chain-status", Static)
        assert "not checked yet" in str(status.render())  # nothing walked while on the Lake tab
        await pilot.press("3")
        await _settle(app, pilot)
        assert "audit chain intact" in str(status.render())
        # Someone with write access edits an event behind the app's back; v checks again.
        conn = sqlite3.connect(empty_workspace.audit_path)
        conn.execute("DROP TRIGGER events_no_update")
        conn.execute("UPDATE events SET actor = 'mallory' WHERE seq = ?", [edited])
        conn.commit()
        conn.close()
        await pilot.press("v")
        await _settle(app, pilot)
        text = str(status.render())
        assert "audit chain broken" in text and f"#{edited}" in text and "edited" in text


async def test_audit_keys_work_from_the_detail_panel_and_run_ids_fit(empty_workspace: Workspace) -> None:
    from textual.widgets import Input

    from workbench.audit import AuditLog

    runs = ["20261201-110700-a1b2c3", "20261201-110700-d4e5f6"]  # same second: only the end tells them apart
    with AuditLog(empty_workspace.audit_path, empty_workspace.root) as log:
        log.record_many([{"kind": "run.stage", "actor": "alice", "run_id": run, "subject": "a long subject " * 4}
                         for run in runs])
    app = WorkbenchApp(empty_workspace)
    async with app.run_test(size=(160, 48)) as pilot:
        await _settle(app, pilot)
        await pilot.press("3")
        await _settle(app, pilot)
        table = app.query_one("#events", DataTable)
        columns = list(table.columns.values())
        run_col = [str(c.label) for c in columns].index("run")
        right_edge = sum(c.get_render_width(table) for c in columns[: run_col + 1])
        assert right_edge <= table.scrollable_content_region.width  # the whole run id is on screen
        assert {table.get_row_at(i)[run_col] for i in range(table.row_count)} >= set(runs)

        await pilot.press("tab")  # from the events list to the detail panel
        assert app.focused is app.query_one("#event-detail")
        await pilot.press("a")
        await _settle(app, pilot)
        assert app.query_one("AuditPane").with_archives
        await pilot.press("v")
        await pilot.pause(0.1)
        assert "erif" in str(app.query_one("#chain-status", Static).render())  # verifying / verified
        app.query_one("#event-detail").focus()
        await pilot.press("slash")
        assert app.focused is app.query_one("#audit-search", Input)
