"""Lake tab: the table list (name, rows, version) and a paged preview of the highlighted table."""

from __future__ import annotations

import threading

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widget import Widget
from textual.widgets import DataTable, OptionList, Static
from textual.widgets.option_list import Option

from workbench.errors import WorkbenchError
from workbench.lake.catalog import TableInfo
from workbench.lake.preview import Page
from workbench.workspace import Workspace

PAGE_SIZE = 200


class LakePane(Widget):
    BINDINGS = [
        Binding("n,pagedown", "page(1)", "Next page"),
        Binding("p,pageup", "page(-1)", "Prev page"),
        Binding("r", "reload", "Reload"),
        Binding("tab", "switch_focus", "Tables/Preview", show=False),
    ]

    class TablesLoaded(Message):
        def __init__(self, tables: list[TableInfo]) -> None:
            super().__init__()
            self.tables = tables

    class PageLoaded(Message):
        def __init__(self, page: Page) -> None:
            super().__init__()
            self.page = page

    class LoadFailed(Message):
        def __init__(self, error: str) -> None:
            super().__init__()
            self.error = error

    def __init__(self, workspace: Workspace) -> None:
        super().__init__()
        self.workspace = workspace
        self._lake = None
        self._lake_lock = threading.Lock()
        self.tables: list[TableInfo] = []
        self.current_table: str | None = None
        self.row_offset = 0
        self.total_rows = 0

    def compose(self) -> ComposeResult:
        tables = OptionList(id="tables")
        tables.border_title = "Tables"
        yield tables
        with Vertical(id="preview-box"):
            yield Static("Loading the lake…", id="caption")
            yield DataTable(id="preview", zebra_stripes=True, cursor_type="row")

    def on_mount(self) -> None:
        self.load_tables()

    def focus_main(self) -> None:
        self.query_one("#tables", OptionList).focus()

    def action_switch_focus(self) -> None:
        tables = self.query_one("#tables", OptionList)
        (self.query_one("#preview", DataTable) if tables.has_focus else tables).focus()

    def _get_lake(self):  # type: ignore[no-untyped-def]
        from workbench.lake import open_lake

        with self._lake_lock:
            if self._lake is None:
                self._lake = open_lake(self.workspace)
            return self._lake

    def on_unmount(self) -> None:
        if self._lake is not None:
            self._lake.close()

    @work(thread=True, exclusive=True, group="lake-tables")
    def load_tables(self) -> None:
        from workbench.lake.catalog import list_tables

        try:
            self.post_message(self.TablesLoaded(list_tables(self._get_lake())))
        except WorkbenchError as exc:
            self.post_message(self.LoadFailed(exc.message))
        except Exception as exc:  # the TUI reports, never crashes
            self.post_message(self.LoadFailed(f"{type(exc).__name__}: {exc}"))

    @work(thread=True, exclusive=True, group="lake-page")
    def load_page(self, table: str, offset: int) -> None:
        from workbench.lake.preview import preview_table

        try:
            self.post_message(self.PageLoaded(preview_table(self._get_lake(), table, offset=offset, limit=PAGE_SIZE)))
        except WorkbenchError as exc:
            self.post_message(self.LoadFailed(exc.message))
        except Exception as exc:
            self.post_message(self.LoadFailed(f"{type(exc).__name__}: {exc}"))

    @on(TablesLoaded)
    def _show_tables(self, message: TablesLoaded) -> None:
        self.tables = message.tables
        option_list = self.query_one("#tables", OptionList)
        option_list.clear_options()
        option_list.add_options([Option(f"{t.name}  [dim]{t.row_count:,} rows · v{t.version or '-'}[/]", id=t.name)
                                 for t in self.tables])
        if not self.tables:
            self.query_one("#caption", Static).update("The lake is empty: load files with `workbench lake ingest FILE`.")
            return
        names = [t.name for t in self.tables]
        if self.current_table in names:
            option_list.highlighted = names.index(self.current_table)
        else:
            option_list.highlighted = 0
            option_list.focus()

    @on(OptionList.OptionHighlighted, "#tables")
    def _table_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        name = event.option.id
        if name and name != self.current_table:
            self.current_table = name
            self.row_offset = 0
            self.query_one("#caption", Static).update(f"{name}: loading…")
            self.load_page(name, 0)

    @on(PageLoaded)
    def _show_page(self, message: PageLoaded) -> None:
        page = message.page
        if page.table != self.current_table:
            return  # a stale page for a table the user has moved away from
        self.row_offset, self.total_rows = page.offset, page.total_rows
        table = self.query_one("#preview", DataTable)
        table.clear(columns=True)
        table.add_columns(*page.columns)
        table.add_rows([tuple("NULL" if v is None else str(v) for v in row) for row in page.rows])
        self.query_one("#caption", Static).update(f"{page.table}: {page.caption}   (n/p: next/previous page)")

    @on(LoadFailed)
    def _show_error(self, message: LoadFailed) -> None:
        self.query_one("#caption", Static).update(f"[b red]Error:[/] {message.error}")
        self.notify(message.error, title="Lake", severity="error")

    def action_page(self, direction: int) -> None:
        if self.current_table is None:
            return
        new_offset = self.row_offset + direction * PAGE_SIZE
        if new_offset < 0 or new_offset >= max(self.total_rows, 1):
            self.notify("No more rows that way.", timeout=2)
            return
        self.load_page(self.current_table, new_offset)

    def action_reload(self) -> None:
        self.current_table = None
        self.load_tables()

    def refresh_data(self) -> None:
        """Called when the tab is shown: tables may have been written by other processes."""
        if self.tables:
            self.load_tables()
