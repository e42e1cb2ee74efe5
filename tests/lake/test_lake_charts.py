"""What the profile and versus-target charts draw equals what DuckDB computes from the lake."""

from __future__ import annotations

import re

from workbench.lake import open_lake
from workbench.lake.profile import profile_table
from workbench.tui.app import WorkbenchApp
from workbench.tui.widgets.bars import BarList, number_label
from workbench.workspace import Workspace

from tui_support import settle


def _bar_rows(bars: BarList) -> dict[str, str]:
    """label -> value as the rendered rows show them (each row carries its own label and value)."""
    rows = {}
    for line in bars.render().plain.splitlines():
        label, bar, rest = line.partition("│")
        if not bar:
            continue  # the title
        rows[label.strip()] = rest.split()[-1] if rest.split() else ""
    return rows


def test_histogram_counts_only_values_and_its_bins_match_duckdb(sample_workspace: Workspace) -> None:
    with open_lake(sample_workspace) as lake:
        col = profile_table(lake, "flights").column("dep_delay")
        cur = lake.cursor()
        non_null, nulls = cur.execute("SELECT count(dep_delay), count(*) - count(dep_delay) FROM flights").fetchone()
        assert nulls > 0  # the sample has cancelled flights: the case that went wrong
        assert sum(n for _, _, n in col.histogram) == non_null
        lo, width = col.histogram[0][0], col.histogram[0][1] - col.histogram[0][0]
        expected = dict(cur.execute(
            f"SELECT least(floor((dep_delay - {lo!r}) / {width!r}), 19)::INTEGER AS b, count(*) FROM flights "
            "WHERE dep_delay IS NOT NULL GROUP BY b").fetchall())
    assert [n for _, _, n in col.histogram] == [expected.get(b, 0) for b in range(20)]


def test_number_labels_have_no_float_noise() -> None:
    assert number_label(125.00000000000001) == "125"
    assert number_label(272831.0) == "272,831"
    assert number_label(0.1 + 0.2) == "0.3"
    assert number_label(26.912345) == "26.91"


async def _profile_app(ws: Workspace, pilot, app, table: str = "flights") -> None:  # type: ignore[no-untyped-def]
    await settle(app, pilot, pause=0.2)
    from workbench.tui.lake.catalog_tree import CatalogTree

    app.query_one("#catalog").post_message(CatalogTree.Chosen(table, None))  # as highlighting it does
    await settle(app, pilot, pause=0.2)


async def test_profile_chart_draws_duckdb_counts_and_clean_axis_labels(sample_workspace: Workspace) -> None:
    app = WorkbenchApp(sample_workspace)
    async with app.run_test(size=(160, 48)) as pilot:
        await _profile_app(sample_workspace, pilot, app)
        await pilot.press("d")
        view = app.query_one("#profile")
        for _ in range(300):
            if view.profile is not None and view.profile.complete:
                break
            await pilot.pause(0.1)
        assert view.profile is not None and view.profile.complete
        names = [c.name for c in view.profile.columns]
        # The carrier column: most frequent values as bars, each row's number is DuckDB's count.
        view.table.move_cursor(row=names.index("carrier"))
        await pilot.pause(0.2)
        with open_lake(sample_workspace) as lake:
            counts = dict(lake.cursor().execute("SELECT carrier, count(*) FROM flights GROUP BY 1").fetchall())
        drawn = _bar_rows(view.bars)
        assert drawn and all(drawn[c] == f"{counts[c]:,}" for c in drawn)
        # dep_delay: a histogram whose axis labels are round numbers.
        view.table.move_cursor(row=names.index("dep_delay"))
        await pilot.pause(0.2)
        assert view.chart.display and not view.bars.display
        plot = view.chart.render().plain
        assert "NULLs not shown" in plot
        assert not re.search(r"\d\.\d{6,}", plot) and not re.search(r"\d\.0\b", plot)


async def test_versus_target_bars_are_the_bucket_means_duckdb_computes(sample_workspace: Workspace) -> None:
    app = WorkbenchApp(sample_workspace)
    async with app.run_test(size=(160, 48)) as pilot:
        await _profile_app(sample_workspace, pilot, app, "penguins")
        await pilot.press("t")
        await settle(app, pilot)
        view = app.query_one("#target")
        view.compute("body_mass_g")
        for _ in range(300):
            if view.result is not None:
                break
            await pilot.pause(0.1)
        assert view.result is not None
        features = [f.feature for f in view.result.features]
        view.table.move_cursor(row=features.index("island"))
        await pilot.pause(0.2)
        with open_lake(sample_workspace) as lake:
            means = dict(lake.cursor().execute(
                "SELECT island, avg(body_mass_g) FROM penguins WHERE body_mass_g IS NOT NULL GROUP BY 1").fetchall())
        drawn = _bar_rows(view.bars)
        assert set(drawn) == set(means)
        assert all(drawn[o] == number_label(means[o]) for o in means)
