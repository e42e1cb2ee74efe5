"""One lake writer at a time per workspace: a POSIX lock on a file in the workspace's state folder.

`fcntl.lockf` is held by the process and freed by the kernel when it exits, even after `kill -9`, so a
crashed writer never leaves the lake locked, whoever it was: in a shared workspace the file is
group-writable, so any member can take the lock a killed teammate's process held. POSIX locks do not
exclude threads of one process, so a process-wide thread lock (per lock file) is taken first: the TUI's
workers queue up like processes do.
"""

from __future__ import annotations

import fcntl
import os
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from workbench.workspace import Workspace
from workbench.workspace.sharing import not_writable

LOCK_FILE = "lake.write.lock"
_thread_locks: dict[Path, threading.RLock] = {}
_guard = threading.Lock()
_held = threading.local()


def lock_path(workspace: Workspace) -> Path:
    return workspace.state_dir / LOCK_FILE


@contextmanager
def lake_write_lock(workspace: Workspace) -> Iterator[None]:
    """Hold the workspace's lake write lock for the block (waits for the writer holding it; re-entrant)."""
    path = lock_path(workspace)
    with _guard:
        thread_lock = _thread_locks.setdefault(path, threading.RLock())
    with thread_lock:
        depth = getattr(_held, "depth", {})
        _held.depth = depth
        if depth.get(path):
            depth[path] += 1
            try:
                yield
            finally:
                depth[path] -= 1
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        try:  # 0o666 under the umask: in a shared workspace (umask 007) every member can take the lock
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        except PermissionError:
            raise not_writable(workspace, path) from None
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX)
            depth[path] = 1
            try:
                yield
            finally:
                depth[path] = 0
                fcntl.lockf(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)
