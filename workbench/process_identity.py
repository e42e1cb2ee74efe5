"""Which process is which: pid + start time, so a reused pid is not mistaken for the one recorded, and a
zombie counts as gone. A base module: run workers (`runs/`) and pool workers (`backends/`) both ask it."""

from __future__ import annotations

import os
import subprocess
import sys


def process_start_token(pid: int) -> str | None:
    """An opaque token that differs between two processes that had the same pid (None if unknown)."""
    stat = _proc_stat(pid)
    if stat is not None:
        return "linux:" + stat[19]  # starttime, in clock ticks since boot (field 22 of /proc/PID/stat)
    if sys.platform == "linux":
        return None
    try:
        out = subprocess.run(["ps", "-o", "lstart=", "-p", str(pid)], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    text = out.stdout.strip()
    return f"ps:{text}" if out.returncode == 0 and text else None


def _proc_stat(pid: int) -> list[str] | None:
    """Fields of /proc/PID/stat after the command name (index 0 is the state letter)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            text = fh.read()
    except OSError:
        return None
    return text[text.rfind(")") + 2:].split()


def process_alive(pid: int | None, token: str | None) -> bool:
    """True if `pid` runs and (when `token` is known) is the same process that recorded the token."""
    if not pid or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else
    stat = _proc_stat(pid)
    if stat is not None and stat[0] in ("Z", "X"):
        return False
    if token is None:
        return True
    return process_start_token(pid) == token


def session_members(sid: int) -> list[int]:
    """Live processes (zombies excluded) of session `sid`, read from /proc (Linux; empty elsewhere)."""
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    members = []
    for entry in entries:
        if entry.isdigit():
            stat = _proc_stat(int(entry))
            if stat is not None and stat[3] == str(sid) and stat[0] not in ("Z", "X"):
                members.append(int(entry))
    return sorted(members)
