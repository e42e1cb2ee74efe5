"""How the TUI words an exception caught in a worker: a WorkbenchError's sentence, else its type and text."""

from __future__ import annotations

from workbench.errors import WorkbenchError


def error_text(exc: BaseException) -> str:
    return exc.message if isinstance(exc, WorkbenchError) else f"{type(exc).__name__}: {exc}"
