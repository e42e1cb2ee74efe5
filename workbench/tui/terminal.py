"""Notice when the TUI's terminal goes away, and end the TUI instead of outliving it.

Why: when the terminal closes without a hang-up signal (an SSH connection that drops, a pty whose other
end is closed), stdin reads end-of-file forever. Textual's Linux driver selects on stdin, reads zero bytes
and selects again, so its input thread spins one core at 100 %; and every write to the dead terminal fails,
so the writer thread dies and the app blocks once its queue fills. A hang-up signal (SIGHUP, as when the
tmux session is killed) would end Python without a word, or be ignored if it was inherited ignored.

`TerminalWatch` blocks in `poll()` on the terminal's file descriptors, which reports POLLHUP/POLLERR when
the other end is gone (it costs nothing while the terminal is alive: the thread sleeps in the kernel) and
turns SIGHUP into the same event. On either, `on_gone` runs once, in the watch thread. Runs the TUI started
are detached workers with their own session; they carry on.
"""

from __future__ import annotations

import os
import select
import signal
import sys
import threading
from typing import Callable

_GONE = select.POLLHUP | select.POLLERR | select.POLLNVAL if hasattr(select, "poll") else 0


def terminal_fds() -> list[int]:
    """The file descriptors of the terminal the app reads and writes (those that are terminals)."""
    fds = []
    for stream in (sys.__stdin__, sys.__stdout__, sys.__stderr__):
        try:
            fd = stream.fileno() if stream is not None else -1
        except (OSError, ValueError):
            continue
        if fd >= 0 and fd not in fds and os.isatty(fd):
            fds.append(fd)
    return fds


class TerminalWatch:
    """Call `on_gone()` once when the terminal hangs up (poll) or the process gets SIGHUP."""

    def __init__(self, on_gone: Callable[[], None], fds: list[int] | None = None) -> None:
        self.on_gone = on_gone
        self.fds = terminal_fds() if fds is None else fds
        self._fired = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self) -> bool:
        """Start watching; False where there is nothing to watch (no terminal, or no poll() on this OS)."""
        if not self.fds or not _GONE:
            return False
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGHUP, lambda *_: threading.Thread(target=self._fire, daemon=True).start())
        self._thread = threading.Thread(target=self._watch, name="workbench-terminal-watch", daemon=True)
        self._thread.start()
        return True

    def _watch(self) -> None:
        poller = select.poll()
        for fd in self.fds:
            poller.register(fd, 0)  # no events asked for: hang-up and errors are always reported
        while True:
            try:
                events = poller.poll()
            except InterruptedError:
                continue
            if any(mask & _GONE for _, mask in events):
                self._fire()
                return

    def _fire(self) -> None:
        if self._fired.acquire(blocking=False):  # once, whichever of poll and SIGHUP comes first
            self.on_gone()
