"""The run engine: queue a run, execute it in a detached worker process or in the foreground, cancel it,
and notice runs whose process died.

Lifecycle: queued → running → succeeded | failed | cancelled | interrupted. Every transition is a
compare-and-set on the run's summary row plus its event, in one SQLite transaction, so two processes
(a worker finishing, a user cancelling, a reaper noticing a dead pid) can never both win.

A detached worker is `python -m workbench.runs.worker WORKSPACE RUN_ID` in its own session: closing the
terminal or the TUI does not stop it. It reads the spec from a private copy under `.workbench/runs/`
(the log only holds the redacted spec) with the table version pinned when the run was queued.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from workbench.audit import AuditLog
from workbench.audit.log import new_run_id, utc_now
from workbench.errors import BadInputError
from workbench.identity import current_host
from workbench.runs.process import kill_leftovers, process_alive, process_start_token
from workbench.runs.records import ACTIVE_STATES, TERMINAL_STATES, RunRecords
from workbench.runs.slots import run_slot
from workbench.workspace import Workspace

if TYPE_CHECKING:
    from workbench.pipeline.data import LoadedData
    from workbench.pipeline.spec import RunSpec
    from workbench.runs.batch import BatchResult

Progress = Callable[[str, dict[str, Any]], None]
QUEUED_WITHOUT_WORKER_S = 60.0  # a queued run with no worker process after this long was never launched


@dataclass(frozen=True)
class QueuedRun:
    run_id: str
    spec: "RunSpec"  # with the table version pinned
    data: "LoadedData"


@dataclass(frozen=True)
class CancelOutcome:
    run_id: str
    state: str
    message: str


def _worker_dir(ws: Workspace) -> Path:
    return ws.state_dir / "runs"


def _spec_file(ws: Workspace, run_id: str) -> Path:
    return _worker_dir(ws) / f"{run_id}.spec.json"


def spec_from_dict(raw: dict[str, Any], source: str | None = None) -> "RunSpec":
    """Rebuild a RunSpec from `RunSpec.as_dict()` (as stored with a run)."""
    from workbench.pipeline.spec import parse_spec

    data = {k: v for k, v in (raw.get("data") or {}).items() if v is not None}
    fields = {k: v for k, v in raw.items() if v is not None and k not in ("data", "source_path")}
    return parse_spec({**fields, "data": data}, source=source or raw.get("source_path"))


def queue_run(ws: Workspace, spec: "RunSpec", *, progress: Progress | None = None, reproduces: str | None = None,
              for_worker: bool = False) -> QueuedRun:
    """Validate the spec against the lake (nothing is recorded if that fails), then record the run as queued."""
    from workbench.access.actions import require_role
    from workbench.runs.batch import prepare_run

    require_role(ws, "contributor", "Starting a run")
    data = prepare_run(ws, spec, progress)
    if spec.data.table is not None and spec.data.version is None and data.version is not None:
        spec = replace(spec, data=replace(spec.data, version=data.version))  # the worker reads what we checked
    run_id = new_run_id()
    if for_worker:
        path = _spec_file(ws, run_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(spec.as_dict(), fh)
    actor = ws.actor
    with AuditLog(ws.audit_path, ws.root) as log:
        RunRecords(log).upsert_run(
            run_id, name=spec.name, state="queued", actor=actor, spec_path=spec.source_path,
            spec=json.dumps(spec.as_dict()), data_source=data.source, data_version=data.version,
            fingerprint=data.fingerprint, row_count=data.row_count, queued_at=utc_now(), backend=spec.backend,
            reproduces=reproduces,
            event=dict(kind="run.queued", actor=actor, subject=spec.name, outcome="queued",
                       data_version=data.version, fingerprint=data.fingerprint,
                       params={"spec": spec.as_dict(), "rows": data.row_count, "detached": for_worker,
                               "reproduces": reproduces}),
        )
    return QueuedRun(run_id, spec, data)


def launch_worker(ws: Workspace, run_id: str) -> int:
    """Start the detached worker for a queued run; returns its pid (the worker outlives this process)."""
    log_path = _worker_dir(ws) / f"{run_id}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "WORKBENCH_USER": ws.actor}
    with open(log_path, "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "workbench.runs.worker", str(ws.root), run_id],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, cwd=ws.root, env=env,
            start_new_session=True, close_fds=True,
        )
    # Reap it when it exits if this process lives on (the TUI); otherwise init adopts it.
    threading.Thread(target=proc.wait, name=f"reap-{run_id}", daemon=True).start()
    with AuditLog(ws.audit_path, ws.root) as log:
        RunRecords(log).set_run_fields(run_id, pid=proc.pid, host=current_host(), proc_start=process_start_token(proc.pid),
                           worker_log=str(log_path.relative_to(ws.root)))
    return proc.pid


def start_detached(ws: Workspace, spec: "RunSpec", *, reproduces: str | None = None) -> str:
    """Validate, queue and launch a run in a detached worker; returns the run id at once."""
    queued = queue_run(ws, spec, reproduces=reproduces, for_worker=True)
    launch_worker(ws, queued.run_id)
    return queued.run_id


def run_foreground(ws: Workspace, spec: "RunSpec", *, progress: Progress | None = None,
                   reproduces: str | None = None) -> "BatchResult":
    """Validate, queue and execute a run in this process (Ctrl-C → interrupted, SIGTERM → cancelled)."""
    queued = queue_run(ws, spec, progress=progress, reproduces=reproduces)
    return execute_run(ws, queued.run_id, progress=progress, data=queued.data, spec=queued.spec)


def execute_run(ws: Workspace, run_id: str, *, progress: Progress | None = None, data: "LoadedData | None" = None,
                spec: "RunSpec | None" = None) -> "BatchResult":
    """Execute a queued run in this process (the worker's body; also the foreground path)."""
    from workbench.runs.batch import final_state, run_spec
    from workbench.runs.cancel import CancelScope, RunCancelled
    from workbench.runs.progress import ProgressTracker

    with AuditLog(ws.audit_path, ws.root) as log, CancelScope() as scope:
        run = RunRecords(log).get_run(run_id)
        if run is None or run["run_id"] != run_id:
            raise BadInputError(f"No run {run_id!r} in the audit log.")
        if run["state"] != "queued":
            if run["state"] == "cancelled":
                raise RunCancelled(f"Run {run_id} was cancelled before it started.")
            raise BadInputError(f"Run {run_id} is {run['state']}, not queued; it cannot be started again.")
        try:
            if spec is None:
                spec = _read_worker_spec(ws, run_id) or spec_from_dict(json.loads(run["spec"]), run.get("spec_path"))
            tracker = ProgressTracker(log, run_id, run["actor"] or ws.actor, metric=spec.metric, scope=scope, echo=progress)
            # This process owns the run from here, also while it waits for a slot (so no reaper takes it for dead).
            RunRecords(log).set_run_fields(run_id, pid=os.getpid(), host=current_host(), proc_start=process_start_token(os.getpid()))
            from workbench.runs.reproduce import replay_for

            replay = replay_for(ws, run_id)  # a reproduction repeats the original's recorded trials
            with run_slot(ws, _slot_waiter(tracker)):
                tracker.restart_clock()
                return run_spec(ws, spec, tracker, run_id=run_id, data=data, replay=replay)
        except BaseException as exc:
            # run_spec settles runs it started; this covers failures before that (e.g. the table is gone).
            message = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
            settle_run(log, ws, run_id, final_state(exc), message, actor=run["actor"] or ws.actor)
            raise
        finally:
            _spec_file(ws, run_id).unlink(missing_ok=True)


def _slot_waiter(tracker: Callable[[str, dict[str, Any]], None], every_s: float = 10.0) -> Callable[[int], None]:
    """Report the wait for a run slot at once and then every `every_s` (each report also checks for a cancel)."""
    last = [float("-inf")]

    def on_wait(limit: int) -> None:
        now = time.monotonic()
        if now - last[0] >= every_s:
            last[0] = now
            tracker("waiting", {"message": f"for a free run slot ({limit} in use; [runs] max_concurrent = {limit})"})

    return on_wait


def _read_worker_spec(ws: Workspace, run_id: str) -> "RunSpec | None":
    path = _spec_file(ws, run_id)
    if not path.exists():
        return None
    raw = json.loads(path.read_text(encoding="utf-8"))
    return spec_from_dict(raw)


def settle_run(log: AuditLog, ws: Workspace, run_id: str, state: str, message: str, *, actor: str,
               params: dict[str, Any] | None = None) -> bool:
    """Move a still-active run to a final `state` and delete its artifact folder; False if it was already final."""
    run = RunRecords(log).get_run(run_id)
    moved = RunRecords(log).transition_run(
        run_id, state, from_states=ACTIVE_STATES, finished_at=utc_now(), error=message,
        artifact_path=None, artifact_sha256=None,
        event=dict(kind=f"run.{state}", actor=actor, subject=run["name"] if run else None, outcome=state,
                   params={"error": message, **(params or {})}),
    )
    if moved:
        from workbench.runs.artifact_store import discard_run

        shutil.rmtree(ws.artifacts_dir / run_id, ignore_errors=True)
        discard_run(ws, run_id)  # what it may have uploaded to the storage back-end before it stopped
        _spec_file(ws, run_id).unlink(missing_ok=True)  # a killed worker's private spec copy (whoever settles it)
    return moved


def reap_orphans(ws: Workspace, log: AuditLog | None = None) -> list[str]:
    """Mark `interrupted` every active run on this host whose worker process is gone, killing what its
    worker left running in its session; returns their ids."""
    own = log is None
    log = log or AuditLog(ws.audit_path, ws.root)
    host = current_host()
    reaped = []
    try:
        for run in RunRecords(log).list_runs(limit=10_000, states=ACTIVE_STATES):
            if run.get("host") not in (None, host):
                continue  # another machine's run: its own host can tell
            if run.get("pid"):
                if process_alive(run["pid"], run.get("proc_start")):
                    continue
                reason = f"worker process {run['pid']} on {host} is gone"
                kill_leftovers(run["pid"])  # its pool workers, if a SIGKILL left any
            else:
                if _age_s(run.get("queued_at")) < QUEUED_WITHOUT_WORKER_S:
                    continue
                reason = "no worker process was started for it"
            if settle_run(log, ws, run["run_id"], "interrupted", f"interrupted: {reason}", actor=ws.actor,
                          params={"detected_by_pid": os.getpid()}):
                reaped.append(run["run_id"])
    finally:
        if own:
            log.close()
    return reaped


def _age_s(ts: str | None) -> float:
    if not ts:
        return float("inf")
    when = datetime.fromisoformat(ts.replace("Z", "+00:00"))
    return (datetime.now(timezone.utc) - when).total_seconds()


def cancel_run(ws: Workspace, run_id: str, *, grace_s: float = 10.0) -> CancelOutcome:
    from workbench.access.actions import require_role

    require_role(ws, "contributor", "Cancelling a run")
    return _cancel_run(ws, run_id, grace_s=grace_s)


def _cancel_run(ws: Workspace, run_id: str, *, grace_s: float = 10.0) -> CancelOutcome:
    """Cancel a queued or running run: SIGTERM its worker, wait up to `grace_s`, then SIGKILL it."""
    actor = ws.actor
    with AuditLog(ws.audit_path, ws.root) as log:
        run = RunRecords(log).get_run(run_id)
        if run is None:
            raise BadInputError(f"No run {run_id!r} in the audit log (see `workbench runs list`).")
        run_id = run["run_id"]
        if run["state"] in TERMINAL_STATES:
            return CancelOutcome(run_id, run["state"], f"Run {run_id} already ended: {run['state']}.")
        RunRecords(log).set_run_fields(run_id, cancel_requested_at=utc_now(), cancel_requested_by=actor)
        log.record("run.cancel_requested", actor=actor, run_id=run_id, subject=run["name"], outcome="requested",
                   params={"state": run["state"], "pid": run.get("pid"), "host": run.get("host")})
        local = run.get("host") in (None, current_host())
        alive = local and process_alive(run.get("pid"), run.get("proc_start"))
        if run["state"] == "queued" and settle_run(log, ws, run_id, "cancelled", "cancelled before it started",
                                                   actor=actor, params={"requested_by": actor}):
            if alive:
                _signal(run["pid"], signal.SIGTERM)
            return CancelOutcome(run_id, "cancelled", f"Run {run_id} cancelled before it started.")
        if not local:
            return CancelOutcome(run_id, "running", f"Cancel requested; the worker on {run['host']} will stop at its next step.")
        if alive and not _signal(run["pid"], signal.SIGTERM):
            # A teammate's worker in a shared workspace: only its owner (or root) may signal it.
            return CancelOutcome(run_id, "running", f"Cancel requested; {run['actor']}'s worker will stop at its next step.")
        if alive:
            deadline = time.monotonic() + grace_s
            while time.monotonic() < deadline:
                state = RunRecords(log).get_run(run_id)["state"]
                if state in TERMINAL_STATES:
                    return CancelOutcome(run_id, state, f"Run {run_id} {state}.")
                if not process_alive(run["pid"], run.get("proc_start")):
                    break
                time.sleep(0.1)
            if process_alive(run["pid"], run.get("proc_start")):
                _kill_hard(run["pid"])
        forced = settle_run(log, ws, run_id, "cancelled", "cancelled on request (worker stopped)", actor=actor,
                            params={"requested_by": actor, "forced": alive})
        state = RunRecords(log).get_run(run_id)["state"]
        if forced:
            return CancelOutcome(run_id, "cancelled", f"Run {run_id} cancelled (its worker was stopped).")
        return CancelOutcome(run_id, state, f"Run {run_id} {state}.")


def _signal(pid: int, sig: int) -> bool:
    """Send `sig` (a process already gone counts as done); False if it belongs to another user."""
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass
    except PermissionError:
        return False
    return True


def _kill_hard(pid: int) -> None:
    """SIGKILL the worker and, when it leads its own session (a detached worker), its child processes."""
    try:
        if os.getpgid(pid) == pid:
            os.killpg(pid, signal.SIGKILL)
        else:
            os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        return
    for _ in range(50):
        if not process_alive(pid, None):
            return
        time.sleep(0.05)


def wait_for_run(ws: Workspace, run_id: str, *, timeout_s: float | None = None, poll_s: float = 0.5,
                 on_change: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Poll the log until the run ends (reaping it if its worker died); returns its final row."""
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    last: tuple[Any, ...] | None = None
    with AuditLog(ws.audit_path, ws.root) as log:
        while True:
            run = RunRecords(log).get_run(run_id)
            if run is None:
                raise BadInputError(f"No run {run_id!r} in the audit log (see `workbench runs list`).")
            key = (run["state"], run.get("progress"))
            if on_change is not None and key != last:
                on_change(run)
            last = key
            if run["state"] in TERMINAL_STATES:
                return run
            if deadline is not None and time.monotonic() > deadline:
                return run
            reap_orphans(ws, log)
            time.sleep(poll_s)
