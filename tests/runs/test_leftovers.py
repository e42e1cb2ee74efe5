"""After a fault, nothing of a run is left running: SIGKILL of a detached worker takes its pool with it,
and Ctrl-C in the foreground is one line, exit 130 — with real processes, watched through /proc."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from runs.test_engine import FLIGHTS, _detach, _training, _wait
from workbench.audit import AuditLog
from workbench.runs.process import kill_leftovers, session_members
from workbench.runs.records import RunRecords
from workbench.workspace import Workspace

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="reads processes from /proc (Linux)")

BOUND_S = 30.0  # "promptly" without a wall-clock assertion: a leftover lives for minutes


def _until(predicate, timeout: float = BOUND_S, every: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    return predicate()


def _children(pid: int) -> list[int]:
    return [m for m in session_members(pid) if m != pid]


def test_sigkill_of_a_detached_worker_takes_its_pool_with_it(sample_workspace: Workspace, cli) -> None:
    run_id = _detach(cli, sample_workspace, FLIGHTS)
    pid = _wait(sample_workspace, run_id, _training)["pid"]
    # The forkserver, the resource tracker and the pool workers: all in the worker's own session.
    assert len(_until(lambda: len(_children(pid)) >= 3 and _children(pid)) or []) >= 3, _children(pid)

    os.kill(pid, signal.SIGKILL)  # the worker alone, as the OOM killer would: not its process group
    left = _until(lambda: not _children(pid))
    assert left, f"still running after the worker was killed: {_children(pid)}"

    listed = json.loads(cli("-w", str(sample_workspace.root), "runs", "list", "--json").stdout)
    assert next(r["state"] for r in listed if r["run_id"] == run_id) == "interrupted"


def test_the_next_command_kills_what_a_dead_run_left_in_its_session(tmp_path) -> None:
    """Leftovers without a lifeline of their own (a grandchild the task started, a worker stuck in native
    code) are killed by whoever settles the dead run."""
    script = ("import os, subprocess, sys, time\n"
              "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])\n"
              "print(child.pid, flush=True)\n"
              "time.sleep(600)\n")
    leader = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                              start_new_session=True)
    child = int(leader.stdout.readline())
    assert kill_leftovers(leader.pid) == []  # the leader lives: nothing is touched
    os.kill(leader.pid, signal.SIGKILL)
    leader.wait()
    assert session_members(leader.pid) == [child]
    assert kill_leftovers(leader.pid) == [child]
    assert _until(lambda: not session_members(leader.pid))


def test_ctrl_c_in_the_foreground_prints_one_line(sample_workspace: Workspace) -> None:
    # Its own process group, signalled as a whole: what a terminal's Ctrl-C does to `workbench batch`.
    proc = subprocess.Popen([sys.executable, "-m", "workbench", "-w", str(sample_workspace.root), "batch", FLIGHTS],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    with AuditLog(sample_workspace.audit_path, sample_workspace.root) as log:
        runs = _until(lambda: RunRecords(log).list_runs(states=["running"]), timeout=60)
    assert runs, "the run never started"
    run_id = runs[0]["run_id"]
    _wait(sample_workspace, run_id, _training)  # it has reported its first trial
    os.killpg(proc.pid, signal.SIGINT)
    time.sleep(0.3)
    try:
        os.killpg(proc.pid, signal.SIGINT)  # an impatient second press must not cut the cleanup short
    except ProcessLookupError:
        pass  # it was quicker
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert err.rstrip().splitlines()[-1] == "Interrupted."
    assert _until(lambda: not _children(proc.pid)), _children(proc.pid)
    with AuditLog(sample_workspace.audit_path, sample_workspace.root) as log:
        assert RunRecords(log).get_run(run_id)["state"] == "interrupted"
