"""Register a finished run as an immutable model version with its full lineage.

Lineage: run → spec (and its hash) → data source, version and content fingerprint → code version
(Workbench, git commit, library versions) → artifact SHA-256 (checked against the file now) → metrics,
plus the frozen holdout rows the registry later uses as promotion evidence.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from workbench.audit.log import utc_now
from workbench.errors import BadInputError, LakeError
from workbench.registry.artifacts import verified_path
from workbench.registry.inputs import feature_schema, used_columns
from workbench.registry.refs import check_model_name
from workbench.registry.store import RegistryStore
from workbench.registry.trail import record_event
from workbench.runs.records import spec_of
from workbench.workspace import Workspace

LINEAGE_FIELDS = ("run_id", "spec_sha256", "data_source", "data_version", "fingerprint", "code", "artifact_path",
                  "artifact_sha256", "holdout_path", "holdout_sha256", "metric", "score", "metrics", "training")


def spec_sha256(spec: dict[str, Any]) -> str:
    body = {k: v for k, v in spec.items() if k != "source_path"}  # where the file was is not what it says
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _run_facts(workspace: Workspace, run_id: str) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], str | None]:
    """(run row, run.started params, run.finished params, git commit) from the audit log."""
    from workbench.audit import AuditLog
    from workbench.runs.records import RunRecords

    with AuditLog(workspace.audit_path, workspace.root) as log:
        # Checked against the chain: a runs row edited to point at another file is refused here.
        run = RunRecords(log).trusted_run(run_id)
        if run is None:
            raise BadInputError(f"No run {run_id!r} in the audit log (see `workbench runs list`).")
    started = run["events"].get("run.started")
    finished = run["events"].get("run.finished")
    return run, started.params if started else {}, finished.params if finished else {}, started.git_commit if started else None


def _reference(workspace: Workspace, spec: dict[str, Any], run: dict[str, Any], features: list[str],
               holdout_file: str) -> dict[str, Any]:
    """Drift reference from the exact training data when the lake still has it, else the frozen holdout."""
    import duckdb

    from workbench.lake.catalog import table_ref
    from workbench.lake.engine import open_lake
    from workbench.lake.fingerprint import fingerprint_relation
    from workbench.lake.names import quote_literal
    from workbench.lake.sql_guard import guarded_select
    from workbench.registry.drift import reference_profile

    data = spec.get("data") or {}
    with open_lake(workspace, read_only=True) as lake:  # a stored spec query re-runs here: it must not write
        cur = lake.cursor()
        try:
            if data.get("table"):
                ref = table_ref(lake, data["table"], run.get("data_version"))
                return reference_profile(cur, ref, features, f"training data {run['data_source']}")
            if data.get("query"):
                sql = f"({guarded_select(lake, data['query'])})"
                if fingerprint_relation(cur, sql)[0] == run.get("fingerprint"):
                    return reference_profile(cur, sql, features, "training data (query, same fingerprint)")
        except (LakeError, duckdb.Error):
            pass  # the training data is gone or changed: fall back to the holdout, and say so
    holdout = duckdb.connect()  # the holdout is an artifact, outside the lake a sealed handle may read
    try:
        return reference_profile(holdout, f"read_parquet({quote_literal(holdout_file)})", features,
                                 "frozen holdout rows (training data no longer readable as trained)")
    finally:
        holdout.close()


def _training(workspace: Workspace, finished: dict[str, Any]) -> dict[str, Any] | None:
    """Which rows the artifact saw (`final_rows`, `final_rows_scope`: "train+holdout" when refitted on every
    row) and, when the holdout scored another model (the same configuration fitted on the training rows
    only), that model's file and hash, checked now. None for runs recorded before this was."""
    training = finished.get("training")
    if not isinstance(training, dict):
        return None
    if training.get("holdout_model"):
        verified_path(workspace, training["holdout_model"], training.get("holdout_model_sha256") or "", "holdout model")
    return dict(training)


