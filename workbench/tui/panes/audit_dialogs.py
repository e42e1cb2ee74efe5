"""The Audit tab's export dialog: where the e-discovery bundle goes, and in which format."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, RadioButton, RadioSet, Static

from workbench.tui.lake.dialogs import PathSuggester

FORMAT_LABELS = {"jsonl": "JSON Lines", "parquet": "Parquet", "csv": "CSV"}


class AuditExportScreen(ModalScreen[tuple[str, str] | None]):
    """Ask for a new folder and a format; answers (folder, format)."""

    CSS_PATH = "../lake/dialogs.tcss"
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, default_folder: str, scope: str) -> None:
        super().__init__()
        self.default_folder, self.scope = default_folder, scope

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(f"Export the audit log: {self.scope}", classes="title")
            yield Input(value=self.default_folder, id="audit-export-path", suggester=PathSuggester())
            with RadioSet(id="audit-export-format"):
                for i, (fmt, label) in enumerate(FORMAT_LABELS.items()):
                    yield RadioButton(label, value=i == 0, name=fmt)
            yield Static("A new folder: events, the verify result, a checkpoint and a SHA-256 manifest. "
                         "Enter exports, Esc cancels.", classes="hint")

    def on_mount(self) -> None:
        self.query_one("#audit-export-path", Input).focus()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        pressed = self.query_one("#audit-export-format", RadioSet).pressed_button
        fmt = pressed.name if pressed is not None and pressed.name else "jsonl"
        self.dismiss((event.value.strip(), fmt))

    def action_cancel(self) -> None:
        self.dismiss(None)
