"""Profile: one row of statistics per column, streaming in by stage, and a chart of the highlighted column."""

from __future__ import annotations

from typing import Callable

from textual import on, work
from textual.message import Message
from textual.widgets import DataTable
from textual_plotext import PlotextPlot

from workbench.lake.profile import ColumnProfile, TableProfile
from workbench.tui.lake.charted import TableWithChart
from workbench.tui.lake.reporting import LakeFailed, report

_STAGE_TEXT = {"basic": "basic statistics; distinct counts and charts coming…",
               "stats": "distinct counts, quartiles and histograms; top values coming…", "charts": "complete"}


def fmt(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1e15 else f"{value:.3e}"
    if isinstance(value, int):
        return f"{value:,}"
    text = str(value)
    return text if len(text) <= 24 else text[:23] + "…"


def draw_column_chart(plot: PlotextPlot, col: ColumnProfile) -> None:
    """A bar chart of the most frequent values, else a histogram, else a note."""
    plt = plot.plt
    plt.clear_data()
    plt.clear_figure()
    if col.top_values:
        labels = [v if len(v) <= 14 else v[:13] + "…" for v, _ in col.top_values]
        plt.bar(labels, [n for _, n in col.top_values], orientation="horizontal")
        plt.title(f"{col.name}: most frequent values")
    elif col.histogram:
        centers = [(lo + hi) / 2 for lo, hi, _ in col.histogram]
        plt.bar(centers, [n for _, _, n in col.histogram], width=1.0)
        if col.kind == "temporal":
            plt.xlabel("seconds since 1970 (UTC)")
        plt.title(f"{col.name}: histogram ({len(col.histogram)} bins)")
    else:
        plt.title(f"{col.name}: {col.note or 'no chart yet for this column'}")
    plot.refresh()


class ProfileView(TableWithChart):
    PREFIX = "profile"
    PLACEHOLDER = "Choose a table, then press d."

    class Staged(Message):
        def __init__(self, profile: TableProfile | None) -> None:
            super().__init__()
            self.profile = profile

    def __init__(self, get_lake: Callable[[], object], id: str | None = None) -> None:
        super().__init__(id=id)
        self.get_lake = get_lake
        self.profile: TableProfile | None = None
        self.subject: tuple[str, int | None] | None = None

    def on_mount(self) -> None:
        self.table.add_columns(
            "column", "type", "null %", "distinct≈", "min", "max", "mean", "std", "q25", "median", "q75", "top value")

    def show_table(self, table: str, version: int | None) -> None:
        if self.subject == (table, version) and self.profile is not None:
            return
        self.subject = (table, version)
        self.profile = None
        self.table.clear()
        self.set_caption(f"Profiling {table}…")
        self._run(table, version)

    @work(thread=True, exclusive=True, group="lake-profile")
    def _run(self, table: str, version: int | None) -> None:
        from workbench.lake.profile import profile_stages

        def stream() -> None:
            for stage in profile_stages(self.get_lake(), table, version):  # type: ignore[arg-type]
                self.post_message(self.Staged(stage))

        report(self, stream, lambda _: self.Staged(None))

    @on(Staged)
    def _staged(self, message: Staged) -> None:
        p = message.profile
        if p is None:
            return  # the end of the stream
        if self.subject != (p.table, p.version):
            return
        self.profile = p
        table = self.table
        row = table.cursor_row
        table.clear()
        for c in p.columns:
            top = f"{c.top_values[0][0]} ({c.top_values[0][1]:,})" if c.top_values else (c.note or "")
            table.add_row(c.name, c.dtype.lower(), f"{c.null_pct:.1f}", fmt(c.distinct), fmt(c.min), fmt(c.max),
                          fmt(c.mean), fmt(c.std), fmt(c.q25), fmt(c.q50), fmt(c.q75), fmt(top), key=c.name)
        if p.columns:
            table.move_cursor(row=min(row, len(p.columns) - 1))
            draw_column_chart(self.chart, p.columns[min(row, len(p.columns) - 1)])
        at = f"@{p.version}" if p.version else ""
        self.set_caption(
            f"{p.table}{at}: {p.row_count:,} rows, {len(p.columns)} columns — {_STAGE_TEXT[p.stage]} ({p.elapsed_s:.2f} s)")

    @on(DataTable.RowHighlighted, "#profile-table")
    def _row(self, event: DataTable.RowHighlighted) -> None:
        if self.profile is not None and event.row_key is not None and event.row_key.value is not None:
            draw_column_chart(self.chart, self.profile.column(event.row_key.value))

    @on(LakeFailed)
    def _failed(self, message: LakeFailed) -> None:
        message.stop()
        self.subject = None
        self.set_caption(f"[b red]Error:[/] {message.error}")
        self.notify(message.error, title="Profile", severity="error")
