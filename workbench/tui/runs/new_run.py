"""The new-run form, shown once a spec is picked: the compute back-end to run it on and that back-end's
options. Back-ends are listed without importing them; only the chosen one is imported (in a worker) to
read its options, and one that fails to import shows its reason here instead of starting."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.markup import escape
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from workbench.tui.panes.plugins import BackendOptionsForm
from workbench.tui.runs.launcher import SpecBackend
from workbench.workspace import Workspace


@dataclass(frozen=True)
class LaunchRequest:
    """What the form asks for: run `spec_path` on `backend` with the option values the user gave."""

    spec_path: str
    backend: str
    options: dict[str, Any] = field(default_factory=dict)


def _same(configured: Any, given: Any) -> bool:
    return str(configured).lower() == str(given).lower() if isinstance(configured, bool) else str(configured) == str(given)


class NewRunForm(ModalScreen[LaunchRequest | None]):
    """Compute back-end and its options for one spec; Enter (or Start) launches, Escape cancels."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("enter", "start", "Start run"),
    ]

    class BackendsListed(Message):
        def __init__(self, infos: list[Any], spec: SpecBackend) -> None:
            super().__init__()
            self.infos, self.spec = infos, spec

    class OptionsLoaded(Message):
        def __init__(self, name: str, schema: Any, configured: dict[str, Any], error: str | None) -> None:
            super().__init__()
            self.name, self.schema, self.configured, self.error = name, schema, configured, error

    def __init__(self, workspace: Workspace, spec_path: str) -> None:
        super().__init__()
        self.workspace = workspace
        self.spec_path = spec_path
        self.spec = SpecBackend(workspace.settings.default_backend)
        self.infos: dict[str, Any] = {}
        self.errors: dict[str, str] = {}  # back-end name -> why it cannot run
        self.shown: str | None = None  # the back-end whose options are on screen (or loading)
        self.configured: dict[str, Any] = {}  # the values the shown form was pre-filled with

    def compose(self) -> ComposeResult:
        with Vertical(id="new-run-dialog"):
            yield Static(f"[b]New run[/] — {escape(Path(self.spec_path).stem)}  [dim]{escape(self.spec_path)}[/]")
            yield Label("Compute back-end")
            with Vertical(id="new-run-backend-box"):
                yield Static("Finding installed back-ends…", id="new-run-backend-placeholder")
            yield Static("", id="new-run-backend-info")
            yield Vertical(id="new-run-options")
            yield Static("[dim]Empty fields: workbench.toml, then the environment, then the default. Secrets come "
                         "from the environment only.[/]\nEnter or Start launches the run in the background · Tab: next "
                         "field · Esc cancels", id="new-run-hint")
            with Horizontal(id="new-run-buttons"):
                yield Button("Start", variant="primary", id="new-run-start")
                yield Button("Cancel", id="new-run-cancel")

    def on_mount(self) -> None:
        self.query_one("#new-run-start", Button).focus()
        self.list_backends()

    @work(thread=True, exclusive=True, group="new-run-backends")
    def list_backends(self) -> None:
        from workbench.backends.discovery import COMPUTE_GROUP, list_plugins
        from workbench.tui.runs.launcher import spec_backend

        spec = spec_backend(self.spec_path, self.workspace.settings.default_backend)
        self.post_message(self.BackendsListed(list_plugins(COMPUTE_GROUP), spec))

    @on(BackendsListed)
    async def _show_backends(self, message: BackendsListed) -> None:
        self.spec = message.spec
        for info in message.infos:  # listed working-first: a duplicate name keeps its working entry
            self.infos.setdefault(info.name, info)
        options = []
        for name, info in self.infos.items():
            label = f"{name}  [dim]{escape(info.package or '')} {escape(info.version or '')}[/]"
            if info.status == "broken":
                label += "  [red](broken)[/]"
                self.errors[name] = info.error or "broken"
            options.append((label, name))
        if self.spec.name not in self.infos:
            options.append((f"{escape(self.spec.name)}  [red](not installed)[/]", self.spec.name))
            self.errors[self.spec.name] = (f"The spec asks for the compute back-end {self.spec.name!r}, which is not "
                                           "installed; pick another one.")
        box = self.query_one("#new-run-backend-box", Vertical)
        await box.remove_children()
        await box.mount(Select(options, allow_blank=False, value=self.spec.name, id="new-run-backend"))
        await self._show_backend(self.spec.name)

    @on(Select.Changed, "#new-run-backend")
    async def _backend_changed(self, event: Select.Changed) -> None:
        if isinstance(event.value, str) and event.value != self.shown:
            await self._show_backend(event.value)

    async def _show_backend(self, name: str) -> None:
        self.shown = name
        self.configured = {}
        info = self.infos.get(name)
        default = " (the spec's back-end)" if name == self.spec.name else ""
        described = f"{info.package} {info.version}" if info is not None else "not installed"
        self.query_one("#new-run-backend-info", Static).update(f"[b]{escape(name)}[/]{default} — {escape(described)}")
        options = self.query_one("#new-run-options", Vertical)
        await options.remove_children()
        if name in self.errors:
            await options.mount(Static(f"[b red]{escape(self.errors[name])}[/]", classes="new-run-error"))
            return
        await options.mount(Static("Loading the back-end's options…"))
        self.load_options(name)

    @work(thread=True, exclusive=True, group="new-run-options")
    def load_options(self, name: str) -> None:
        from workbench.backends.discovery import COMPUTE_GROUP
        from workbench.backends.options import schema_of
        from workbench.backends.session import configured_options, load_class
        from workbench.errors import WorkbenchError

        try:
            schema = schema_of(load_class(self.workspace.settings, COMPUTE_GROUP, name))  # within [backends] timeout_s
            configured = configured_options(self.workspace.settings, COMPUTE_GROUP, name)
            if name == self.spec.name:  # the spec's backend_options win over workbench.toml
                configured = {**configured, **self.spec.options}
            self.post_message(self.OptionsLoaded(name, schema, configured, None))
        except WorkbenchError as exc:
            self.post_message(self.OptionsLoaded(name, None, {}, exc.message))
        except Exception as exc:  # a plugin bug must not take the TUI down
            self.post_message(self.OptionsLoaded(name, None, {}, f"{type(exc).__name__}: {exc}"))

    @on(OptionsLoaded)
    async def _show_options(self, message: OptionsLoaded) -> None:
        if message.name != self.shown:
            return
        box = self.query_one("#new-run-options", Vertical)
        await box.remove_children()
        if message.error:
            self.errors[message.name] = message.error
            await box.mount(Static(f"[b red]{escape(message.error)}[/]", classes="new-run-error"))
            return
        self.configured = message.configured
        form = BackendOptionsForm(message.schema, message.configured, id="new-run-form")
        form.can_focus = False  # Tab goes from field to field, not through the form's scroll area
        await box.mount(form)

    def values(self) -> dict[str, Any]:
        """The options the user gave: fields left empty, or as pre-filled, are not passed."""
        forms = self.query(BackendOptionsForm)
        if not forms:
            return {}
        return {k: v for k, v in forms.first().values().items()
                if not (k in self.configured and _same(self.configured[k], v))}

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.action_start()

    @on(Button.Pressed, "#new-run-start")
    def _start_pressed(self) -> None:
        self.action_start()

    @on(Button.Pressed, "#new-run-cancel")
    def _cancel_pressed(self) -> None:
        self.action_cancel()

    def action_start(self) -> None:
        name = self.shown
        if name is None:
            self.notify("Still finding the installed back-ends…", severity="warning")
            return
        if name in self.errors:
            self.notify(f"The back-end {name!r} cannot run: {self.errors[name]}", title="New run", severity="error")
            return
        self.dismiss(LaunchRequest(self.spec_path, name, self.values()))

    def action_cancel(self) -> None:
        self.dismiss(None)
