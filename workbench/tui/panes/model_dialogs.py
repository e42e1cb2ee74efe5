"""Small modal dialogs for the Models screen: a reason, a few named fields, a confirmation, a run to register."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option


class ReasonDialog(ModalScreen[str | None]):
    """Ask for a one-line reason (under what is being decided, when given); Enter confirms, Escape cancels."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, body: list[str] | None = None) -> None:
        super().__init__()
        self.title_text = title
        self.body = body or []

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text)
            if self.body:
                with VerticalScroll(classes="dialog-body"):
                    yield Static("\n".join(escape(line) for line in self.body), id="dialog-body")
            yield Input(placeholder="reason (required)", id="reason")
            yield Label("[dim]Enter to confirm · Escape to cancel[/]")

    def on_mount(self) -> None:
        self.query_one("#reason", Input).focus()  # not the (scrollable) body above it

    @on(Input.Submitted, "#reason")
    def _submit(self, event: Input.Submitted) -> None:
        if event.value.strip():
            self.dismiss(event.value.strip())
        else:
            self.notify("A reason is required.", severity="warning")

    def action_cancel(self) -> None:
        self.dismiss(None)


@dataclass(frozen=True)
class Field:
    """One line of a `FieldsDialog`: its id, what it asks, its starting value, and whether it may stay empty."""

    name: str
    label: str
    value: str = ""
    required: bool = True


class FieldsDialog(ModalScreen[dict[str, str] | None]):
    """A few one-line fields; Tab moves between them, Enter in any of them confirms once the required ones are
    filled, Escape cancels."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, fields: list[Field]) -> None:
        super().__init__()
        self.title_text = title
        self.fields = fields

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text)
            for f in self.fields:
                yield Label(f.label + ("" if f.required else " [dim](optional)[/]"), classes="field-label")
                yield Input(value=f.value, placeholder=f.label, id=f"field-{f.name}")
            yield Label("[dim]Tab next field · Enter to confirm · Escape to cancel[/]")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted)
    def _submit(self) -> None:
        values = {f.name: self.query_one(f"#field-{f.name}", Input).value.strip() for f in self.fields}
        missing = next((f for f in self.fields if f.required and not values[f.name]), None)
        if missing is not None:
            self.notify(f"{missing.label} is required.", severity="warning")
            self.query_one(f"#field-{missing.name}", Input).focus()
            return
        self.dismiss(values)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ConfirmDialog(ModalScreen[bool]):
    """Show what is about to happen; `y` or Enter does it, `n` or Escape does not."""

    BINDINGS = [Binding("y,enter", "confirm", "Yes"), Binding("n,escape", "cancel", "No")]

    def __init__(self, title: str, body: list[str], verb: str = "confirm") -> None:
        super().__init__()
        self.title_text = title
        self.body = body
        self.verb = verb

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(f"[b]{escape(self.title_text)}[/]")
            with VerticalScroll(classes="dialog-body"):
                yield Static("\n".join(escape(line) for line in self.body), id="dialog-body")
            yield Label(f"[dim]y or Enter to {escape(self.verb)} · n or Escape to cancel[/]")

    def action_confirm(self) -> None:
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)


class RegisterRunDialog(ModalScreen[tuple[str, str | None] | None]):
    """Pick a succeeded, not yet registered run and, optionally, the model name to register it under
    (empty: the run's name); Enter on a run registers it."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, runs: list[dict[str, Any]]) -> None:
        super().__init__()
        self.runs = runs

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Register a finished run as a new model version")
            yield Input(placeholder="model name (empty: the run's name)", id="register-name")
            options = [Option(f"{r['run_id']}  {r['name']}  {r.get('best_model') or ''}  "
                              f"{r.get('metric') or ''}={r['best_score']:.4f}" if r.get("best_score") is not None
                              else f"{r['run_id']}  {r['name']}", id=r["run_id"]) for r in self.runs]
            yield OptionList(*options, id="register-runs")
            yield Label("[dim]Tab between name and runs · Enter on a run to register · Escape to cancel[/]")

    def on_mount(self) -> None:
        self.query_one("#register-runs", OptionList).focus()

    @on(Input.Submitted, "#register-name")
    def _name_given(self) -> None:
        self.query_one("#register-runs", OptionList).focus()

    @on(OptionList.OptionSelected, "#register-runs")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        name = self.query_one("#register-name", Input).value.strip()
        self.dismiss((event.option.id or "", name or None))

    def action_cancel(self) -> None:
        self.dismiss(None)