def register_run(workspace: Workspace, run_id: str, name: str | None = None, description: str = "") -> dict[str, Any]:
    """Create the next version of model `name` (default: the run's name) from a succeeded run."""
    import polars as pl

    from workbench.access.actions import require_role

    require_role(workspace, "contributor", "Registering a model")
    run, started, finished, git_commit = _run_facts(workspace, run_id)
    run_id = run["run_id"]
    if run.get("state") != "succeeded":
        raise BadInputError(f"Run {run_id} is {run.get('state')}; only a succeeded run can be registered.")
    model = check_model_name(name or run["name"])
    spec = spec_of(run)
    holdout_rel = finished.get("holdout")
    holdout_sha = finished.get("holdout_sha256")
    if not run.get("artifact_path") or not run.get("artifact_sha256"):
        raise BadInputError(f"Run {run_id} saved no model artifact; there is nothing to register.")
    if not holdout_rel or not holdout_sha:
        raise BadInputError(f"Run {run_id} has no frozen holdout rows; re-run it to register a comparable model.")
    target, task, metric = spec.get("target"), run.get("task"), run.get("metric")
    if not target or not task or not metric:
        raise BadInputError(f"Run {run_id} does not record its target, task and metric; it cannot be registered.")
    artifact = verified_path(workspace, run["artifact_path"], run["artifact_sha256"], "model artifact")
    holdout_file = verified_path(workspace, holdout_rel, holdout_sha, "holdout")

    schema = pl.read_parquet_schema(holdout_file)
    if target not in schema:
        raise BadInputError(f"The holdout of run {run_id} has no target column {target!r}.")
    import joblib

    features = feature_schema(schema, target, used_columns(joblib.load(artifact)))
    holdout_rows = pl.scan_parquet(holdout_file).select(pl.len()).collect().item()
    reference = _reference(workspace, spec, run, [f[0] for f in features], str(holdout_file))
    leaderboard = json.loads(run["leaderboard"]) if run.get("leaderboard") else finished.get("leaderboard") or []
    # The saved model's row: flagged `chosen` (runs since the flag exists), else the family's row.
    best = next((r for r in leaderboard if r.get("chosen")), None) or next(
        (r for r in leaderboard if r.get("model") == run.get("best_model")), {})
    training = _training(workspace, finished)
    metrics = {k: v for k, v in best.items() if k not in ("model", "fit_time_s", "predict_ms_per_1k") and isinstance(v, (int, float))}
    libraries = started.get("libraries") or {}
    data = spec.get("data") or {}
    row = {
        "model": model, "run_id": run_id, "registered_at": utc_now(), "registered_by": workspace.actor,
        "description": description or spec.get("description") or "", "run_name": run.get("name"),
        "run_actor": run.get("actor"), "trained_at": run.get("finished_at"), "task": task, "target": target,
        "metric": metric, "score": run.get("best_score"), "estimator": run.get("best_model"),
        "metrics": metrics, "spec": spec, "spec_sha256": spec_sha256(spec), "data_source": run.get("data_source") or "",
        "data_table": data.get("table"), "data_query": data.get("query"), "data_version": run.get("data_version"),
        "fingerprint": run.get("fingerprint") or "", "row_count": run.get("row_count"),
        "code": {"workbench_version": libraries.get("workbench"), "git_commit": git_commit, "libraries": libraries},
        "artifact_path": run["artifact_path"], "artifact_sha256": run["artifact_sha256"],
        "holdout_path": holdout_rel, "holdout_sha256": holdout_sha, "holdout_rows": holdout_rows,
        "features": features, "reference": reference, "training": training,
    }
    with RegistryStore.open(workspace) as store:
        with store.transaction():
            already = [v for v in store.versions_of_run(run_id) if v["model"] == model]
            if already:
                raise BadInputError(f"Run {run_id} is already version {already[0]['version']} of model {model!r}.")
            row["version"] = store.next_version(model)
            event = record_event(workspace, "model.registered", f"{model}:{row['version']}", {
                "model": model, "version": row["version"], "run_id": run_id, "artifact_path": row["artifact_path"],
                "artifact_sha256": row["artifact_sha256"], "spec_sha256": row["spec_sha256"],
                "data_source": row["data_source"], "metric": metric, "score": row["score"],
                "holdout_path": holdout_rel, "holdout_sha256": holdout_sha, "training": training,
                "features": row["features"],  # what scoring demands and drift compares: bound, so not editable
            }, run_id=run_id, data_version=row["data_version"], fingerprint=row["fingerprint"])
            store.insert("model_versions", row, event)
        return store.get_version(model, row["version"]) or row
