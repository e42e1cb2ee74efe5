"""Exclusive, non-waiting locks on files in the workspace's state folder: one scheduler per workspace, one
run of a pipeline at a time. `lockf` is freed by the kernel when the process ends (kill -9 too), and a
process-wide set stops two threads of one process from both "holding" it (POSIX locks do not exclude threads)."""

from __future__ import annotations

import fcntl
import os
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from workbench.workspace import Workspace
from workbench.workspace.sharing import not_writable

_held: set[Path] = set()
_guard = threading.Lock()


@contextmanager
def try_exclusive(ws: Workspace, path: Path) -> Iterator[bool]:
    """Yield True while this process holds `path`'s lock, or False at once if anyone else holds it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with _guard:
        if path in _held:
            yield_value = False
            fd = None
        else:
            try:  # 0o666 under the umask: any member of a shared workspace can take it after a crash
                fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
            except PermissionError:
                raise not_writable(ws, path) from None
            try:
                fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                _held.add(path)
                yield_value = True
            except OSError:
                os.close(fd)
                fd, yield_value = None, False
    try:
        yield yield_value
    finally:
        if fd is not None:
            with _guard:
                os.close(fd)  # closing the descriptor releases the lock
                _held.discard(path)


def pipeline_lock_path(ws: Workspace, name: str) -> Path:
    return ws.state_dir / "pipelines" / f"{name}.lock"
