"""Cancelling a run from another process: SIGTERM (or a flag in the log) sets the run's cancel event;
the run stops at once (the handler raises `RunCancelled`) unless it is already saving its result.

Long computations (the AutoML engine, compute back-ends) can also poll `current_cancel_event()` and
pass it to `ComputeBackend.run_tasks(cancel=...)`.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType


class RunCancelled(BaseException):
    """Raised in the run's main thread when a cancel was requested (a BaseException, like KeyboardInterrupt,
    so `except Exception` in library code does not swallow it)."""


class CancelScope:
    """The cancel state of the run executing in this process."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.too_late = False  # set once the run is saving its result: finishing beats cancelling
        self._previous: object = None

    def request(self) -> None:
        """Ask the run to stop: raises `RunCancelled` now when called from the run's thread."""
        first = not self.event.is_set()
        self.event.set()
        if first and not self.too_late:
            raise RunCancelled()

    def check(self) -> None:
        """Raise `RunCancelled` at a safe point if a cancel is pending."""
        if self.event.is_set() and not self.too_late:
            raise RunCancelled()

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.request()

    def __enter__(self) -> "CancelScope":
        global _current
        _current = self
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGTERM, self._on_signal)
        return self

    def __exit__(self, *exc: object) -> None:
        global _current
        _current = None
        if self._previous is not None:
            signal.signal(signal.SIGTERM, self._previous)  # type: ignore[arg-type]


_current: CancelScope | None = None


def current_cancel_event() -> threading.Event:
    """The cancel event of the run in this process (a fresh, never-set event outside a run)."""
    return _current.event if _current is not None else threading.Event()


def current_scope() -> CancelScope | None:
    return _current
