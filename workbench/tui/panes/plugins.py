"""Plugins tab: installed back-ends and their status; the selected one's options as a form, and a check.

Listing reads entry points only: no plugin is imported when the tab mounts (a plugin that hangs or
calls `sys.exit()` at import must not stop the TUI from starting). The plugin the user selects is
imported then, in a worker, and its row says whether it loads, is broken, or cannot start with the
workspace's settings ("fails", as `plugins check` would say), with the reason; only a check says "works";
the form is built from its declared options, pre-filled from `workbench.toml`; `c` starts the back-end
with the form's values and runs a tiny job on it within the overall deadline (`[backends] timeout_s`),
recording the outcome (`plugin.loaded` / `plugin.failed`) in the audit log.
"""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.widget import Widget
from textual.widgets import DataTable, Input, Label, Static, Switch

from workbench.workspace import Workspace


class BackendOptionsForm(VerticalScroll):
    """One field per declared option of a back-end (reusable, e.g. by a new-run form).

    `values()` returns what the user typed, as strings/bools keyed by option name; the option schema
    converts and checks them when the back-end is opened."""

    DEFAULT_CSS = """
    BackendOptionsForm { height: auto; max-height: 16; }
    BackendOptionsForm .option-row { height: auto; }
    BackendOptionsForm Label { color: $text-muted; }
    """

    def __init__(self, schema: Any, configured: dict[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.schema = schema
        self.configured = dict(configured or {})

    def compose(self) -> ComposeResult:
        if not len(self.schema):
            yield Label("This back-end takes no options.")
        for opt in self.schema:
            hint = f"  ({opt.type.__name__}; toml key {opt.name}" + (f"; env {opt.env}" if opt.env else "") + ")"
            yield Label(f"{opt.name}{' *' if opt.required else ''} — {opt.help}{hint}")
            if opt.secret:
                yield Static(f"secret: read from ${opt.env} only", classes="option-row")
            elif opt.type is bool:
                value = self.configured.get(opt.name, opt.default)
                yield Switch(value=bool(value), id=f"opt-{opt.name}")
            else:
                value = self.configured.get(opt.name)
                yield Input(value="" if value is None else str(value),
                            placeholder="" if opt.default is None else str(opt.default), id=f"opt-{opt.name}")

    def values(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for opt in self.schema:
            if opt.secret:
                continue
            if opt.type is bool:
                switch = self.query_one(f"#opt-{opt.name}", Switch)
                if switch.value != bool(self.configured.get(opt.name, opt.default)):
                    out[opt.name] = switch.value
            else:
                text = self.query_one(f"#opt-{opt.name}", Input).value.strip()
                if text:
                    out[opt.name] = text
        return out


class PluginsPane(Widget):
    BINDINGS = [Binding("r", "reload", "Reload"), Binding("c", "check", "Check back-end")]

    class PluginsLoaded(Message):
        def __init__(self, infos: list[Any]) -> None:
            super().__init__()
            self.infos = infos

    class OptionsLoaded(Message):
        def __init__(self, key: str, schema: Any, configured: dict[str, Any], error: str | None,
                     problem: str | None = None) -> None:
            super().__init__()
            self.key = key
            self.schema = schema
            self.configured = configured
            self.error = error
            self.problem = problem  # why the workspace's settings cannot start it (found without starting it)

    class CheckFinished(Message):
        def __init__(self, key: str, ok: bool, text: str, example: bool = False) -> None:
            super().__init__()
            self.key = key
            self.ok = ok
            self.text = text
            self.example = example

    def __init__(self, workspace: Workspace) -> None:
        super().__init__()
        self.workspace = workspace
        self.infos: dict[str, Any] = {}
        self.selected: str | None = None

    def compose(self) -> ComposeResult:
        table = DataTable(id="plugins-table", cursor_type="row", zebra_stripes=True)
        table.border_title = "Back-end plugins"
        yield table
        with Vertical(id="plugin-detail"):
            yield Static("Loading plugins…", id="plugin-info")
            yield Vertical(id="plugin-options")
            yield Static("", id="check-result")

    def on_mount(self) -> None:
        table = self.query_one("#plugins-table", DataTable)
        for column in ("name", "kind", "package", "version", "status"):
            table.add_column(column, key=column)
        self.load_plugins()

    def focus_main(self) -> None:
        self.query_one("#plugins-table", DataTable).focus()

    def refresh_data(self) -> None:
        if not self.infos:
            self.load_plugins()

    def action_reload(self) -> None:
        self.load_plugins()

    @work(thread=True, exclusive=True, group="plugins")
    def load_plugins(self) -> None:
        from workbench.backends.discovery import list_plugins

        self.post_message(self.PluginsLoaded(list_plugins()))  # metadata only: nothing is imported here

    @on(PluginsLoaded)
    def _show_plugins(self, message: PluginsLoaded) -> None:
        table = self.query_one("#plugins-table", DataTable)
        table.clear()
        self.infos = {}
        for info in message.infos:
            key = f"{info.kind}:{info.name}:{info.package}"
            self.infos[key] = info
            table.add_row(info.name, info.kind, info.package or "", info.version or "", _status(info.status), key=key)
        broken = sum(i.status == "broken" for i in message.infos)
        self.query_one("#plugin-info", Static).update(
            f"{len(message.infos)} back-ends installed" + (f", [b red]{broken} broken[/]" if broken else "")
            + ". Select one to load it and see its options; press c to check it.")

    def _set_status(self, key: str, status: str, error: str | None) -> None:
        """Record what importing the selected plugin showed, in `self.infos` and in its row."""
        from dataclasses import replace

        self.infos[key] = replace(self.infos[key], status=status, error=error)
        table = self.query_one("#plugins-table", DataTable)
        if key in table.rows:
            table.update_cell(key, "status", _status(status))

    @on(DataTable.RowHighlighted, "#plugins-table")
    def _highlight(self, event: DataTable.RowHighlighted) -> None:
        # The row the table highlights by itself when it fills is not a choice: import only when the
        # user moves to a row (the table has focus) or presses Enter on it.
        self._show_selected(event.row_key.value if event.row_key else None,
                            load=self.query_one("#plugins-table", DataTable).has_focus)

    @on(DataTable.RowSelected, "#plugins-table")
    def _choose(self, event: DataTable.RowSelected) -> None:
        self._show_selected(event.row_key.value if event.row_key else None, load=True)

    def _show_selected(self, key: str | None, *, load: bool) -> None:
        if key is None or key not in self.infos:
            return
        self.selected = key
        info = self.infos[key]
        self.query_one("#check-result", Static).update("")
        if info.status == "broken":
            self.query_one("#plugin-info", Static).update(f"[b]{info.kind} back-end {info.name}[/] ({info.package}) "
                                                         f"is [b red]broken[/]: {info.error}")
            self.query_one("#plugin-options", Vertical).remove_children()
            return
        hint = "" if load or info.status != "available" else " — press Enter to load it and see its options"
        self.query_one("#plugin-info", Static).update(
            f"[b]{info.kind} back-end {info.name}[/] — {info.package} {info.version}{hint}")
        if load or info.status != "available":
            self.load_options(key)

    @work(thread=True, exclusive=True, group="plugin-options")
    def load_options(self, key: str) -> None:
        from workbench.backends.discovery import GROUPS
        from workbench.backends.options import schema_of
        from workbench.backends.probe import option_problem
        from workbench.backends.session import configured_options, load_class
        from workbench.errors import WorkbenchError

        info = self.infos[key]
        group = GROUPS[info.kind]
        try:  # the plugin's code runs here, in this worker, within [backends] timeout_s
            cls = load_class(self.workspace.settings, group, info.name)
            schema = schema_of(cls)
        except WorkbenchError as exc:
            self.post_message(self.OptionsLoaded(key, None, {}, exc.message))
            return
        try:
            configured = configured_options(self.workspace.settings, group, info.name)
        except WorkbenchError as exc:  # workbench.toml is wrong, not the plugin
            self.post_message(self.OptionsLoaded(key, schema, {}, exc.message))
            return
        self.post_message(self.OptionsLoaded(key, schema, configured, None,
                                             option_problem(self.workspace, info.kind, info.name, cls)))

    @on(OptionsLoaded)
    async def _show_options(self, message: OptionsLoaded) -> None:
        broken = message.schema is None
        if message.key in self.infos and self.infos[message.key].status in ("available", "ok"):
            # Loading says it imports; it says "fails" when the settings cannot start it (S3 without a bucket),
            # as `plugins check` would. Only a check (c) can say it works.
            status = "broken" if broken else "fails" if message.problem else "ok"
            self._set_status(message.key, status, message.error if broken else message.problem)
        if message.key != self.selected:
            return
        box = self.query_one("#plugin-options", Vertical)
        await box.remove_children()
        if broken:
            info = self.infos[message.key]
            self.query_one("#plugin-info", Static).update(f"[b]{info.kind} back-end {info.name}[/] ({info.package}) "
                                                         f"is [b red]broken[/]: {message.error}")
            return
        if message.error:
            await box.mount(Static(f"[b red]{message.error}[/]"))
            return
        if message.problem:
            await box.mount(Static(f"[b red]Cannot start with these settings:[/] {escape(message.problem)}",
                                   classes="plugin-problem"))
        await box.mount(BackendOptionsForm(message.schema, message.configured))

    def action_check(self) -> None:
        if self.selected is None or self.infos[self.selected].status == "broken":
            self.query_one("#check-result", Static).update("Select a working back-end first.")
            return
        forms = self.query(BackendOptionsForm)
        values = forms.first().values() if forms else {}
        from workbench.backends.deadline import configured_timeout
        from workbench.errors import WorkbenchError

        try:
            limit = f" (gives up after {configured_timeout(self.workspace.settings):g} s)"
        except WorkbenchError:
            limit = ""
        self.query_one("#check-result", Static).update(f"Checking…{limit}")
        self.run_check(self.selected, values)

    @work(thread=True, exclusive=True, group="plugin-check")
    def run_check(self, key: str, values: dict[str, Any]) -> None:
        from workbench.audit import AuditLog
        from workbench.backends.probe import is_example, probe_backend
        from workbench.errors import WorkbenchError

        info = self.infos[key]
        try:
            with AuditLog(self.workspace.audit_path, self.workspace.root) as log:
                result = probe_backend(self.workspace, info.kind, info.name, values, log=log)
            self.post_message(self.CheckFinished(key, True, f"{result.summary} in {result.seconds:.2f} s",
                                                 example=is_example(info.kind, info.name)))
        except WorkbenchError as exc:
            self.post_message(self.CheckFinished(key, False, exc.message))
        except (Exception, SystemExit) as exc:  # a plugin bug must not take the TUI down
            self.post_message(self.CheckFinished(key, False, f"{type(exc).__name__}: {exc}"))

    @on(CheckFinished)
    def _show_check(self, message: CheckFinished) -> None:
        if message.key in self.infos:
            status = ("example" if message.example else "works") if message.ok else "fails"
            self._set_status(message.key, status, None if message.ok else message.text)
        if message.key != self.selected:
            return
        text = f"[green]✔ works[/]: {message.text}" if message.ok else f"[b red]✘ failed[/]: {message.text}"
        if message.example:
            text += "\n[yellow]An example to copy, not a back-end to run on[/] (it says so: EXAMPLE = True)."
        self.query_one("#check-result", Static).update(text)
        if not message.ok:
            self.notify(message.text, title="Back-end check failed", severity="error")


def _status(status: str) -> str:
    """What a row says: only a check (c, or `plugins list --check`) can say a back-end works."""
    return {"available": "not loaded", "ok": "loads · c checks", "broken": "[b red]broken[/]", "works": "[green]works[/]",
            "fails": "[b red]fails[/]", "example": "[yellow]example[/]"}.get(status, status)
