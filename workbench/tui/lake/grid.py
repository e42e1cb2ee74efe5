"""A page of rows on screen: an honest caption and a DataTable holding only that page."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from rich.cells import cell_len
from rich.markup import escape
from rich.measure import Measurement
from rich.text import Text
from textual.app import ComposeResult
from textual.widget import Widget
from textual.widgets import DataTable, Static

from workbench.lake.preview import Page

MAX_CELL = 60  # characters shown in a cell; the cell viewer (enter) shows the rest


SIGNIFICANT = 6  # digits a float shows in the grid; the cell viewer (enter) shows every digit


def format_number(value: Any) -> str:
    """A number as a data person reads it: thousands separated from five digits on (so years and codes read
    2007, not 2,007), floats to six significant digits without trailing zeros (39.1, not 39.100000000000001),
    scientific only when very large or very small."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, (int, Decimal)):
        return f"{value:,}" if abs(value) >= 10_000 else str(value)
    v = float(value)
    if not math.isfinite(v):
        return str(v)
    if v == 0:
        return "0"
    if abs(v) >= 1e15 or abs(v) < 1e-4:
        return f"{v:.{SIGNIFICANT - 1}e}"
    decimals = min(SIGNIFICANT, max(0, SIGNIFICANT - 1 - math.floor(math.log10(abs(v)))))
    text = f"{v:{',' if abs(v) >= 10_000 else ''}.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def is_numeric_type(dtype: str) -> bool:
    from workbench.lake.profile import column_kind

    return column_kind(dtype) == "numeric"


def cell_text(value: Any) -> str:
    if value is None:
        return "NULL"
    text = str(value).replace("\n", "⏎")
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"


class Cell(Text):
    """A one-line grid cell. DataTable measures every cell of every new page, and rich's measure of a Text splits
    it into words for a minimum width that a one-line cell never uses (80 ms of a 200-row page flip)."""

    def __rich_measure__(self, console: Any, options: Any) -> Measurement:
        width = self.cell_len
        return Measurement(width, width)


def grid_cell(value: Any, numeric: bool) -> Text:
    """What a cell shows: numbers right-aligned and formatted, NULL dimmed, the rest as text.

    Always a `Text`: DataTable parses a plain string as markup, on every measure and render (a tenth of a page
    flip), and a value such as `[b]x` would lose its brackets."""
    if value is None:
        return Cell("NULL", style="dim italic", justify="right" if numeric else "left")
    if numeric and isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return Cell(format_number(value), justify="right")
    return Cell(cell_text(value))


def _cell_width(cell: str | Text) -> int:
    return cell.cell_len if isinstance(cell, Text) else cell_len(cell)


class PageGrid(Widget):
    """Caption + DataTable of one Page; never more rows than one page."""

    DEFAULT_CSS = """
    PageGrid { height: 1fr; }
    PageGrid > .grid-caption { height: auto; max-height: 3; color: $text-muted; padding: 0 1; }
    PageGrid > DataTable { height: 1fr; }
    """

    def __init__(self, placeholder: str = "", id: str | None = None) -> None:
        super().__init__(id=id)
        self.placeholder = placeholder
        self.page: Page | None = None

    def compose(self) -> ComposeResult:
        yield Static(self.placeholder, classes="grid-caption")
        yield DataTable(zebra_stripes=True, cursor_type="cell", header_height=2)

    @property
    def table(self) -> DataTable:
        return self.query_one(DataTable)

    def set_caption(self, text: str) -> None:
        self.query_one(".grid-caption", Static).update(text)

    def clear_page(self, caption: str) -> None:
        """No rows at all (after an error: a result that is not the query's must not stay on screen)."""
        self.page = None
        self.table.clear(columns=True)
        self.set_caption(caption)

    def show_page(self, page: Page, caption: str) -> None:
        """The page's rows, numbers right-aligned; the sorted column's header carries ▲ or ▼."""
        self.page = page
        table = self.table
        column = table.cursor_column
        table.clear(columns=True)
        numeric = [is_numeric_type(dtype) for dtype in page.dtypes]
        sort = page.query.sort if page.query is not None else None
        arrow = " ▼" if page.query is not None and page.query.descending else " ▲"
        rows = [tuple(grid_cell(v, n) for v, n in zip(row, numeric)) for row in page.rows]
        for i, (name, dtype, is_number) in enumerate(zip(page.columns, page.dtypes, numeric)):
            label = Text.from_markup(f"{escape(name)}{arrow if name == sort else ''}\n[dim]{escape(dtype.lower())}[/]",
                                     justify="right" if is_number else "left")
            # Widths from this page's cells, set here: DataTable's own measuring happens on a later idle, and a
            # screen painted before it showed every text column cut to its header's width.
            width = max([_cell_width(line) for line in label.split()] + [_cell_width(r[i]) for r in rows])
            table.add_column(label, key=name, width=width)
        table.add_rows(rows)
        if page.columns:
            table.move_cursor(row=0, column=min(column, len(page.columns) - 1))
        self.set_caption(caption)

    def current_cell(self) -> tuple[str, str, Any] | None:
        """(column, type, full value) under the cursor, from the page (not the truncated text)."""
        if self.page is None or not self.page.rows:
            return None
        coord = self.table.cursor_coordinate
        if coord.row >= len(self.page.rows) or coord.column >= len(self.page.columns):
            return None
        return self.page.columns[coord.column], self.page.dtypes[coord.column], self.page.rows[coord.row][coord.column]

    def current_column(self) -> str | None:
        if self.page is None or not self.page.columns:
            return None
        return self.page.columns[min(self.table.cursor_column, len(self.page.columns) - 1)]
