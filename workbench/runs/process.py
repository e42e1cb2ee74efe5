"""Is a run's worker process still alive? pid + host + process start time, so a reused pid is not mistaken
for ours and a zombie counts as gone."""

from __future__ import annotations

import os
import signal

from workbench.process_identity import process_alive, process_start_token, session_members

__all__ = ["kill_leftovers", "process_alive", "process_start_token", "session_members"]


def kill_leftovers(pid: int) -> list[int]:
    """SIGKILL every process a dead detached worker `pid` left behind (its forkserver, pool workers and
    their children); returns the pids signalled.

    A detached worker leads its own session, and Linux does not reuse a pid while a session of that id
    exists, so every process whose session id is `pid` is that run's. Nothing is done while any process
    with that pid still runs (the worker itself, or another process that took the pid)."""
    if process_alive(pid, None):
        return []
    signalled = []
    for member in session_members(pid):
        try:
            os.kill(member, signal.SIGKILL)
            signalled.append(member)
        except (ProcessLookupError, PermissionError):
            pass
    return signalled
