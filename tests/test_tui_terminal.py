"""The TUI ends when its terminal goes away, instead of spinning a core for ever.

A real `workbench` process on a real pty: once it has painted, the test closes the pty's master end (what
the terminal emulator, tmux or sshd does when it goes) and waits for the process to end. The timeout is a
failure bound for a loaded machine, not a measure of speed.
"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time

import pytest

from workbench.workspace import Workspace

FAILURE_BOUND_S = 60


def _start_on_pty(ws: Workspace, controlling: bool) -> tuple[subprocess.Popen[bytes], int]:
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))

    def in_own_session() -> None:
        os.setsid()
        if controlling:  # the pty becomes its controlling terminal: closing it sends SIGHUP
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    env = {**os.environ, "TERM": "xterm-256color", "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen([sys.executable, "-m", "workbench", "-w", str(ws.root)], stdin=slave, stdout=slave,
                            stderr=slave, env=env, preexec_fn=in_own_session, close_fds=True)
    os.close(slave)
    return proc, master


def _read_until(master: int, proc: subprocess.Popen[bytes], needle: bytes) -> bytes:
    """Drain the pty (a full pty blocks the app) until `needle` has been painted."""
    seen = b""
    deadline = time.monotonic() + FAILURE_BOUND_S
    while needle not in seen and time.monotonic() < deadline and proc.poll() is None:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                seen += os.read(master, 65536)
            except OSError:
                break
    return seen


@pytest.mark.parametrize("controlling", [False, True], ids=["eof-without-hangup", "sighup"])
def test_the_tui_exits_when_its_terminal_goes_away(empty_workspace: Workspace, controlling: bool) -> None:
    proc, master = _start_on_pty(empty_workspace, controlling)
    try:
        painted = _read_until(master, proc, b"Plugins")
        assert b"Plugins" in painted, painted[-2000:]
        assert proc.poll() is None  # alive and well while its terminal is there
        os.close(master)
        master = -1
        try:
            code = proc.wait(timeout=FAILURE_BOUND_S)
        except subprocess.TimeoutExpired:
            pytest.fail("the TUI kept running after its terminal went away")
        assert code == 129  # 128 + SIGHUP: ended because its terminal hung up
    finally:
        if master >= 0:
            os.close(master)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
