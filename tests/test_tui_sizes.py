"""The layout at 80x24 and 160x48: the catalog gives the preview room, the profile keeps rows of statistics,
the Runs list shows at least 5 runs, the Plugins list shows every back-end."""

from __future__ import annotations

import pytest
from textual.widgets import DataTable

from workbench.tui.app import WorkbenchApp
from workbench.workspace import Workspace

from tui_support import record_finished_runs, settle

SIZES = [(80, 24), (160, 48)]


def _visible_rows(table: DataTable) -> int:
    """Data rows the table can show at once (its height less the header and any scrollbar)."""
    return table.scrollable_content_region.height - table.header_height


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_every_tab_keeps_its_rows(sample_workspace: Workspace, size: tuple[int, int]) -> None:
    from workbench.tui.lake.catalog_tree import CatalogTree

    record_finished_runs(sample_workspace, 6)
    width, height = size
    app = WorkbenchApp(sample_workspace)
    async with app.run_test(size=size) as pilot:
        await settle(app, pilot, pause=0.2)
        catalog = app.query_one(CatalogTree)
        preview = app.query_one("#lake-main")
        assert catalog.size.width <= max(24, width // 3) + 1 and preview.size.width >= width // 2

        app.query_one("#catalog").post_message(CatalogTree.Chosen("flights", None))
        await settle(app, pilot, pause=0.2)
        await pilot.press("d")
        await settle(app, pilot, pause=0.2)
        stats = app.query_one("#profile-table", DataTable)
        for _ in range(300):
            if stats.row_count:
                break
            await pilot.pause(0.1)
        assert _visible_rows(stats) >= (4 if height < 30 else 15)
        chart = max(app.query_one("#profile-chart").size.height, app.query_one("#profile-bars").size.height)
        assert chart >= 6

        await pilot.press("2")
        await settle(app, pilot)
        runs = app.query_one("#runs-table", DataTable)
        assert runs.row_count == 6 and _visible_rows(runs) >= 5

        await pilot.press("5")
        await settle(app, pilot)
        plugins = app.query_one("#plugins-table", DataTable)
        assert plugins.row_count >= 6 and _visible_rows(plugins) >= plugins.row_count
