"""Small modal dialogs for the Models screen: a rejection reason, and a run to register."""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option


class ReasonDialog(ModalScreen[str | None]):
    """Ask for a one-line reason; Enter confirms, Escape cancels."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str) -> None:
        super().__init__()
        self.title_text = title

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text)
            yield Input(placeholder="reason (required)", id="reason")
            yield Label("[dim]Enter to confirm · Escape to cancel[/]")

    @on(Input.Submitted, "#reason")
    def _submit(self, event: Input.Submitted) -> None:
        if event.value.strip():
            self.dismiss(event.value.strip())
        else:
            self.notify("A reason is required.", severity="warning")

    def action_cancel(self) -> None:
        self.dismiss(None)


class RegisterRunDialog(ModalScreen[str | None]):
    """Pick a succeeded, not yet registered run; Enter registers it under the run's name."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, runs: list[dict[str, Any]]) -> None:
        super().__init__()
        self.runs = runs

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Register a finished run as a new model version")
            options = [Option(f"{r['run_id']}  {r['name']}  {r.get('best_model') or ''}  "
                              f"{r.get('metric') or ''}={r['best_score']:.4f}" if r.get("best_score") is not None
                              else f"{r['run_id']}  {r['name']}", id=r["run_id"]) for r in self.runs]
            yield OptionList(*options, id="register-runs")
            yield Label("[dim]Enter to register · Escape to cancel[/]")

    @on(OptionList.OptionSelected, "#register-runs")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
