"""`workbench batch` with `backend = "dask"`: a real run on a local cluster, and a scheduler that is not there."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from workbench.errors import ExitCode

SPEC = ('target = "species"\ntime_budget_s = 40\nmax_trials = 3\ncandidates = ["linear", "lightgbm"]\ncv_folds = 3\n'
        'backend = "dask"\n[data]\ntable = "penguins"\n')


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    root = tmp_path_factory.mktemp("dask-batch")
    env = {**os.environ, "XDG_DATA_HOME": str(root / "xdg"), "WORKBENCH_USER": "tester"}
    subprocess.run([sys.executable, "-m", "workbench", "init", str(root / "ws"), "--sample"], check=True,
                   capture_output=True, env=env, timeout=300)
    (root / "spec.toml").write_text(SPEC)
    return root, env


def _workbench(ws: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "workbench", "-w", str(ws), *args], capture_output=True, text=True,
                          env=env, timeout=300)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_a_batch_run_on_a_local_dask_cluster(workspace: tuple[Path, dict[str, str]]) -> None:
    root, env = workspace
    out = _workbench(root / "ws", env, "batch", "-q", "--json", "--backend-option", "workers=2", str(root / "spec.toml"))
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["automl"]["backend"] == "dask" and result["automl"]["workers"] == 2
    assert result["best_score"] < 0.3  # species are nearly separable: the cluster really fitted models
    shown = json.loads(_workbench(root / "ws", env, "runs", "show", result["run_id"], "--json").stdout)
    loaded = next(e for e in shown["events"] if e["kind"] == "plugin.loaded")
    assert loaded["params"]["package"] == "workbench-dask" and loaded["params"]["options"]["workers"] == 2


def test_a_scheduler_that_does_not_answer_fails_the_run_with_exit_3(workspace: tuple[Path, dict[str, str]]) -> None:
    root, env = workspace
    ws = root / "ws"
    before = {r["run_id"] for r in json.loads(_workbench(ws, env, "runs", "list", "--json").stdout)}
    out = _workbench(ws, env, "batch", "-q", "--backend-option", f"address=tcp://127.0.0.1:{_closed_port()}",
                     "--backend-option", "connect_timeout=1", str(root / "spec.toml"))
    assert out.returncode == ExitCode.BACKEND_UNAVAILABLE, out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and "did not answer within 1 s" in out.stderr
    runs = [r for r in json.loads(_workbench(ws, env, "runs", "list", "--json").stdout) if r["run_id"] not in before]
    [run] = runs
    assert run["state"] == "failed" and "did not answer" in run["error"] and run["artifact_path"] is None
    assert not (ws / "artifacts" / run["run_id"]).exists()
    assert _workbench(ws, env, "audit", "verify").returncode == 0
    con = sqlite3.connect(ws / "audit.sqlite")
    try:
        kinds = [k for (k,) in con.execute("SELECT kind FROM events WHERE run_id = ? ORDER BY seq", (run["run_id"],))]
    finally:
        con.close()
    assert kinds[-2:] == ["plugin.failed", "run.failed"]
