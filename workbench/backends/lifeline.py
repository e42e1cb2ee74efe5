"""Pool worker processes die with the process they work for, and leave Ctrl-C to it.

A run killed with SIGKILL cannot stop its process pool, and a pool worker of a `forkserver` pool is a
child of the forkserver, not of the run: it would live on, and so would the forkserver (it exits only
once its last worker is gone). So each worker, as the pool starts it (`pool_worker_init`):

- ignores SIGINT: Ctrl-C reaches the whole foreground process group, and the run's own process turns
  it into one "Interrupted." — a worker that raised KeyboardInterrupt too printed its own traceback;
- asks Linux to SIGKILL it when its parent (the forkserver) dies, `prctl(PR_SET_PDEATHSIG)`;
- watches the process that owns the pool from a daemon thread and exits within `WATCH_S` of it being
  gone (a dead pid, a zombie, or a pid reused by another process) — the portable part.

The forkserver is deliberately not given PR_SET_PDEATHSIG: the signal follows the *thread* that started
it, and a run starts its pool from a short-lived warm-up thread. It ends on its own once no worker holds
its "alive" pipe, and `workbench` commands that look at runs kill whatever a dead run left in its session
(`runs/process.py:kill_leftovers`).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
WATCH_S = 0.5


def die_with_parent(sig: int = signal.SIGKILL) -> bool:
    """Have the kernel send `sig` to this process when its parent dies (Linux); False where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def watch_owner(pid: int, token: str | None, every_s: float = WATCH_S) -> threading.Thread:
    """Exit this process as soon as process `pid` (with start token `token`) is gone."""
    from workbench.process_identity import process_alive

    def watch() -> None:
        while process_alive(pid, token):
            time.sleep(every_s)
        os._exit(1)  # the owner is gone: no one will ever read this worker's result

    thread = threading.Thread(target=watch, name=f"watch-owner-{pid}", daemon=True)
    thread.start()
    return thread


def owner_identity() -> tuple[int, str | None]:
    """This process as a pool worker's owner: its pid and start token (so a reused pid is not mistaken for it)."""
    from workbench.process_identity import process_start_token

    return os.getpid(), process_start_token(os.getpid())


def pool_worker_init(owner_pid: int, owner_token: str | None) -> None:
    """Initializer of every pool worker: leave SIGINT to the owner, die with the parent and with the owner."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent()
    watch_owner(owner_pid, owner_token)
