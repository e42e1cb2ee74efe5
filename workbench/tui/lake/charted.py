"""The layout the profile and versus-target views share: a caption, a table, and a chart of the row under the cursor."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widget import Widget
from textual.widgets import DataTable, Static
from textual_plotext import PlotextPlot

from workbench.tui.widgets.bars import BarList


class TableWithChart(Widget):
    """Subclasses set PREFIX (ids become PREFIX-caption, PREFIX-table, PREFIX-chart) and PLACEHOLDER."""

    PREFIX = "charted"
    PLACEHOLDER = ""
    DEFAULT_CSS = """
    TableWithChart { height: 1fr; }
    TableWithChart > .caption { height: 1; color: $text-muted; padding: 0 1; }
    TableWithChart > DataTable { height: 1fr; min-height: 6; }
    TableWithChart > PlotextPlot, TableWithChart > BarList { height: 45%; min-height: 6; max-height: 20;
                                                             border-top: solid $primary; }
    """

    def compose(self) -> ComposeResult:
        yield Static(self.PLACEHOLDER, id=f"{self.PREFIX}-caption", classes="caption")
        yield DataTable(id=f"{self.PREFIX}-table", zebra_stripes=True, cursor_type="row")
        yield PlotextPlot(id=f"{self.PREFIX}-chart")
        yield BarList(id=f"{self.PREFIX}-bars")

    def on_mount(self) -> None:
        self.bars.display = False

    @property
    def table(self) -> DataTable:
        return self.query_one(DataTable)

    @property
    def chart(self) -> PlotextPlot:
        return self.query_one(PlotextPlot)

    @property
    def bars(self) -> BarList:
        return self.query_one(BarList)

    def show_bars(self, title: str, bars: list[tuple[str, float]]) -> None:
        """Horizontal bars in place of the plot (plotext draws one-row bars against the wrong label)."""
        self.chart.display = False
        self.bars.display = True
        self.bars.show_bars(title, bars)

    def show_plot(self) -> PlotextPlot:
        """The plot in place of the bars, cleared, ready to draw on."""
        self.bars.display = False
        plot = self.chart
        plot.display = True
        plot.plt.clear_data()
        plot.plt.clear_figure()
        return plot

    def set_caption(self, text: str) -> None:
        self.query_one(f"#{self.PREFIX}-caption", Static).update(text)

    def focus_main(self) -> None:
        self.table.focus()
