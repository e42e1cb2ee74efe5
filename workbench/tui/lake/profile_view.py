"""Profile: one row of statistics per column, streaming in by stage, and a chart of the highlighted column."""

from __future__ import annotations

from typing import Callable

from textual import on, work
from textual.message import Message
from textual.widgets import DataTable

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


def histogram_ticks(col: ColumnProfile) -> tuple[list[float], list[str]]:
    """Round tick positions across the histogram's range, labelled as numbers (or dates) a person writes."""
    from workbench.tui.widgets.bars import epoch_label, nice_ticks, number_label

    assert col.histogram
    lo, hi = col.histogram[0][0], col.histogram[-1][1]
    ticks = nice_ticks(lo, hi)
    if col.kind == "temporal":
        return ticks, [epoch_label(t, hi - lo) for t in ticks]
    return ticks, [number_label(t) for t in ticks]


def draw_column_chart(view: TableWithChart, col: ColumnProfile) -> None:
    """Bars of the most frequent values, else a histogram of the non-NULL values, else a note."""
    from workbench.tui.widgets.bars import nice_ticks, number_label

    if col.top_values:
        view.show_bars(f"{col.name}: most frequent values (count)", [(v, n) for v, n in col.top_values])
        return
    plot = view.show_plot()
    plt = plot.plt
    if col.histogram:
        centers = [(lo + hi) / 2 for lo, hi, _ in col.histogram]
        counts = [n for _, _, n in col.histogram]
        plt.bar(centers, counts, width=1.0)
        xs, xlabels = histogram_ticks(col)
        plt.xticks(xs, xlabels)
        ys = [y for y in nice_ticks(0, max(counts) or 1) if float(y).is_integer()]
        plt.yticks(ys, [number_label(y) for y in ys])
        nulls = f"; {col.nulls:,} NULLs not shown" if col.nulls else ""
        plt.title(f"{col.name}: histogram of {col.count:,} values ({len(col.histogram)} bins{nulls})")
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
        super().on_mount()
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
            draw_column_chart(self, p.columns[min(row, len(p.columns) - 1)])
        at = f"@{p.version}" if p.version else ""
        self.set_caption(
            f"{p.table}{at}: {p.row_count:,} rows, {len(p.columns)} columns — {_STAGE_TEXT[p.stage]} ({p.elapsed_s:.2f} s)")

    @on(DataTable.RowHighlighted, "#profile-table")
    def _row(self, event: DataTable.RowHighlighted) -> None:
        if self.profile is not None and event.row_key is not None and event.row_key.value is not None:
            draw_column_chart(self, self.profile.column(event.row_key.value))

    @on(LakeFailed)
    def _failed(self, message: LakeFailed) -> None:
        message.stop()
        self.subject = None
        self.set_caption(f"[b red]Error:[/] {message.error}")
        self.notify(message.error, title="Profile", severity="error")
