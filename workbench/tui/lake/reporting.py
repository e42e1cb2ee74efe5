"""How Lake workers report: a result message on success, one `LakeFailed` sentence on any error."""

from __future__ import annotations

from typing import Any, Callable

from textual.message import Message
from textual.widget import Widget

from workbench.errors import WorkbenchError


class LakeFailed(Message):
    """A lake call failed; `error` is the sentence to show (never a traceback: the TUI never crashes)."""

    def __init__(self, error: str) -> None:
        super().__init__()
        self.error = error


class Done(Message):
    """A lake call finished; `value` is what it returned."""

    def __init__(self, value: Any) -> None:
        super().__init__()
        self.value = value


def report(widget: Widget, call: Callable[[], Any], done: Callable[[Any], Message] | None = None) -> None:
    """Run `call` (in a worker thread) and post `done(result)` or a `LakeFailed` to `widget`."""
    try:
        result = call()
    except WorkbenchError as exc:
        widget.post_message(LakeFailed(exc.message))
        return
    except Exception as exc:  # reported, never a crash
        widget.post_message(LakeFailed(f"{type(exc).__name__}: {exc}"))
        return
    widget.post_message(done(result) if done is not None else Done(result))
