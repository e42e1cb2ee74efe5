"""The Dask plugin against a real `distributed.LocalCluster` of worker processes on 127.0.0.1."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from workbench.backends.compute import Task
from workbench.errors import BackendUnavailableError, ExitCode
from workbench.testing import ComputeBackendContract
from workbench.testing import tasks as kit_tasks
from workbench_dask.backend import DaskCompute


@pytest.fixture(scope="module")
def backend():
    """One local cluster (2 worker processes, dashboard off) for the whole module."""
    with DaskCompute(workers=2, connect_timeout=30) as compute:
        yield compute


class TestDaskContract(ComputeBackendContract):
    """Every promise of the compute contract, on a real cluster."""


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens once the socket is closed


def test_cluster_listens_on_loopback_only(backend: DaskCompute):
    assert backend.scheduler_address.startswith("tcp://127.0.0.1:")
    backend._client.wait_for_workers(2, timeout=60)  # the contract tests killed some; the nanny restarts them
    workers = backend._client.nthreads()
    assert len(workers) == 2 and all(addr.startswith("tcp://127.0.0.1:") for addr in workers)
    assert backend.dashboard_link is None


def test_joins_a_running_scheduler_by_address(backend: DaskCompute):
    with DaskCompute(address=backend.scheduler_address, connect_timeout=10) as joined:
        results = joined.run_tasks([Task(f"t{i}", kit_tasks.square, (i,)) for i in range(5)])
        assert [r.value for r in results] == [0, 1, 4, 9, 16]
        assert joined.describe()["address"] == backend.scheduler_address


def test_a_scheduler_that_does_not_answer_is_a_clear_exit_3():
    address = f"tcp://127.0.0.1:{_closed_port()}"
    with pytest.raises(BackendUnavailableError) as err:
        DaskCompute(address=address, connect_timeout=1)
    assert err.value.exit_code == ExitCode.BACKEND_UNAVAILABLE
    assert err.value.message.startswith(f"The Dask scheduler at {address} did not answer within 1 s")


def test_cli_check_reports_an_unreachable_scheduler(tmp_path: Path):
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "xdg"), "WORKBENCH_USER": "tester"}
    ws = tmp_path / "ws"
    subprocess.run([sys.executable, "-m", "workbench", "init", str(ws)], check=True, capture_output=True, env=env)
    (ws / "workbench.toml").write_text((ws / "workbench.toml").read_text()
                                       + f'\n[backends.dask]\naddress = "tcp://127.0.0.1:{_closed_port()}"\nconnect_timeout = 1\n')
    out = subprocess.run([sys.executable, "-m", "workbench", "-w", str(ws), "plugins", "check", "compute", "dask"],
                         capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == ExitCode.BACKEND_UNAVAILABLE
    assert out.stderr.count("\n") == 1 and "did not answer within 1 s" in out.stderr
    from workbench.audit import AuditLog

    with AuditLog(ws / "audit.sqlite", ws) as log:
        [failed] = log.events(kind="plugin.failed")
    assert failed.subject == "dask" and "did not answer" in failed.params["error"]
    assert failed.params["package"] == "workbench-dask"


def test_worker_killed_mid_run_task_retried_and_audited(tmp_path: Path):
    from workbench.audit import AuditLog
    from workbench.backends.session import audit_task_outcomes, open_compute
    from workbench.workspace import Workspace
    from workbench.workspace.create import init_workspace

    ws = init_workspace(tmp_path / "ws", name="dask-ws")
    settings = ws.settings_path.read_text().replace('default_backend = "local"', 'default_backend = "dask"')
    ws.settings_path.write_text(settings + "\n[backends.dask]\nworkers = 2\nconnect_timeout = 30\n")
    ws = Workspace.load(ws.root)
    marker = tmp_path / "die-once"
    tasks = [Task(f"fit-{i}", kit_tasks.sleep_then_return, (0.2, i)) for i in range(6)]
    tasks.insert(2, Task("fit-killer", kit_tasks.die_once, (str(marker),)))
    with AuditLog(ws.audit_path, ws.root) as log:
        with open_compute(ws, log=log, run_id="run-dask") as backend:
            assert backend.name == "dask" and backend.worker_count() == 2
            results = backend.run_tasks(tasks, on_result=audit_task_outcomes(log, actor="tester", run_id="run-dask"))
        loaded = log.events(kind="plugin.loaded", run_id="run-dask")
        retried = {e.subject: e for e in log.events(kind="task.retried", run_id="run-dask")}
    assert len(results) == len(tasks) and all(r.ok for r in results)
    killer = next(r for r in results if r.key == "fit-killer")
    assert killer.value == "survived" and killer.attempts == 2
    assert retried["fit-killer"].params["attempts"] == 2
    assert loaded and loaded[0].params["options"] == {"workers": 2, "threads_per_worker": 1, "connect_timeout": 30.0,
                                                      "dashboard": False}


@pytest.fixture
def silent_address():
    """tcp://127.0.0.1:PORT of a server that accepts every connection and never answers."""
    import threading

    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"tcp://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join(5)
    for conn in held:
        conn.close()
    server.close()


def test_a_scheduler_that_accepts_and_never_answers_is_bounded(silent_address: str, tmp_path: Path):
    import threading

    outcome: list[BaseException] = []

    def join() -> None:
        try:
            DaskCompute(address=silent_address, connect_timeout=1)
        except BaseException as exc:  # noqa: BLE001 - inspected below
            outcome.append(exc)

    thread = threading.Thread(target=join, daemon=True)
    thread.start()
    thread.join(60)  # a hang is forever; no tighter wall-clock bound
    assert not thread.is_alive(), "DaskCompute hung on a silent scheduler"
    [err] = outcome
    assert isinstance(err, BackendUnavailableError)
    assert err.message.startswith(f"The Dask scheduler at {silent_address} did not answer within 1 s")

    # Through the CLI, with a connect timeout longer than the overall deadline: the deadline wins.
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "xdg"), "WORKBENCH_USER": "tester"}
    ws = tmp_path / "ws"
    subprocess.run([sys.executable, "-m", "workbench", "init", str(ws)], check=True, capture_output=True, env=env)
    (ws / "workbench.toml").write_text((ws / "workbench.toml").read_text() + "\n[backends]\ntimeout_s = 2\n"
                                       f'\n[backends.dask]\naddress = "{silent_address}"\nconnect_timeout = 30\n')
    out = subprocess.run([sys.executable, "-m", "workbench", "-w", str(ws), "plugins", "check", "compute", "dask"],
                         capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == ExitCode.BACKEND_UNAVAILABLE, out.stderr
    assert out.stderr.count("\n") == 1 and "The compute back-end 'dask' did not answer within 2 s" in out.stderr
