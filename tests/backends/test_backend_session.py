"""Opening back-ends from a workspace: workbench.toml options, audit events, secrets kept out."""

from __future__ import annotations

import json

import pytest

from workbench.audit import AuditLog
from workbench.backends.compute import Task
from workbench.backends.local import LocalCompute
from workbench.backends.local_storage import LocalStorage
from workbench.backends.options import BackendOptionError
from workbench.backends.session import audit_task_outcomes, open_compute, open_storage
from workbench.errors import BackendUnavailableError
from workbench.testing import tasks as kit_tasks
from workbench.workspace import Workspace


def _with_settings(ws: Workspace, toml: str) -> Workspace:
    ws.settings_path.write_text(ws.settings_path.read_text() + "\n" + toml)
    return Workspace.load(ws.root)


def test_compute_options_come_from_workbench_toml_and_are_audited(empty_workspace: Workspace):
    ws = _with_settings(empty_workspace, "[backends.local]\nworkers = 1\n")
    with AuditLog(ws.audit_path, ws.root) as log:
        backend = open_compute(ws, log=log, run_id="r1")
        try:
            assert isinstance(backend, LocalCompute) and backend.workers == 1
            assert open_compute(ws, explicit={"workers": 2}).workers == 2  # a flag or the spec wins
        finally:
            backend.close()
        [event] = log.events(kind="plugin.loaded")
    assert event.subject == "local" and event.run_id == "r1"
    assert event.params["options"] == {"workers": 1} and event.params["package"] == "workbench"


def test_bad_option_is_exit_2_and_recorded(empty_workspace: Workspace):
    ws = _with_settings(empty_workspace, "[backends.local]\nworkers = \"lots\"\n")
    with AuditLog(ws.audit_path, ws.root) as log:
        with pytest.raises(BackendOptionError, match=r"workbench.toml \[backends.local\]: workers must be int"):
            open_compute(ws, log=log)
        [event] = log.events(kind="plugin.failed")
    assert "workers must be int" in event.params["error"]


def test_missing_backend_is_exit_3_and_recorded(empty_workspace: Workspace):
    with AuditLog(empty_workspace.audit_path, empty_workspace.root) as log:
        with pytest.raises(BackendUnavailableError):
            open_compute(empty_workspace, "no-such-backend", log=log)
        assert log.events(kind="plugin.failed")[0].subject == "no-such-backend"


def test_default_storage_is_the_workspace_folder(empty_workspace: Workspace):
    storage = open_storage(empty_workspace)
    assert isinstance(storage, LocalStorage) and storage.root == empty_workspace.root
    ws = _with_settings(empty_workspace, '[storage]\nbackend = "local"\n\n[storage.local]\nroot = "objects"\n')
    assert open_storage(ws).root == ws.root / "objects"


def test_a_worker_killed_mid_run_is_retried_and_audited(empty_workspace: Workspace, tmp_path):
    ws = empty_workspace
    marker = tmp_path / "marker"
    tasks = [Task("fit-0", kit_tasks.die_once, (str(marker),))] + [Task(f"fit-{i}", kit_tasks.square, (i,)) for i in range(1, 6)]
    seen = []
    with AuditLog(ws.audit_path, ws.root) as log:
        with open_compute(ws, explicit={"workers": 2}, log=log, run_id="run-x") as backend:
            results = backend.run_tasks(tasks, on_result=audit_task_outcomes(log, actor="tester", run_id="run-x",
                                                                             forward=seen.append))
        retried = log.events(kind="task.retried", run_id="run-x")
        ok, _ = log.verify()
    assert all(r.ok for r in results) and len(seen) == len(tasks)
    assert results[0].value == "survived" and results[0].attempts >= 2
    assert "fit-0" in {e.subject for e in retried}
    assert ok


def test_secrets_never_reach_the_audit_log(empty_workspace: Workspace, monkeypatch: pytest.MonkeyPatch):
    from workbench.backends.options import Option, OptionSchema

    class TokenCompute(LocalCompute):
        OPTIONS = OptionSchema(Option("workers", int), Option("token", str, secret=True, env="WB_TEST_TOKEN"))

        def __init__(self, workers=None, token=None):
            super().__init__(workers=workers)
            self.token = token

    monkeypatch.setenv("WB_TEST_TOKEN", "s3cr3t-t0k3n")
    monkeypatch.setattr("workbench.backends.session.load_backend_class", lambda group, name: TokenCompute)
    with AuditLog(empty_workspace.audit_path, empty_workspace.root) as log:
        backend = open_compute(empty_workspace, "local", explicit={"workers": 1}, log=log)
        backend.close()
        assert backend.token == "s3cr3t-t0k3n"
        rows = [json.dumps(r) for r in log.iter_events()]
    assert rows and not any("s3cr3t-t0k3n" in r for r in rows)
    assert "s3cr3t-t0k3n" not in repr(backend)
