"""Run slots: at most `[runs] max_concurrent` runs of a workspace execute at once on one machine.

A slot is an exclusive POSIX lock (`lockf`) on `.workbench/slots/<i>.lock`. The kernel drops the lock
when its process exits, however it exits (kill -9 included), so a crashed run never keeps a slot (nor a
teammate's: slot files are group-writable in a shared workspace), and
the lock is not inherited by the run's own worker processes. A run without a slot stays `queued` and
polls; its wait is reported through the run's progress so the CLI and the TUI can say why it waits.
Slots are per machine: runs of a shared workspace on other hosts are not counted.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from workbench.workspace import Workspace
from workbench.workspace.sharing import not_writable

# POSIX locks belong to the process: a second run in this process would "get" a slot this process holds,
# and closing its descriptor would free the first run's lock. So the process also tracks what it holds.
_held: set[int] = set()
_held_lock = threading.Lock()


def _slots_dir(ws: Workspace) -> Path:
    return ws.state_dir / "slots"


def _try_lock(ws: Workspace, path: Path) -> int | None:
    try:  # 0o666 under the umask: in a shared workspace (umask 007) any member's run can use any slot
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    except PermissionError:
        raise not_writable(ws, path) from None
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


@contextmanager
def run_slot(ws: Workspace, on_wait: Callable[[int], None], *, poll_s: float = 0.5) -> Iterator[int | None]:
    """Hold a run slot for the body; while none is free, call `on_wait(limit)` every `poll_s`
    (it may raise to give up, e.g. `RunCancelled`). Yields the slot's number, or None without a limit."""
    limit = ws.settings.max_concurrent
    if limit <= 0:
        yield None
        return
    folder = _slots_dir(ws)
    folder.mkdir(parents=True, exist_ok=True)
    while True:
        for i in range(limit):
            with _held_lock:
                if i in _held:
                    continue
                fd = _try_lock(ws, folder / f"{i}.lock")
                if fd is None:
                    continue
                _held.add(i)
            try:
                yield i
            finally:
                with _held_lock:
                    os.close(fd)  # closing the descriptor releases the lock
                    _held.discard(i)
            return
        on_wait(limit)
        time.sleep(poll_s)
