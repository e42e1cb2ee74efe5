"""`workbench batch` on a chosen compute back-end: the spec's or the command line's, audited either way."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from workbench.audit import AuditLog
from workbench.backends.compute import Task
from workbench.backends.session import AuditedCompute, open_compute
from workbench.testing import tasks as kit_tasks
from workbench.workspace import Workspace

SMALL = ('target = "species"\ntime_budget_s = 15\nmax_trials = 2\ncandidates = ["linear"]\ncv_folds = 3\n'
         '[data]\ntable = "penguins"\n')


def _spec(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "spec.toml"
    path.write_text(body)
    return path


def _events(ws: Workspace, kind: str) -> list[dict]:
    with AuditLog(ws.audit_path, ws.root) as log:
        return [{"run_id": e.run_id, "subject": e.subject, "params": e.params} for e in log.events(kind=kind)]


def _run_count(ws: Workspace) -> int:
    con = sqlite3.connect(ws.audit_path)
    try:
        return con.execute("SELECT count(*) FROM runs").fetchone()[0]
    finally:
        con.close()


def test_the_back_end_that_ran_a_run_is_in_its_record(sample_workspace: Workspace, tmp_path: Path, cli) -> None:
    spec = _spec(tmp_path, SMALL + '\n[backend_options]\nworkers = 2\n')
    # The flag wins over the spec's option of the same name.
    result = cli("-w", str(sample_workspace.root), "batch", "-q", "--json", "--backend-option", "workers=1", str(spec))
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    [loaded] = _events(sample_workspace, "plugin.loaded")
    assert loaded["run_id"] == out["run_id"] and loaded["subject"] == "local"
    assert loaded["params"]["options"] == {"workers": 1} and loaded["params"]["kind"] == "compute"
    assert out["spec"]["backend_options"] == {"workers": "1"}
    assert out["automl"]["workers"] == 1


@pytest.mark.parametrize(
    "args, body, code, expected",
    [
        (["--backend", "no-such-engine"], SMALL, 3, "no-such-engine"),
        (["--backend-option", "cores=2"], SMALL, 2, "unknown option 'cores'"),
        (["--backend-option", "workers"], SMALL, 2, "expected KEY=VALUE"),
        ([], SMALL + '\n[backend_options]\nworkers = "lots"\n', 2, "workers must be int"),
        ([], SMALL.replace("cv_folds = 3\n", "cv_folds = 3\nbackend_options = 4\n"), 2, "backend_options must be a table"),
    ],
)
def test_a_back_end_that_cannot_run_is_refused_before_the_run_is_recorded(
    sample_workspace: Workspace, tmp_path: Path, cli, args: list[str], body: str, code: int, expected: str
) -> None:
    result = cli("-w", str(sample_workspace.root), "batch", *args, str(_spec(tmp_path, body)))
    assert result.returncode == code, result.stderr
    assert expected in result.stderr and "Traceback" not in result.stderr
    assert [ln for ln in result.stderr.splitlines() if ln.strip()] == [result.stderr.strip()]  # one line
    assert _run_count(sample_workspace) == 0
    assert not list(sample_workspace.artifacts_dir.iterdir())


def test_an_unknown_back_end_is_a_plugin_failed_event(sample_workspace: Workspace, tmp_path: Path, cli) -> None:
    result = cli("-w", str(sample_workspace.root), "batch", "--detach", "--backend", "no-such-engine",
                 str(_spec(tmp_path, SMALL)))
    assert result.returncode == 3
    [failed] = _events(sample_workspace, "plugin.failed")
    assert failed["subject"] == "no-such-engine" and "no-such-engine" in failed["params"]["error"]


def test_a_runs_tasks_lost_with_a_worker_are_retried_and_audited(empty_workspace: Workspace, tmp_path: Path) -> None:
    # What batch wraps every back-end in: the engine passes no callback of its own, the log still learns.
    ws = empty_workspace
    tasks = [Task("fit-0", kit_tasks.die_once, (str(tmp_path / "marker"),))]
    tasks += [Task(f"fit-{i}", kit_tasks.square, (i,)) for i in range(1, 4)]
    with AuditLog(ws.audit_path, ws.root) as log:
        with AuditedCompute(open_compute(ws, explicit={"workers": 2}, log=log, run_id="run-y"), log,
                            actor="tester", run_id="run-y") as backend:
            assert backend.worker_count() == 2
            results = backend.run_tasks(tasks)
        retried = log.events(kind="task.retried", run_id="run-y")
    assert all(r.ok for r in results) and results[0].attempts >= 2
    # A dead worker breaks the whole process pool: every task in flight with it is retried, and logged.
    assert "fit-0" in {e.subject for e in retried} and all(e.outcome == "ok" for e in retried)
