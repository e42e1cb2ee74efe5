"""`workbench batch SPEC`: read data from the lake, train, score, save the model, record everything.

The run engine (`runs/engine.py`) queues runs and executes them here, in a detached worker or in the
foreground. Bad input (spec, table, target) is rejected before anything is recorded; once the run is recorded it
always ends in a final state (succeeded, failed, cancelled or interrupted) and never references a partial artifact.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from workbench.audit import AuditLog
from workbench.audit.log import new_run_id, utc_now
from workbench.errors import RunFailedError, SpecError, WorkbenchError
from workbench.identity import current_host
from workbench.lake.engine import open_lake
from workbench.pipeline.spec import RunSpec, load_spec
from workbench.runs.records import RunRecords
from workbench.workspace import Workspace

if TYPE_CHECKING:
    from workbench.pipeline.data import LoadedData

Progress = Callable[[str, dict[str, Any]], None]


@dataclass
class BatchResult:
    run_id: str
    spec: RunSpec
    task: str
    metric: str
    data_source: str
    data_version: int | None
    fingerprint: str
    row_count: int
    train_rows: int
    test_rows: int
    leaderboard: list[dict[str, Any]]
    best_model: str
    best_score: float
    artifact_path: str
    artifact_sha256: str
    holdout_path: str = ""
    holdout_sha256: str = ""
    dropped_features: dict[str, str] = field(default_factory=dict)
    holdout_scores: dict[str, float] = field(default_factory=dict)
    trials: list[dict[str, Any]] = field(default_factory=list)
    automl: dict[str, Any] = field(default_factory=dict)  # validation, feature engineering, timings, ...
    diagnostics_path: str = ""
    manifest_path: str = ""
    library_versions: dict[str, str] = field(default_factory=dict)
    # Which rows the saved model saw (final_rows, final_rows_scope) and the holdout model's file, if separate.
    training: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["spec"] = self.spec.as_dict()
        return d


def run_batch(workspace: Workspace, spec_path: Path, progress: Progress | None = None) -> BatchResult:
    spec = load_spec(spec_path, workspace.settings.default_holdout, workspace.settings.default_backend)
    return run_spec(workspace, spec, progress)


def check_backend(workspace: Workspace, spec: RunSpec) -> None:
    """Refuse, before a run is recorded, a compute back-end that is not installed or fails to import, and
    unknown or secret options; the refusal is a `plugin.failed` event (exit 3 or 2)."""
    from workbench.backends.discovery import COMPUTE_GROUP
    from workbench.backends.session import load_class, refuse_secrets, resolve_options

    try:
        cls = load_class(workspace.settings, COMPUTE_GROUP, spec.backend)  # within [backends] timeout_s
        refuse_secrets(COMPUTE_GROUP, spec.backend, spec.backend_options, f"{spec.source_path or 'spec'} backend_options",
                       cls)
        resolve_options(workspace.settings, COMPUTE_GROUP, spec.backend, spec.backend_options, cls)
    except WorkbenchError as exc:
        with AuditLog(workspace.audit_path, workspace.root) as log:
            log.record("plugin.failed", actor=workspace.actor, subject=spec.backend, outcome="failed",
                       params={"name": spec.backend, "kind": "compute", "error": exc.message})
        raise


def prepare_run(workspace: Workspace, spec: RunSpec, progress: Progress | None = None) -> LoadedData:
    """Load and check the run's data and target; raises (recording nothing) if the run cannot start. The
    validation is kept with the data (`LoadedData.validated`): the engine uses it instead of validating again."""
    from dataclasses import replace

    from workbench.pipeline.data import load_data
    from workbench.pipeline.validation import validate

    report = progress or (lambda stage, info: None)
    check_backend(workspace, spec)
    report("load", {"source": spec.data.describe()})
    with open_lake(workspace) as lake:
        refuse_uncertified(workspace, lake, spec)
        data = load_data(lake, spec.data)
    if data.row_count == 0:
        raise SpecError(f"The data for {spec.name!r} has no rows; nothing to train on.") from None
    validated = validate(data.frame, spec)  # bad target or columns: refuse before anything is recorded
    return replace(data, validated=validated)


def refuse_uncertified(workspace: Workspace, lake: Any, spec: RunSpec) -> None:
    """Refuse (one sentence, nothing recorded) data whose table version failed or skipped its checks."""
    from workbench.lake.certification import refuse_unusable, tables_read

    d = spec.data
    refuse_unusable(workspace, tables_read(lake, d.table, d.version, d.query))


def allow_uncertified_data(workspace: Workspace, spec: RunSpec, reason: str) -> list[tuple[str, int | None]]:
    """Record, for each uncertified table version the spec reads, that it may be trained on (audited)."""
    from workbench.lake.certification import allow_uncertified, tables_read, version_state

    d = spec.data
    with open_lake(workspace, read_only=True) as lake:
        reads = tables_read(lake, d.table, d.version, d.query)
    allowed = [(t, v) for t, v in reads if v is not None and not version_state(workspace, t, v).usable]
    for table, version in allowed:
        allow_uncertified(workspace, table, int(version), reason)  # type: ignore[arg-type]
    return allowed


def run_spec(
    workspace: Workspace,
    spec: RunSpec,
    progress: Progress | None = None,
    *,
    run_id: str | None = None,
    data: LoadedData | None = None,
    replay: dict[str, Any] | None = None,
) -> BatchResult:
    """Run `spec` in this process. With `run_id`, the run was queued by the run engine (`runs/engine.py`)
    and moves queued → running here; `data` skips reloading what `prepare_run` already loaded; `replay` is
    the record of a run to repeat exactly (`runs reproduce`)."""
    from workbench.pipeline.engine import run_automl
    from workbench.runs.artifact_store import artifact_storage, discard_run, publish_run
    from workbench.runs.cancel import RunCancelled, current_cancel_event
    from workbench.runs.process import process_start_token

    clock = time.monotonic()  # the time budget covers the whole run, loading included
    report = progress or (lambda stage, info: None)
    actor = workspace.actor
    if run_id is None:  # a queued run was checked when it was queued (`runs/engine.queue_run`)
        from workbench.access.actions import require_role

        require_role(workspace, "contributor", "Starting a run")
    if data is None:
        data = prepare_run(workspace, spec, report)

    # Where the artifacts will live; an unreachable back-end fails the run here, before it is recorded as running.
    storage = artifact_storage(workspace)
    queued = run_id is not None
    run_id = run_id or new_run_id()
    run_dir = workspace.artifacts_dir / run_id
    log = AuditLog(workspace.audit_path, workspace.root)
    common = dict(actor=actor, run_id=run_id, data_version=data.version, fingerprint=data.fingerprint)
    if not queued:
        RunRecords(log).upsert_run(run_id, name=spec.name, state="queued", actor=actor, spec_path=spec.source_path,
                                   spec=json.dumps(spec.as_dict()), queued_at=utc_now(), backend=spec.backend,
                                   event=dict(kind="run.queued", subject=spec.name, outcome="queued",
                                              params={"spec": spec.as_dict(), "rows": data.row_count,
                                                      "detached": False}, **common))
    started = RunRecords(log).transition_run(
        run_id, "running", from_states=("queued",),
        event=dict(kind="run.started", subject=spec.name, outcome="running",
                   params={"spec": spec.as_dict(), "rows": data.row_count, "libraries": _library_versions(),
                           **({"storage": storage.describe()} if storage is not None else {})}, **common),
        data_source=data.source, data_version=data.version, fingerprint=data.fingerprint, row_count=data.row_count,
        started_at=utc_now(), pid=os.getpid(), host=current_host(), proc_start=process_start_token(os.getpid()),
    )
    if not started:
        log.close()
        raise RunCancelled(f"Run {run_id} was cancelled before it started.")
    try:
        from workbench.backends.session import AuditedCompute, open_compute

        # Started here, not inside the engine, so the log records which back-end ran it (`plugin.loaded`)
        # and every task it had to retry.
        with AuditedCompute(open_compute(workspace, spec.backend, spec.backend_options, log=log, run_id=run_id),
                            log, actor=actor, run_id=run_id) as backend:
            trained = run_automl(data.frame, spec, progress=report, started_at=clock, backend=backend,
                                 validated=data.validated, cancel=current_cancel_event(), replay=replay)
        best = trained.best
        report("save", {"model": trained.best_model})
        from workbench.audit.redact import redact
        from workbench.runs.artifacts import save_frame, save_json

        # The held-out rows are frozen with the run: the registry compares models on exactly these rows.
        holdout_path = run_dir / "holdout.parquet"
        holdout_digest = save_frame(trained.holdout, holdout_path)
        model_path = run_dir / "model.joblib"
        digest = _save(trained.estimator, model_path)
        # Which rows each saved model saw: the saved one (refitted on every row with refit_all) and, when it
        # differs, the model of the training rows that the frozen holdout scored (promotion evidence uses it).
        training = {"final_rows": trained.best.get("final_rows"), "final_rows_scope": trained.best.get("final_rows_scope"),
                    "holdout_model_rows": trained.best.get("holdout_model_rows"), "train_rows": trained.train_rows,
                    "test_rows": trained.test_rows}
        if trained.saved_differs_from_scored:
            holdout_model_path = run_dir / "holdout_model.joblib"
            training.update(holdout_model=str(holdout_model_path.relative_to(workspace.root)),
                            holdout_model_sha256=_save(trained.holdout_estimator, holdout_model_path))
        libraries = _library_versions()
        summary = trained.summary()
        leaderboard = trained.leaderboard
        save_json({"leaderboard": leaderboard, "trials": trained.trials}, run_dir / "leaderboard.json")
        diagnostics_path = run_dir / "diagnostics.json"
        save_json(trained.diagnostics, diagnostics_path)
        manifest_path = run_dir / "model.json"
        # The JSON files mask secrets (save_json); the spec also as the log records it (secret-looking keys too).
        save_json({"artifact": model_path.name, "sha256": digest, "model": trained.best_model, "params": best["params"],
                   "task": trained.task.task, "metric": trained.task.metric, "target": spec.target,
                   "features": trained.features.raw_columns, "libraries": libraries, "spec": redact(spec.as_dict()),
                   "holdout_scores": trained.holdout_scores, "training": training,
                   "cv": {k: v for k, v in best.items() if k != "params"}},
                  manifest_path)
        result = BatchResult(
            run_id=run_id, spec=spec, task=trained.task.task, metric=trained.task.metric,
            data_source=data.source, data_version=data.version, fingerprint=data.fingerprint,
            row_count=data.row_count, train_rows=trained.train_rows, test_rows=trained.test_rows,
            # The score the leaderboard ranks by (CV mean); the frozen-holdout scores are reported beside it.
            leaderboard=leaderboard, best_model=trained.best_model, best_score=best[trained.task.metric],
            artifact_path=str(model_path.relative_to(workspace.root)), artifact_sha256=digest,
            holdout_path=str(holdout_path.relative_to(workspace.root)), holdout_sha256=holdout_digest,
            dropped_features=trained.features.dropped,
            holdout_scores=trained.holdout_scores, trials=trained.trials, automl=summary,
            diagnostics_path=str(diagnostics_path.relative_to(workspace.root)),
            manifest_path=str(manifest_path.relative_to(workspace.root)), library_versions=libraries,
            training=training,
        )
        # The storage back-end is the system of record: every file is there before the run can succeed.
        publish_run(workspace, run_dir)
        # One transaction: the summary row and the run.finished event agree even if killed right here.
        RunRecords(log).transition_run(
            run_id, "succeeded", from_states=("running",), finished_at=utc_now(), task=result.task,
            metric=result.metric, best_model=result.best_model, best_score=result.best_score,
            artifact_path=result.artifact_path, artifact_sha256=digest, leaderboard=json.dumps(leaderboard),
            event=dict(kind="run.finished", subject=spec.name, outcome="succeeded",
                       params={"metric": result.metric, "best_model": result.best_model, "best_score": result.best_score,
                               "leaderboard": leaderboard, "artifact": result.artifact_path, "artifact_sha256": digest,
                               "holdout": result.holdout_path, "holdout_sha256": holdout_digest,
                               "train_rows": result.train_rows, "test_rows": result.test_rows,
                               "training": training,
                               "dropped_features": result.dropped_features,
                               "holdout_scores": result.holdout_scores, "automl": summary,
                               "diagnostics": result.diagnostics_path}, **common),
        )
        return result
    except BaseException as exc:
        state = final_state(exc)
        message = (exc.message if isinstance(exc, WorkbenchError) else "cancelled on request" if state == "cancelled"
                   else "interrupted (Ctrl-C or SIGINT)" if state == "interrupted" else f"{type(exc).__name__}: {exc}")
        # Only the process that moves the run out of `running` cleans its folder: a run that already
        # succeeded keeps its model.
        if RunRecords(log).transition_run(run_id, state, from_states=("running",), finished_at=utc_now(), error=message,
                              artifact_path=None, artifact_sha256=None,
                              event=dict(kind=f"run.{state}", subject=spec.name, outcome=state,
                                         params={"error": message}, **common)):
            shutil.rmtree(run_dir, ignore_errors=True)
            discard_run(workspace, run_id)
        if isinstance(exc, (KeyboardInterrupt, RunCancelled, WorkbenchError)):
            raise
        raise RunFailedError(f"Run {run_id} failed: {message}") from exc
    finally:
        log.close()


def final_state(exc: BaseException) -> str:
    """The state a run ends in when `exc` stops it."""
    from workbench.runs.cancel import RunCancelled

    if isinstance(exc, RunCancelled):
        return "cancelled"
    if isinstance(exc, (KeyboardInterrupt, SystemExit)):
        return "interrupted"
    return "failed"


def _save(estimator: Any, path: Path) -> str:
    from workbench.runs.artifacts import save_model

    return save_model(estimator, path)


def _library_versions() -> dict[str, str]:
    import platform
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for pkg in ("duckdb", "polars", "pyarrow", "scikit-learn", "lightgbm", "optuna", "numpy", "workbench"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            pass
    return out
