"""The preview grid as a data person reads it: numbers right-aligned and formatted, the sort shown in the
header, the filter shown in the caption, and a column's frequencies (Shift+F) counted by DuckDB."""

from __future__ import annotations

from rich.text import Text

from workbench.lake import open_lake
from workbench.tui.app import WorkbenchApp
from workbench.tui.lake.grid import format_number
from workbench.workspace import Workspace

from lake_fixtures import numbers  # noqa: F401  (a fixture)
from tui_support import settle


def test_numbers_are_formatted_without_float_noise() -> None:
    assert format_number(1234567) == "1,234,567"
    assert format_number(2007) == "2007" and format_number(-12345) == "-12,345"  # years read as years
    assert format_number(1234.5) == "1234.5" and format_number(12345.5) == "12,345.5"
    assert format_number(39.100000000000001) == "39.1"
    assert format_number(0.1 + 0.2) == "0.3"
    assert format_number(1234567.891) == "1,234,568"
    assert format_number(0.000123) == "0.000123"
    assert format_number(2.5e-9) == "2.50000e-09"
    assert format_number(-3.0) == "-3"


async def _preview(app, pilot):  # type: ignore[no-untyped-def]
    await settle(app, pilot, pause=0.2)
    grid = app.query_one("#preview PageGrid")
    for _ in range(300):
        if grid.page is not None:
            return grid
        await pilot.pause(0.1)
    raise AssertionError("no page")


async def test_grid_aligns_numbers_marks_the_sort_and_shows_the_filter(numbers: Workspace) -> None:
    app = WorkbenchApp(numbers)
    async with app.run_test(size=(150, 45)) as pilot:
        grid = await _preview(app, pilot)
        table = grid.table
        columns = grid.page.columns
        n_cell = table.get_row_at(0)[columns.index("n")]
        assert isinstance(n_cell, Text) and n_cell.justify == "right" and n_cell.plain == "1"
        label_cell = table.get_row_at(0)[columns.index("label")]
        assert not isinstance(label_cell, Text) or label_cell.justify != "right"
        maybe = [table.get_row_at(i)[columns.index("maybe")] for i in range(10)]
        assert maybe[9].plain == "NULL" and maybe[0].plain == "0.5"  # row 10 is NULL; 1/2 = 0.5
        await pilot.press("tab", "s", "s")  # the cursor is on n: ascending, then descending
        await settle(app, pilot, pause=0.2)
        headers = [str(c.label) for c in table.columns.values()]
        assert headers[columns.index("n")].startswith("n ▼")
        assert not any("▲" in h or "▼" in h for i, h in enumerate(headers) if i != columns.index("n"))
        assert table.get_row_at(0)[columns.index("n")].plain == "1000"
        preview = app.query_one("#preview")
        preview.action_filter()
        await pilot.pause(0.2)
        app.screen.query_one("#prompt-input").value = "noise > 6"
        await pilot.press("enter")
        await settle(app, pilot, pause=0.2)
        caption = str(grid.query_one(".grid-caption").render())
        assert "filter: noise > 6" in caption and "matching the filter" in caption


async def test_shift_f_counts_the_values_of_the_cursor_column(numbers: Workspace) -> None:
    app = WorkbenchApp(numbers)
    async with app.run_test(size=(150, 45)) as pilot:
        grid = await _preview(app, pilot)
        await pilot.press("tab")
        grid.table.move_cursor(column=grid.page.columns.index("noise"))
        await pilot.press("F")
        await settle(app, pilot, pause=0.2)
        screen = app.screen
        assert screen.__class__.__name__ == "FrequencyScreen"
        for _ in range(100):
            if screen.frequencies is not None:
                break
            await pilot.pause(0.1)
        table = screen.query_one("#freq-table")
        shown = {int(str(table.get_row_at(i)[0])): int(table.get_row_at(i)[1].plain.replace(",", ""))
                 for i in range(table.row_count)}
        with open_lake(numbers) as lake:
            expected = dict(lake.cursor().execute("SELECT noise, count(*) FROM numbers GROUP BY 1").fetchall())
        assert shown == expected
        assert "13 distinct values in 1,000 rows" in str(screen.query_one("#freq-caption").render())
        await pilot.press("escape")
        await pilot.pause(0.1)
        assert app.screen.__class__.__name__ != "FrequencyScreen"
