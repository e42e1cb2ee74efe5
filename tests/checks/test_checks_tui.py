"""The Lake tab shows each table's check status and checks the highlighted table with `c` (Pilot)."""

from __future__ import annotations

from checks_fixtures import NOW, events, readings_ws, write_expectations  # noqa: F401  (readings_ws is a fixture)
from tui_support import settle

from workbench.sources.refresh import refresh_source
from workbench.tui.app import WorkbenchApp


def _label(app, table: str) -> str:  # type: ignore[no-untyped-def]
    tree = app.query_one("#catalog")
    for node in tree._walk(tree.root):
        if node.data is not None and node.data.kind == "table" and node.data.name == table:
            return node.label.plain
    raise AssertionError(f"{table} is not in the catalog")


async def test_lake_tab_shows_check_status_and_c_checks(readings_ws) -> None:
    ws = readings_ws
    refresh_source(ws, "readings", now=NOW)  # version 1, checked later
    write_expectations(ws, "readings", "max_rows = 3\n")  # it has 4 rows: the check will fail
    app = WorkbenchApp(ws)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(app, pilot, pause=0.2)
        assert "unchecked" in _label(app, "readings")
        notes: list[str] = []
        app.notify = lambda message, **kw: notes.append(message)  # type: ignore[method-assign]
        await pilot.press("c")
        await settle(app, pilot, pause=0.2)
        assert "failed" in _label(app, "readings")
        assert any(n.startswith("readings v1 failed 1 check(s): 4 rows, more than the 3 expected.") for n in notes)
        assert events(ws, "lake.checked")[0].params["passed"] is False

        write_expectations(ws, "readings", "max_rows = 4\n")
        await pilot.press("c")
        await settle(app, pilot, pause=0.2)
        assert "certified" in _label(app, "readings")
        assert events(ws, "lake.certified")[0].params["version"] == 1
