"""Pilot tests: browse, page, jump, sort, filter, profile, versus target, SQL and export from the keyboard."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.tui.app import WorkbenchApp
from workbench.workspace import Workspace

from lake_fixtures import numbers  # noqa: F401  (a fixture)
from tui_support import settle


async def _settle(app, pilot) -> None:  # type: ignore[no-untyped-def]
    await settle(app, pilot, pause=0.2)


def _text(app, selector: str) -> str:  # type: ignore[no-untyped-def]
    return str(app.screen.query_one(selector).render())


async def _shows(app, pilot, selector: str, expected: str) -> bool:  # type: ignore[no-untyped-def]
    """Wait (up to 30 s on a busy machine) until `selector` shows `expected`."""
    for _ in range(300):
        if expected in _text(app, selector):
            return True
        await pilot.pause(0.1)
    return expected in _text(app, selector)


async def _type(pilot, text: str) -> None:  # type: ignore[no-untyped-def]
    for ch in text:
        await pilot.press({" ": "space", "'": "apostrophe", ">": "greater_than_sign", "=": "equals_sign",
                           "/": "slash", ".": "full_stop", "_": "underscore", "-": "minus"}.get(ch, ch))


async def test_browse_page_jump_sort_filter_and_view_a_cell(numbers: Workspace) -> None:
    app = WorkbenchApp(numbers)
    async with app.run_test(size=(150, 45)) as pilot:
        await _settle(app, pilot)
        caption = "#preview PageGrid .grid-caption"
        assert await _shows(app, pilot, caption, "numbers: rows 1–200 of 1,000")
        await pilot.press("tab", "n")
        await _settle(app, pilot)
        assert await _shows(app, pilot, caption, "rows 201–400 of 1,000")
        await pilot.press("g")
        await _type(pilot, "950")
        await pilot.press("enter")
        await _settle(app, pilot)
        assert await _shows(app, pilot, caption, "rows 950–1,000 of 1,000")
        await pilot.press("s", "s")  # cursor is on column n: ascending, then descending
        await _settle(app, pilot)
        assert await _shows(app, pilot, caption, "sorted by n desc")
        grid = app.query_one("#preview PageGrid")
        assert grid.page.rows[0][0] == 1000
        await pilot.press("slash")
        await _type(pilot, "n > 990")
        await pilot.press("enter")
        await _settle(app, pilot)
        assert await _shows(app, pilot, caption, "rows 1–10 of 10 matching the filter")
        await pilot.press("enter")  # the cell viewer
        await pilot.pause(0.2)
        assert app.screen.__class__.__name__ == "CellViewer"
        assert "1000" in app.screen.query_one("TextArea").text
        await pilot.press("escape")


async def test_profile_and_versus_target_from_the_keyboard(numbers: Workspace) -> None:
    app = WorkbenchApp(numbers)
    async with app.run_test(size=(150, 45)) as pilot:
        await _settle(app, pilot)
        await pilot.press("d")
        await _settle(app, pilot)
        assert await _shows(app, pilot, "#profile-caption", "numbers: 1,000 rows, 5 columns — complete")
        table = app.query_one("#profile-table")
        assert table.row_count == 5
        assert [str(c) for c in table.get_row("maybe")[:3]] == ["maybe", "double", "10.0"]
        await pilot.press("t", "c")
        await _type(pilot, "leak")
        await pilot.press("enter")
        await _settle(app, pilot)
        assert await _shows(app, pilot, "#target-caption", "rate of leak = true")
        target_table = app.query_one("#target-table")
        first = target_table.get_row_at(0)
        assert first[0] == "n" and "leakage" in str(first[3])


async def test_sql_console_runs_pages_writes_and_exports(numbers: Workspace, tmp_path: Path) -> None:
    app = WorkbenchApp(numbers)
    async with app.run_test(size=(150, 45)) as pilot:
        await _settle(app, pilot)
        await pilot.press("e")
        await _settle(app, pilot)
        console = app.query_one("#sql")
        console.set_sql("SELECT n FROM numbers WHERE n > 500 ORDER BY n")
        await pilot.press("ctrl+r")
        await _settle(app, pilot)
        assert await _shows(app, pilot, "#sql-results .grid-caption", "rows 1–200 of 500")
        await pilot.press("ctrl+n")
        await _settle(app, pilot)
        assert await _shows(app, pilot, "#sql-results .grid-caption", "rows 201–400 of 500")
        assert console.grid.page.rows[0] == (701,)
        # a write is refused until writes are turned on, then it is a new version
        console.set_sql("CREATE TABLE top10 AS SELECT * FROM numbers ORDER BY n DESC LIMIT 10")
        await pilot.press("ctrl+r")
        await _settle(app, pilot)
        assert await _shows(app, pilot, "#sql-results .grid-caption", "writes are off")
        await pilot.press("ctrl+t", "ctrl+r")
        await _settle(app, pilot)
        assert await _shows(app, pilot, "#sql-results .grid-caption", "Wrote top10 version 1: 10 rows")
        # history recalls the last statements
        await pilot.press("ctrl+o")
        await pilot.pause(0.2)
        await _type(pilot, "n > 500")
        await pilot.press("enter")
        await pilot.pause(0.2)
        assert console.query_one("#sql-editor").text.startswith("SELECT n FROM numbers WHERE n > 500")
        # export the result
        await pilot.press("ctrl+r")
        await _settle(app, pilot)
        await pilot.press("ctrl+s")
        await pilot.pause(0.2)
        target = tmp_path / "result.parquet"
        app.screen.query_one("#export-path").value = str(target)
        await pilot.press("enter")
        await _settle(app, pilot)
    import duckdb

    assert duckdb.sql(f"SELECT count(*) FROM '{target}'").fetchone()[0] == 500


async def _ingest_from_dialog(app, pilot, path: Path) -> None:  # type: ignore[no-untyped-def]
    await pilot.press("i")
    await pilot.pause(0.2)
    app.screen.query_one("#ingest-path").value = str(path)
    app.screen.query_one("#ingest-path").focus()
    await pilot.press("enter")
    await _settle(app, pilot)


async def test_ingest_dialog_adds_a_table(numbers: Workspace, tmp_path: Path) -> None:
    csv = tmp_path / "fresh.csv"
    csv.write_text("a,b\n1,x\n2,y\n")
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2,3\n")
    app = WorkbenchApp(numbers)
    async with app.run_test(size=(150, 45)) as pilot:
        await _settle(app, pilot)
        await _ingest_from_dialog(app, pilot, csv)
        assert app.screen.__class__.__name__ != "IngestScreen"
        assert "fresh" in app.query_one("#catalog").table_names
        # a bad file keeps the dialog open with the error
        await _ingest_from_dialog(app, pilot, bad)
        assert await _shows(app, pilot, "#ingest-status", "line 2")


async def test_command_palette_lists_lake_actions(numbers: Workspace) -> None:
    app = WorkbenchApp(numbers)
    async with app.run_test(size=(150, 45)) as pilot:
        await _settle(app, pilot)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert {"Lake: profile", "Lake: SQL console", "Lake: ingest a file"} <= set(titles)
        command = next(c for c in app.get_system_commands(app.screen) if c.title == "Lake: profile")
        command.callback()
        await _settle(app, pilot)
        assert await _shows(app, pilot, "#profile-caption", "complete")


async def test_sql_error_names_the_real_key_and_clears_the_stale_result(numbers: Workspace) -> None:
    app = WorkbenchApp(numbers)
    async with app.run_test(size=(150, 45)) as pilot:
        await _settle(app, pilot)
        await pilot.press("e")
        await _settle(app, pilot)
        console = app.query_one("#sql")
        console.set_sql("SELECT n FROM numbers ORDER BY n")
        await pilot.press("ctrl+r")
        await _settle(app, pilot)
        assert await _shows(app, pilot, "#sql-results .grid-caption", "rows 1–200 of 1,000")
        import re

        assert re.search(r"· \d+ ms|· \d+\.\d\d s", _text(app, "#sql-results .grid-caption"))  # the query's time
        console.set_sql("CREATE TABLE t2 AS SELECT 1")
        await pilot.press("ctrl+r")
        await _settle(app, pilot)
        assert await _shows(app, pilot, "#sql-results .grid-caption", "writes are off")
        caption = _text(app, "#sql-results .grid-caption")
        assert "ctrl+t" in caption and "ctrl+w" not in caption
        assert console.grid.table.row_count == 0 and console.grid.page is None  # the old rows are gone
        console.set_sql("SELECT no_such_column FROM numbers")
        await pilot.press("ctrl+r")
        await _settle(app, pilot)
        assert await _shows(app, pilot, "#sql-results .grid-caption", "Error")
        assert console.grid.table.row_count == 0
        await pilot.press("ctrl+s")  # nothing to export: it says so instead of exporting an older result
        await pilot.pause(0.2)
        assert app.screen.__class__.__name__ != "ExportScreen" and not app.screen.query("#export-path")
