"""Models tab: the model registry. Registered versions arrive with the registry (issue #6); until then
the tab says so and lists the runs whose saved model could be registered."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Static

from workbench.workspace import Workspace


class ModelsPane(Widget):
    class Loaded(Message):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    def __init__(self, workspace: Workspace) -> None:
        super().__init__()
        self.workspace = workspace

    def compose(self) -> ComposeResult:
        yield Static("", id="models-status")

    def on_mount(self) -> None:
        self.load()

    def focus_main(self) -> None:
        self.focus()

    def refresh_data(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, group="models")
    def load(self) -> None:
        from workbench.audit import AuditLog

        with AuditLog(self.workspace.audit_path, self.workspace.root) as log:
            runs = [r for r in log.list_runs(limit=200) if r["state"] == "succeeded"]
        lines = ["[b]Model registry[/]: no registered models yet.", "",
                 f"{len(runs)} succeeded run(s) have a saved model that can be registered:"]
        lines += [f"  {r['run_id']}  {r['name']:<20} {r['best_model']:<10} {r['metric']}={r['best_score']:.4f}" for r in runs[:20]]
        self.post_message(self.Loaded("\n".join(lines)))

    @on(Loaded)
    def _show(self, message: Loaded) -> None:
        self.query_one("#models-status", Static).update(message.text)
