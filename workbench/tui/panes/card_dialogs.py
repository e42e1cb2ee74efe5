"""The Models tab's model card: read it (`k`), edit its fields (`e`), as `workbench models card` does.

The card is built in a worker (it loads the model and scores the frozen holdout); an edit is one
`model.card_edited` audit event written by the same core function as the CLI's `--set`.
"""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Label, Markdown, Static, TextArea

from workbench.workspace import Workspace


class CardScreen(ModalScreen[None]):
    """A version's model card as Markdown; `e` edits its fields, Escape closes."""

    BINDINGS = [Binding("escape,q", "close", "Close"), Binding("e", "edit", "Edit fields")]

    class Loaded(Message):
        def __init__(self, markdown: str | None, fields: dict[str, str], error: str | None = None) -> None:
            super().__init__()
            self.markdown, self.fields, self.error = markdown, fields, error

    def __init__(self, workspace: Workspace, subject: str) -> None:
        super().__init__()
        self.workspace, self.subject = workspace, subject
        self.fields: dict[str, str] | None = None

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog card-dialog"):
            yield Label(f"Model card: {self.subject}", classes="title")
            with VerticalScroll(id="card-body"):
                yield Markdown(f"Building the card of {self.subject} (scoring the frozen holdout)…", id="card-text")
            yield Static("e edit the fields · Escape close", id="card-status")

    def on_mount(self) -> None:
        self.load_card(None)

    @work(thread=True, exclusive=True, group="model-card")
    def load_card(self, changes: dict[str, str] | None) -> None:
        from workbench.cards.model_card import build_card, card_lines, edit_card
        from workbench.errors import WorkbenchError

        try:
            card = edit_card(self.workspace, self.subject, changes) if changes else build_card(self.workspace, self.subject)
        except WorkbenchError as exc:
            self.post_message(self.Loaded(None, self.fields or {}, exc.message))
            return
        except Exception as exc:  # a missing artifact, an unreadable holdout: say so on the card, keep the app
            self.post_message(self.Loaded(None, self.fields or {}, f"{type(exc).__name__}: {exc}"))
            return
        self.post_message(self.Loaded("\n".join(card_lines(card)), dict(card.fields)))

    @on(Loaded)
    async def _loaded(self, message: Loaded) -> None:
        status = self.query_one("#card-status", Static)
        if message.error is not None:
            status.update(f"[b red]{message.error}[/] · e edit · Escape close")
            self.notify(message.error, title="Model card", severity="error")
            return
        self.fields = message.fields
        await self.query_one("#card-text", Markdown).update(message.markdown or "")
        status.update("e edit the fields · Escape close")

    def action_edit(self) -> None:
        if self.fields is None:
            self.notify("The card is still being built.", severity="warning")
            return

        def saved(changes: dict[str, str] | None) -> None:
            if changes:
                self.query_one("#card-status", Static).update("Saving the card (an audit event)…")
                self.load_card(changes)

        self.app.push_screen(CardEditScreen(self.subject, self.fields), saved)

    def action_close(self) -> None:
        self.dismiss(None)


class CardEditScreen(ModalScreen[dict[str, str] | None]):
    """One text box per card field; ctrl+s saves the changed ones, Escape discards."""

    BINDINGS = [Binding("ctrl+s", "save", "Save", priority=True), Binding("escape", "cancel", "Discard")]

    def __init__(self, subject: str, fields: dict[str, str]) -> None:
        super().__init__()
        self.subject, self.fields = subject, fields

    def compose(self) -> ComposeResult:
        from workbench.cards.model_card import FIELDS

        with Vertical(classes="dialog card-dialog"):
            yield Label(f"Edit the card of {self.subject}", classes="title")
            with VerticalScroll(id="card-fields"):
                for name, help_text in FIELDS.items():
                    yield Label(f"[b]{name}[/] [dim]{help_text}[/]", classes="field-label")
                    yield TextArea(self.fields.get(name, ""), id=f"card-{name}", classes="card-field", soft_wrap=True)
            yield Static("ctrl+s save (one audit event) · Escape discard · Tab next field", classes="hint")

    def on_mount(self) -> None:
        self.query(TextArea).first().focus()

    def action_save(self) -> None:
        from workbench.cards.model_card import FIELDS

        changes = {name: self.query_one(f"#card-{name}", TextArea).text for name in FIELDS}
        changed = {k: v for k, v in changes.items() if v.strip() != self.fields.get(k, "").strip()}
        if not changed:
            self.notify("Nothing changed; the card is as it was.", title="Model card")
        self.dismiss(changed or None)

    def action_cancel(self) -> None:
        self.dismiss(None)
