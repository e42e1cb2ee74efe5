"""The Workbench TUI: Lake, Runs, Audit, Models, Plugins and Pipelines tabs over one workspace.

Start-up stays light: this module imports Textual and the lake/audit modules only; nothing here pulls
in scikit-learn or LightGBM.
"""

from __future__ import annotations

import asyncio
import os
import time

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Header, TabbedContent, TabPane

from workbench.tui.panes.audit import AuditPane
from workbench.tui.panes.lake import LakePane
from workbench.tui.panes.models import ModelsPane
from workbench.tui.panes.pipelines import PipelinesPane
from workbench.tui.panes.plugins import PluginsPane
from workbench.tui.panes.runs import RunsPane
from workbench.workspace import Workspace


# After the terminal is gone: how long a clean exit may take before the process ends itself (a clean exit
# writes to the dead terminal, and Textual's writer can block on that for ever).
TERMINAL_GONE_GRACE_S = 3.0
TERMINAL_GONE_EXIT = 129  # 128 + SIGHUP, as a shell reports a process the hang-up ended


class WorkbenchApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "Workbench"
    BINDINGS = [
        Binding("1", "show_tab('lake')", "Lake"),
        Binding("2", "show_tab('runs')", "Runs"),
        Binding("3", "show_tab('audit')", "Audit"),
        Binding("4", "show_tab('models')", "Models"),
        Binding("5", "show_tab('plugins')", "Plugins"),
        Binding("6", "show_tab('pipelines')", "Pipelines"),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(self, workspace: Workspace, notice: str | None = None) -> None:
        super().__init__()
        self.workspace = workspace
        self.notice = notice
        self.identity_text = ""
        self.sub_title = f"{workspace.settings.name} — {workspace.root}"

    def on_mount(self) -> None:
        if not self.is_headless:
            from workbench.tui.terminal import TerminalWatch

            self._loop_for_watch = asyncio.get_running_loop()
            TerminalWatch(self._terminal_gone).start()
        if self.notice:
            self.notify(self.notice, title="Workbench", timeout=10)
        self._load_identity()

    @work(thread=True, exclusive=True, group="identity")
    def _load_identity(self) -> None:
        """Who you are and your role, in the header (read after first paint: it replays the governance ledger)."""
        from workbench.access.whoami import describe

        try:
            info = describe(self.workspace)
        except Exception as exc:  # noqa: BLE001 - the header says so; the TUI never crashes on it
            text = f"identity unknown: {exc}"
        else:
            declared = " · DECLARED identity" if info["identity"] == "declared" else ""
            text = f"{info['actor']} ({info['role']}){declared}"
        self.call_from_thread(self._show_identity, text)

    def _show_identity(self, text: str) -> None:
        self.identity_text = text
        self.sub_title = f"{text} — {self.sub_title}"  # first: at 80 columns the path is what gets cut

    def compose(self) -> ComposeResult:
        yield Header()
        with TabbedContent(initial="lake", id="tabs"):
            with TabPane("Lake [1]", id="lake"):
                yield LakePane(self.workspace)
            with TabPane("Runs [2]", id="runs"):
                yield RunsPane(self.workspace)
            with TabPane("Audit [3]", id="audit"):
                yield AuditPane(self.workspace)
            with TabPane("Models [4]", id="models"):
                yield ModelsPane(self.workspace)
            with TabPane("Plugins [5]", id="plugins"):
                yield PluginsPane(self.workspace)
            with TabPane("Pipelines [6]", id="pipelines"):
                yield PipelinesPane(self.workspace)
        yield Footer()

    def get_system_commands(self, screen):  # type: ignore[no-untyped-def]
        yield from super().get_system_commands(screen)
        from workbench.tui.commands import tab_commands

        yield from tab_commands(self)

    def _terminal_gone(self) -> None:
        """The terminal hung up (in the watch thread): stop reading it, exit, and if a clean exit hangs on the
        dead terminal, end the process anyway. Detached runs carry on; the lake and logs are only read here,
        and every write is a transaction, so nothing is left half-done."""
        exit_event = getattr(self._driver, "exit_event", None)
        if exit_event is not None:
            exit_event.set()  # Textual's Linux input thread otherwise spins on end-of-file
        try:
            self._loop_for_watch.call_soon_threadsafe(self.exit, None, TERMINAL_GONE_EXIT)
        except RuntimeError:  # the loop is closed: the app is already ending
            pass
        time.sleep(TERMINAL_GONE_GRACE_S)
        os._exit(TERMINAL_GONE_EXIT)

    def action_show_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab
        pane = self.query_one(f"#{tab} > *")
        pane.focus_main()  # type: ignore[attr-defined]

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        pane = event.pane.children[0] if event.pane.children else None
        if pane is not None and hasattr(pane, "refresh_data"):
            pane.refresh_data()
