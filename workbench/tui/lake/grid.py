"""A page of rows on screen: an honest caption and a DataTable holding only that page."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.widget import Widget
from textual.widgets import DataTable, Static

from workbench.lake.preview import Page

MAX_CELL = 60  # characters shown in a cell; the cell viewer (enter) shows the rest


def cell_text(value: Any) -> str:
    if value is None:
        return "NULL"
    text = str(value).replace("\n", "⏎")
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"


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
        self.page = page
        table = self.table
        column = table.cursor_column
        table.clear(columns=True)
        for name, dtype in zip(page.columns, page.dtypes):
            table.add_column(f"{name}\n[dim]{dtype.lower()}[/]", key=name)
        table.add_rows([tuple(cell_text(v) for v in row) for row in page.rows])
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
