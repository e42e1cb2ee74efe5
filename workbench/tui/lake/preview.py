"""Preview: pages of a table fetched from DuckDB on demand; jump, sort and filter; cell viewer."""

from __future__ import annotations

from typing import Callable

from rich.markup import escape
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widget import Widget
from textual.widgets import DataTable

from workbench.lake.preview import Page, PageQuery
from workbench.tui.lake.grid import PageGrid
from workbench.tui.lake.reporting import Done, LakeFailed, report

PAGE_SIZE = 200


class PreviewView(Widget):
    """One table (at a version), sorted/filtered as asked, `PAGE_SIZE` rows at a time."""

    DEFAULT_CSS = "PreviewView { height: 1fr; }"
    BINDINGS = [
        Binding("n", "page(1)", "Next page"),
        Binding("p", "page(-1)", "Prev page"),
        Binding("g", "jump", "Go to row"),
        Binding("s", "sort", "Sort"),
        Binding("slash", "filter", "Filter"),
        Binding("F", "frequencies", "Frequencies"),
        Binding("enter", "view_cell", "Cell", show=False),
    ]

    def __init__(self, get_lake: Callable[[], object], id: str | None = None) -> None:
        super().__init__(id=id)
        self.get_lake = get_lake
        self.query_state: PageQuery | None = None
        self.row_offset = 0
        self.total: int | None = None
        self._last_good: PageQuery | None = None
        self._wanted: tuple[tuple, int] | None = None  # the page asked for last; older answers are dropped

    def compose(self) -> ComposeResult:
        yield PageGrid("Choose a table in the catalog (tab switches focus).")

    @property
    def grid(self) -> PageGrid:
        return self.query_one(PageGrid)

    def focus_main(self) -> None:
        self.grid.table.focus()

    def show_table(self, table: str, version: int | None = None) -> None:
        """Start over on a table: first page, no sort or filter, pinned to the latest snapshot."""
        self.query_state = PageQuery(table, version)
        self.total = None
        self.grid.set_caption(f"{table}: loading…")
        self.load(0)

    def load(self, offset: int) -> None:
        if self.query_state is not None:
            self._wanted = (_shape(self.query_state), offset)
            self._fetch(self.query_state, offset, self.total)

    @work(thread=True, exclusive=True, group="lake-preview")
    def _fetch(self, query: PageQuery, offset: int, total: int | None) -> None:
        from workbench.lake.preview import read_page

        report(self, lambda: read_page(self.get_lake(), query, offset, PAGE_SIZE, total))  # type: ignore[arg-type]

    @on(Done)
    def _loaded(self, message: Done) -> None:
        message.stop()
        page: Page = message.value
        if page.query is None or (_shape(page.query), page.offset) != self._wanted:
            return  # a late page the user has already moved away from (another table, sort, filter or page)
        self.query_state = page.query or self.query_state  # now pinned to the snapshot it read
        self._last_good = self.query_state
        self.row_offset, self.total = page.offset, page.total_rows
        at = f"@{self.query_state.version}" if self.query_state.version else ""
        snap = f" · snapshot {page.snapshot}" if page.snapshot is not None else ""
        where = f"\n[b]filter:[/] {escape(self.query_state.where)}  [dim](/ edits, empty clears)[/]" if self.query_state.where else ""
        self.grid.show_page(page, f"{page.table}{at}: {page.caption}{snap}   n/p page · g go to · s sort · / filter · "
                                  f"F frequencies{where}")

    @on(LakeFailed)
    def _failed(self, message: LakeFailed) -> None:
        message.stop()
        self.notify(message.error, title="Lake", severity="error")
        if self._last_good is not None and self.query_state is not None and self._last_good.table == self.query_state.table:
            self.query_state = self._last_good  # a bad filter or sort: keep showing what worked
            self._wanted = (_shape(self._last_good), self.row_offset)
            self.total = self.grid.page.total_rows if self.grid.page is not None else None
            return
        self.grid.set_caption(f"[b red]Error:[/] {message.error}")

    def action_page(self, direction: int) -> None:
        if self.query_state is None or self.total is None:
            return
        current = self._wanted[1] if self._wanted is not None else self.row_offset
        offset = current + direction * PAGE_SIZE
        if offset < 0 or offset >= max(self.total, 1):
            self.notify("No more rows that way.", timeout=2)
            return
        self.load(offset)

    def action_jump(self) -> None:
        if self.query_state is None or self.total is None:
            return
        from workbench.tui.lake.dialogs import PromptScreen

        def go(answer: str | None) -> None:
            if not answer:
                return
            text = answer.strip().replace(",", "").replace("_", "")
            if text.endswith("%") and text[:-1].replace(".", "", 1).isdigit():
                row = int(float(text[:-1]) / 100 * (self.total or 0)) + 1
            elif text.isdigit():
                row = int(text)
            else:
                self.notify(f"{answer!r} is not a row number (or a percentage like 50%).", severity="warning")
                return
            from workbench.lake.preview import jump_offset

            self.load(jump_offset(row, self.total or 0))

        self.app.push_screen(PromptScreen("Go to row", f"1 – {self.total:,}, or a percentage like 50%"), go)

    def action_sort(self) -> None:
        """Sort by the column under the cursor: ascending, then descending, then storage order."""
        q = self.query_state
        column = self.grid.current_column()
        if q is None or column is None:
            return
        if q.sort != column:
            sort, desc = column, False
        elif not q.descending:
            sort, desc = column, True
        else:
            sort, desc = None, False
        self.query_state = PageQuery(q.table, q.version, sort, desc, q.where, q.snapshot)
        self.grid.set_caption(f"{q.table}: sorting by {sort}…" if sort else f"{q.table}: storage order…")
        self.load(0)

    def action_filter(self) -> None:
        q = self.query_state
        if q is None:
            return
        from workbench.tui.lake.dialogs import PromptScreen

        def apply(answer: str | None) -> None:
            if answer is None or self.query_state is None:
                return
            cur = self.query_state
            self.query_state = PageQuery(cur.table, cur.version, cur.sort, cur.descending, answer.strip() or None,
                                         cur.snapshot)
            self.total = None
            self.load(0)

        self.app.push_screen(PromptScreen(f"Filter {q.table} (SQL condition; empty clears)", "dep_delay > 60 AND origin = 'JFK'",
                                          q.where or ""), apply)

    def action_frequencies(self) -> None:
        """How often each value of the column under the cursor occurs, over the whole (filtered) table."""
        q, column = self.query_state, self.grid.current_column()
        if q is None or column is None:
            return
        from workbench.tui.lake.dialogs import FrequencyScreen

        self.app.push_screen(FrequencyScreen(self.get_lake, q, column))

    def action_view_cell(self) -> None:
        cell = self.grid.current_cell()
        if cell is not None:
            from workbench.tui.lake.dialogs import CellViewer

            self.app.push_screen(CellViewer(*cell))

    @on(DataTable.CellSelected)
    def _cell_selected(self, event: DataTable.CellSelected) -> None:
        event.stop()
        self.action_view_cell()


def _shape(query: PageQuery) -> tuple:
    """What a page answers, without the snapshot it was pinned to."""
    return (query.table, query.version, query.sort, query.descending, query.where)
