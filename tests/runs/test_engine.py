"""The run engine with real worker processes: cancel, SIGKILL, Ctrl-C, concurrency, reproduce, bad input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import SPECS

from workbench.audit import AuditLog
from workbench.errors import WorkspaceError
from workbench.runs.records import RunRecords
from workbench.workspace import Workspace
from workbench.workspace.settings import Settings

FLIGHTS = str(SPECS / "flight_delay.toml")  # ~15 s: long enough to stop mid-way


def _run(ws: Workspace, run_id: str) -> dict[str, Any]:
    with AuditLog(ws.audit_path, ws.root) as log:
        return RunRecords(log).get_run(run_id)


def _wait(ws: Workspace, run_id: str, predicate, timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = _run(ws, run_id)
        if run and predicate(run):
            return run
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} never reached the expected state: {_run(ws, run_id)}")


def _training(run: dict[str, Any]) -> bool:
    progress = run.get("progress") or ""
    return run["state"] == "running" and ('"stage": "search"' in progress or '"stage": "scored"' in progress)


def _kinds(ws: Workspace, run_id: str) -> list[str]:
    with AuditLog(ws.audit_path, ws.root) as log:
        return [e.kind for e in reversed(log.events(run_id=run_id, limit=1000))]


def _detach(cli, ws: Workspace, spec: str) -> str:
    out = cli("-w", str(ws.root), "batch", "--detach", "--json", spec)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)["run_id"]


def _verified(ws: Workspace) -> None:
    with AuditLog(ws.audit_path, ws.root) as log:
        result = log.verify_chain()
    assert result.ok, result.summary


def test_cancel_mid_run_ends_cancelled_without_artifact(sample_workspace: Workspace, cli) -> None:
    run_id = _detach(cli, sample_workspace, FLIGHTS)
    _wait(sample_workspace, run_id, _training)
    out = cli("-w", str(sample_workspace.root), "runs", "cancel", run_id, "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["state"] == "cancelled"
    run = _run(sample_workspace, run_id)
    assert run["state"] == "cancelled" and run["artifact_path"] is None and run["finished_at"]
    assert not (sample_workspace.artifacts_dir / run_id).exists()
    kinds = _kinds(sample_workspace, run_id)
    assert kinds[:2] == ["run.queued", "run.started"] and "run.cancel_requested" in kinds and kinds[-1] == "run.cancelled"
    _verified(sample_workspace)
    again = cli("-w", str(sample_workspace.root), "runs", "cancel", run_id)
    assert again.returncode == 0 and "already ended" in again.stdout


def test_sigkill_is_found_interrupted_and_the_chain_verifies(sample_workspace: Workspace, cli) -> None:
    run_id = _detach(cli, sample_workspace, FLIGHTS)
    run = _wait(sample_workspace, run_id, _training)
    os.killpg(run["pid"], signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        listed = json.loads(cli("-w", str(sample_workspace.root), "runs", "list", "--json").stdout)
        state = next(r["state"] for r in listed if r["run_id"] == run_id)
        if state == "interrupted":
            break
        time.sleep(0.2)  # the killed worker may linger as a zombie for a moment
    assert state == "interrupted"
    run = _run(sample_workspace, run_id)
    assert "is gone" in run["error"] and run["artifact_path"] is None
    assert not (sample_workspace.artifacts_dir / run_id).exists()
    assert _kinds(sample_workspace, run_id)[-1] == "run.interrupted"
    _verified(sample_workspace)


def test_ctrl_c_in_the_foreground_is_interrupted_exit_130(sample_workspace: Workspace) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "workbench", "-w", str(sample_workspace.root), "batch", "-q", FLIGHTS],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    with AuditLog(sample_workspace.audit_path, sample_workspace.root) as log:
        deadline = time.monotonic() + 60
        while not (runs := RunRecords(log).list_runs(states=["running"])) and time.monotonic() < deadline:
            time.sleep(0.1)
    run_id = runs[0]["run_id"]
    _wait(sample_workspace, run_id, _training)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Interrupted" in err and "Traceback" not in err
    run = _run(sample_workspace, run_id)
    assert run["state"] == "interrupted" and not (sample_workspace.artifacts_dir / run_id).exists()
    _verified(sample_workspace)


def test_two_concurrent_runs_and_a_reader_lose_nothing(sample_workspace: Workspace) -> None:
    root = str(sample_workspace.root)
    errors: list[BaseException] = []
    reads = 0
    stop = threading.Event()

    def reader() -> None:  # what the TUI does while runs are going
        nonlocal reads
        try:
            with AuditLog(sample_workspace.audit_path, sample_workspace.root) as log:
                while not stop.is_set():
                    RunRecords(log).list_runs(limit=200)
                    log.search(limit=100)
                    log.search("penguin", limit=50)
                    reads += 1
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    thread = threading.Thread(target=reader)
    thread.start()
    procs = [subprocess.Popen([sys.executable, "-m", "workbench", "-w", root, "batch", "--json", str(SPECS / name)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for name in ("penguin_species.toml", "penguin_body_mass.toml")]
    outs = [p.communicate(timeout=240) for p in procs]
    stop.set()
    thread.join()
    assert not errors, errors
    assert reads > 0
    for proc, (out, err) in zip(procs, outs):
        assert proc.returncode == 0, err
        assert "locked" not in err
        run_id = json.loads(out)["run_id"]
        kinds = _kinds(sample_workspace, run_id)
        assert kinds[:2] == ["run.queued", "run.started"] and kinds[-1] == "run.finished"
        assert kinds.count("run.stage") >= 3
    _verified(sample_workspace)


def test_reproduce_of_a_deterministic_run_matches(sample_workspace: Workspace, cli) -> None:
    root = str(sample_workspace.root)
    first = cli("-w", root, "batch", "-q", "--json", str(SPECS / "penguin_species.toml"))
    run_id = json.loads(first.stdout)["run_id"]
    out = cli("-w", root, "runs", "reproduce", run_id, "--json", "-q")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["matches"] and report["verdict"] in ("exact", "within") and report["changed_inputs"] == []
    assert _run(sample_workspace, report["reproduction"])["reproduces"] == run_id
    assert "run.reproduced" in _kinds(sample_workspace, run_id)


def test_bad_input_records_nothing_in_foreground_or_detached(sample_workspace: Workspace, cli, tmp_path: Path) -> None:
    spec = tmp_path / "bad.toml"
    spec.write_text('target = "no_such_column"\n[data]\ntable = "penguins"\n')
    with AuditLog(sample_workspace.audit_path, sample_workspace.root) as log:
        before = log.head()
    for extra in ([], ["--detach"]):
        out = cli("-w", str(sample_workspace.root), "batch", *extra, str(spec))
        assert out.returncode == 2 and "no_such_column" in out.stderr and "Traceback" not in out.stderr
    with AuditLog(sample_workspace.audit_path, sample_workspace.root) as log:
        assert log.head() == before and RunRecords(log).list_runs() == []


def test_cancelling_a_queued_run_stops_it_before_it_starts(sample_workspace: Workspace) -> None:
    from workbench.pipeline.spec import load_spec
    from workbench.runs.cancel import RunCancelled
    from workbench.runs.engine import cancel_run, execute_run, queue_run

    queued = queue_run(sample_workspace, load_spec(SPECS / "penguin_species.toml"))
    assert cancel_run(sample_workspace, queued.run_id).state == "cancelled"
    with pytest.raises(RunCancelled):
        execute_run(sample_workspace, queued.run_id)
    assert _kinds(sample_workspace, queued.run_id) == ["run.queued", "run.cancel_requested", "run.cancelled"]


def test_batch_and_runs_cli_do_not_import_textual() -> None:
    code = ("import sys, workbench.cli, workbench.runs.engine, workbench.runs.worker, workbench.audit.export; "
            "assert 'textual' not in sys.modules; assert 'sklearn' not in sys.modules")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0



def _limit(ws: Workspace, n: int) -> Workspace:
    toml = ws.root / "workbench.toml"
    text = toml.read_text(encoding="utf-8")
    assert "max_concurrent = 2" in text  # the documented default is in every new workspace's settings
    toml.write_text(text.replace("max_concurrent = 2", f"max_concurrent = {n}"), encoding="utf-8")
    return Workspace.load(ws.root)


def _waiting(run: dict) -> bool:
    return run["state"] == "queued" and '"stage": "waiting"' in (run.get("progress") or "")


@pytest.mark.parametrize("value", ["-1", "1.5", "true", '"two"'])
def test_max_concurrent_must_be_a_whole_number(tmp_path: Path, value: str) -> None:
    path = tmp_path / "workbench.toml"
    path.write_text(f"[runs]\nmax_concurrent = {value}\n", encoding="utf-8")
    with pytest.raises(WorkspaceError, match="max_concurrent"):
        Settings.load(path)


@pytest.mark.slow
def test_runs_over_the_limit_wait_for_a_slot_and_can_be_cancelled_while_waiting(sample_workspace: Workspace, cli) -> None:
    ws = _limit(sample_workspace, 1)
    root = str(ws.root)
    first = _detach(cli, ws, FLIGHTS)
    _wait(ws, first, _training)
    second = _detach(cli, ws, str(SPECS / "penguin_species.toml"))
    third = _detach(cli, ws, str(SPECS / "penguin_species.toml"))
    waiting = _wait(ws, second, _waiting)
    _wait(ws, third, _waiting)
    assert waiting["started_at"] is None and "free run slot" in waiting["progress"]
    listed = cli("-w", root, "runs", "show", second)
    assert listed.returncode == 0 and "free run slot" in listed.stdout, listed.stdout

    # A waiting run is cancelled before it starts: it never took a slot, never wrote an artifact.
    out = cli("-w", root, "runs", "cancel", third, "--json")
    assert out.returncode == 0 and json.loads(out.stdout)["state"] == "cancelled", out.stderr
    assert _kinds(ws, third) == ["run.queued", "run.cancel_requested", "run.cancelled"]

    # Freeing the slot lets the waiting run start, and only then.
    assert _run(ws, second)["state"] == "queued"
    assert cli("-w", root, "runs", "cancel", first).returncode == 0
    done = _wait(ws, second, lambda r: r["state"] in ("succeeded", "failed", "cancelled", "interrupted"), timeout=180)
    assert done["state"] == "succeeded", done.get("error")
    assert done["started_at"] >= _run(ws, first)["finished_at"]
    assert _kinds(ws, second)[:2] == ["run.queued", "run.started"]
    _verified(ws)
