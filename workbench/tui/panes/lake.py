"""Lake tab: the catalog tree on the left; preview, profile, versus-target and SQL views on the right.

The pane owns the process's one lake connection (DuckLake readers do not block writers, so it stays
open). The profile, versus-target and SQL views are built the first time they are shown, which keeps
plotext and the SQL grammar off the start-up path.
"""

from __future__ import annotations

import threading
from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widget import Widget
from textual.widgets import ContentSwitcher, Static

from workbench.errors import WorkbenchError
from workbench.tui.lake.catalog_tree import CatalogTree
from workbench.tui.lake.preview import PreviewView
from workbench.workspace import Workspace

VIEWS = {"preview": "Preview (v)", "profile": "Profile (d)", "target": "Versus target (t)", "sql": "SQL (e)"}


class LakePane(Widget):
    BINDINGS = [
        Binding("v", "view('preview')", "Preview"),
        Binding("d", "view('profile')", "Profile"),
        Binding("t", "view('target')", "Vs target"),
        Binding("e", "view('sql')", "SQL"),
        Binding("i", "ingest", "Ingest"),
        Binding("x", "export", "Export"),
        # Not in the footer (the snapshots' footers stay as they are); the palette has "Lake: check".
        Binding("c", "check", "Check", show=False),
        Binding("r", "reload", "Reload"),
        Binding("tab", "switch_focus", "Catalog/View", show=False),
    ]

    class CheckDone(Message):
        def __init__(self, text: str, severity: str) -> None:
            super().__init__()
            self.text, self.severity = text, severity

    class ExportDone(Message):
        def __init__(self, text: str, error: bool) -> None:
            super().__init__()
            self.text, self.error = text, error

    def __init__(self, workspace: Workspace) -> None:
        super().__init__()
        self.workspace = workspace
        self._lake = None
        self._lake_lock = threading.Lock()
        self.current: tuple[str, int | None] | None = None
        self.view = "preview"

    def compose(self) -> ComposeResult:
        yield CatalogTree(self.workspace, self._get_lake, id="catalog")
        with Vertical(id="lake-main"):
            yield Static(self._view_bar(), id="view-bar")
            with ContentSwitcher(initial="preview", id="lake-views"):
                yield PreviewView(self._get_lake, id="preview")

    def _view_bar(self) -> str:
        return "  ".join(f"[b reverse] {label} [/]" if key == self.view else f" {label} " for key, label in VIEWS.items())

    def _get_lake(self):  # type: ignore[no-untyped-def]
        from workbench.lake import open_lake

        with self._lake_lock:
            if self._lake is None:
                self._lake = open_lake(self.workspace, read_only=True)  # every view only reads
            return self._lake

    def on_unmount(self) -> None:
        if self._lake is not None:
            self._lake.close()

    # -- focus and views ----------------------------------------------------------------------
    def focus_main(self) -> None:
        self.query_one(CatalogTree).focus()

    def _active_view(self) -> Widget:
        return self.query_one(f"#lake-views > #{self.view}")

    def action_switch_focus(self) -> None:
        tree = self.query_one(CatalogTree)
        if tree.has_focus:
            self._active_view().focus_main()  # type: ignore[attr-defined]
        else:
            tree.focus()

    def action_view(self, view: str) -> None:
        switcher = self.query_one("#lake-views", ContentSwitcher)
        if not switcher.query(f"#{view}"):
            switcher.mount(self._build_view(view))
            self.call_after_refresh(self.action_view, view)
            return
        self.view = view
        switcher.current = view
        self.query_one("#view-bar", Static).update(self._view_bar())
        widget = self._active_view()
        if self.current is not None and hasattr(widget, "show_table"):
            widget.show_table(*self.current)
        widget.focus_main()  # type: ignore[attr-defined]

    def _build_view(self, view: str) -> Widget:
        if view == "profile":
            from workbench.tui.lake.profile_view import ProfileView

            return ProfileView(self._get_lake, id="profile")
        if view == "target":
            from workbench.tui.lake.target_view import VersusTargetView

            return VersusTargetView(self._get_lake, id="target")
        from workbench.tui.lake.sql_console import SqlConsole

        return SqlConsole(self.workspace, self._get_lake, id="sql")

    @on(CatalogTree.Chosen)
    def _chosen(self, message: CatalogTree.Chosen) -> None:
        if self.current == (message.table, message.version):
            return
        self.current = (message.table, message.version)
        self.query_one(PreviewView).show_table(message.table, message.version)
        widget = self._active_view()
        if widget.id != "preview" and hasattr(widget, "show_table"):
            widget.show_table(message.table, message.version)

    # -- ingest, export, reload ---------------------------------------------------------------
    def action_ingest(self) -> None:
        from workbench.tui.lake.dialogs import IngestScreen

        def done(versions: list | None) -> None:
            if versions:
                text = ", ".join(f"{v.table} v{v.version} ({v.row_count:,} rows)" for v in versions)
                self.notify(f"Ingested {text}.", title="Lake")
                self.action_reload()

        self.app.push_screen(IngestScreen(self.workspace, self._get_lake), done)

    def action_export(self) -> None:
        if self.view == "sql":
            self._active_view().action_export()  # type: ignore[attr-defined]
            return
        if self.current is None:
            self.notify("Choose a table to export first.", severity="warning")
            return
        from workbench.tui.lake.sql_console import ExportRequested

        self.post_message(ExportRequested(table=self.current[0], version=self.current[1]))

    def on_export_requested(self, message) -> None:  # type: ignore[no-untyped-def]
        from workbench.tui.lake.dialogs import ExportScreen

        if message.table is not None:
            what = message.table + (f"@{message.version}" if message.version else "")
            default = str(Path.cwd() / f"{message.table.replace('.', '_')}.csv")
        else:
            what, default = "the query result", str(Path.cwd() / "result.csv")

        def chosen(answer: str | None) -> None:
            if answer:
                force = answer.startswith("!")
                self._export(message.table, message.version, message.query, Path(answer.lstrip("!")), force)

        self.app.push_screen(ExportScreen(what, default), chosen)

    @work(thread=True, group="lake-export")
    def _export(self, table: str | None, version: int | None, query: str | None, path: Path, force: bool) -> None:
        from workbench.lake.operations import export

        ws = self.workspace
        try:
            result = export(self._get_lake(), path, table=table, version=version, query=query, overwrite=force,
                            actor=ws.actor)
            self.post_message(self.ExportDone(f"Exported {result.row_count:,} rows to {result.path}.", False))
        except WorkbenchError as exc:
            self.post_message(self.ExportDone(exc.message, True))
        except Exception as exc:
            self.post_message(self.ExportDone(f"{type(exc).__name__}: {exc}", True))

    @on(ExportDone)
    def _export_done(self, message: ExportDone) -> None:
        self.notify(message.text, title="Export", severity="error" if message.error else "information")

    def action_check(self) -> None:
        """Check the highlighted table's version against its expectations (as `workbench lake check`)."""
        if self.current is None or "." in self.current[0]:
            self.notify("Choose a lake table to check first.", severity="warning")
            return
        self._check(*self.current)

    @work(thread=True, group="lake-check")
    def _check(self, table: str, version: int | None) -> None:
        from workbench.checks.run import check_table

        try:
            outcome = check_table(self.workspace, table, version)
        except WorkbenchError as exc:
            self.post_message(self.CheckDone(exc.message, "error"))
            return
        if outcome.passed:
            text = f"{table} v{outcome.version} certified ({outcome.rows:,} rows)."
        else:
            text = f"{table} v{outcome.version} failed {len(outcome.failures)} check(s): " + " ".join(outcome.failures[:3])
            if outcome.alert not in (None, "unconfigured"):
                text += f" (alert {outcome.alert})"
        self.post_message(self.CheckDone(text, "information" if outcome.passed else "error"))

    @on(CheckDone)
    def _check_done(self, message: CheckDone) -> None:
        self.notify(message.text, title="Checks", severity=message.severity)  # type: ignore[arg-type]
        self.query_one(CatalogTree).reload()

    def on_sql_console_lake_changed(self) -> None:
        self.action_reload()

    def action_reload(self) -> None:
        self.current = None  # re-pin the preview to the newest snapshot once the catalog is back
        self.query_one(CatalogTree).reload()

    def refresh_data(self) -> None:
        """Called when the tab is shown: tables may have been written by other processes."""
        self.query_one(CatalogTree).reload()


LAKE_COMMANDS = [
    ("Lake: preview", "Pages of the highlighted table", "view('preview')"),
    ("Lake: profile", "Per-column statistics and charts", "view('profile')"),
    ("Lake: versus target", "Every column against a target column", "view('target')"),
    ("Lake: SQL console", "Read-only SQL; writes with ctrl+t", "view('sql')"),
    ("Lake: ingest a file", "Load CSV/Parquet as a new table or version", "ingest"),
    ("Lake: export", "The table or the SQL result to CSV/Parquet/JSON", "export"),
    ("Lake: check", "Check the highlighted table against its expectations; certify it if it passes", "check"),
    ("Lake: reload the catalog", "See tables written by other processes", "reload"),
]


def lake_commands(app):  # type: ignore[no-untyped-def]
    """Command-palette entries for the Lake tab (the App adds them to its system commands)."""
    from textual.app import SystemCommand

    def run(action: str):  # type: ignore[no-untyped-def]
        def go() -> None:
            app.action_show_tab("lake")
            pane = app.query_one(LakePane)
            pane.call_after_refresh(pane.run_action, action)

        return go

    for title, help_text, action in LAKE_COMMANDS:
        yield SystemCommand(title, help_text, run(action))
