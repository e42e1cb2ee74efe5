"""Re-execute a finished run from its record alone and say whether its metrics match, and if not, what changed.

A run records its trial sequence (families, parameters, folds, seeds) and every decision its clock made
(which trials ran before the deadline, how many rows the confirm round and the final fits got) in
`automl.record` of its `run.finished` event. A reproduction replays exactly that (`run_automl(replay=...)`)
instead of searching again, so a busy machine cannot make it skip or add a trial. A run recorded before
there were records is re-run from its spec, and the report says so.

Inputs compared: the data (table version and content fingerprint), the spec (incl. seed), library
versions and the workspace's git commit, all as recorded with the original run. Metrics (every
leaderboard row's CV scores and the holdout scores) match `exactly`, `within` a relative tolerance (for
learners that are not bit-for-bit deterministic, e.g. multithreaded LightGBM), or not at all.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from typing import Any, Callable

from workbench.audit import AuditLog
from workbench.errors import BadInputError
from workbench.runs.records import RunRecords, spec_of
from workbench.workspace import Workspace

DEFAULT_TOLERANCE = 1e-9
# Costs and bookkeeping vary from run to run (timings) or are not scores: only metrics are compared.
_NOT_METRICS = ("model", "fit_time_s", "predict_ms_per_1k", "latency_p50_ms", "latency_p95_ms", "model_size_kb",
                "pareto", "trial", "trials", "config", "params", "family", "chosen", "leader", "baseline", "tied",
                "trees")


@dataclass
class ReproduceReport:
    original: str
    reproduction: str
    verdict: str  # exact | within | mismatch
    tolerance: float
    max_rel_diff: float
    differences: list[dict[str, Any]] = field(default_factory=list)
    changed_inputs: list[dict[str, Any]] = field(default_factory=list)
    replayed: bool = False  # the recorded trial sequence was replayed (False: an older run, re-run from its spec)

    @property
    def matches(self) -> bool:
        return self.verdict != "mismatch"

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "matches": self.matches}


@dataclass
class PreparedReproduction:
    """What a reproduction re-runs: the original run as the chain recorded it, its spec pinned to the same data
    version, and the inputs (libraries, workspace commit) that differ from then already."""

    original: dict[str, Any]
    spec: Any
    changed_inputs: list[dict[str, Any]]
    record: dict[str, Any] | None = None  # the trial sequence and decisions to replay


def prepare_reproduction(ws: Workspace, run_id: str) -> PreparedReproduction:
    """Refuse a run that cannot be reproduced (unknown, not succeeded, secrets redacted), else say how to re-run it."""
    from workbench.audit.context import git_state
    from workbench.runs.batch import _library_versions
    from workbench.runs.engine import spec_from_dict

    with AuditLog(ws.audit_path, ws.root) as log:
        run = RunRecords(log).trusted_run(run_id)  # the spec and data version as the chain recorded them
        if run is None:
            raise BadInputError(f"No run {run_id!r} in the audit log (see `workbench runs list`).")
        if run["state"] != "succeeded":
            raise BadInputError(f"Run {run['run_id']} is {run['state']}; only succeeded runs can be reproduced.")
        started = [run["events"]["run.started"]] if "run.started" in run["events"] else []
    recorded = spec_of(run)
    if "***" in json.dumps({k: v for k, v in recorded.items() if k not in ("source_path", "description")}):
        raise BadInputError(f"Run {run['run_id']}'s recorded spec had secrets redacted; re-run its spec file instead.")
    spec = spec_from_dict(recorded)
    if spec.data.table is not None and run.get("data_version") is not None:
        spec = replace(spec, data=replace(spec.data, version=run["data_version"]))

    changed: list[dict[str, Any]] = []
    libs_then = started[0].params.get("libraries", {}) if started else {}
    libs_now = _library_versions()
    for pkg in sorted(set(libs_then) | set(libs_now)):
        if libs_then.get(pkg) != libs_now.get(pkg):
            changed.append({"input": f"library {pkg}", "then": libs_then.get(pkg), "now": libs_now.get(pkg)})
    commit_now, _ = git_state(ws.root)
    commit_then = started[0].git_commit if started else None
    if commit_then != commit_now:
        changed.append({"input": "workspace git commit", "then": commit_then, "now": commit_now})
    return PreparedReproduction(run, spec, changed, recorded_sequence(run))


def recorded_sequence(run: dict[str, Any]) -> dict[str, Any] | None:
    """The trial sequence and decisions a trusted run (`RunRecords.trusted_run`) recorded, if it has one."""
    finished = (run.get("events") or {}).get("run.finished")
    record = ((finished.params.get("automl") or {}).get("record") if finished is not None else None)
    return record if isinstance(record, dict) and record.get("trials") else None


def replay_for(ws: Workspace, run_id: str) -> dict[str, Any] | None:
    """The record to replay for the queued run `run_id` when it reproduces another (None otherwise)."""
    with AuditLog(ws.audit_path, ws.root) as log:
        run = RunRecords(log).get_run(run_id)
        if run is None or not run.get("reproduces"):
            return None
        original = RunRecords(log).trusted_run(run["reproduces"])
    return recorded_sequence(original) if original is not None else None


def reproduce_run(ws: Workspace, run_id: str, *, tolerance: float = DEFAULT_TOLERANCE,
                  progress: Callable[[str, dict[str, Any]], None] | None = None) -> ReproduceReport:
    """Re-run `run_id` in this process and compare (the CLI's `runs reproduce`)."""
    from workbench.runs.engine import run_foreground

    prepared = prepare_reproduction(ws, run_id)
    result = run_foreground(ws, prepared.spec, progress=progress, reproduces=prepared.original["run_id"])
    return compare_reproduction(ws, prepared, result, tolerance)


def start_reproduction(ws: Workspace, run_id: str) -> str:
    """Re-run `run_id` in a detached worker (as `batch --detach` does); returns the new run's id at once. The
    worker compares the metrics when the run succeeds (`finish_reproduction`) and records `run.reproduced`."""
    from workbench.runs.engine import start_detached

    prepared = prepare_reproduction(ws, run_id)
    return start_detached(ws, prepared.spec, reproduces=prepared.original["run_id"])


def finish_reproduction(ws: Workspace, run_id: str, result: Any,
                        tolerance: float = DEFAULT_TOLERANCE) -> ReproduceReport | None:
    """When the succeeded run `run_id` reproduces another, compare the two and record the verdict (the detached
    worker calls this after every run; None for a run that reproduces nothing)."""
    with AuditLog(ws.audit_path, ws.root) as log:
        run = RunRecords(log).get_run(run_id)
    if run is None or not run.get("reproduces"):
        return None
    return compare_reproduction(ws, prepare_reproduction(ws, run["reproduces"]), result, tolerance)


def compare_reproduction(ws: Workspace, prepared: PreparedReproduction, result: Any,
                         tolerance: float = DEFAULT_TOLERANCE) -> ReproduceReport:
    """Compare a reproduction's results with the original's and record the verdict (`run.reproduced`)."""
    run, spec, changed = prepared.original, prepared.spec, list(prepared.changed_inputs)
    if result.fingerprint != run["fingerprint"]:
        changed.insert(0, {"input": "data fingerprint", "then": run["fingerprint"], "now": result.fingerprint})
    if spec.data.table is None and result.data_version != run.get("data_version"):
        changed.insert(0, {"input": "lake snapshot", "then": run.get("data_version"), "now": result.data_version})

    then = {r["model"]: r for r in json.loads(run["leaderboard"] or "[]")}
    now = {r["model"]: r for r in result.leaderboard}
    finished = (run.get("events") or {}).get("run.finished")
    holdout_then = dict(finished.params.get("holdout_scores") or {}) if finished is not None else {}
    if holdout_then:
        then["(holdout)"] = {"model": "(holdout)", **holdout_then}
        now["(holdout)"] = {"model": "(holdout)", **result.holdout_scores}
    differences, worst, exact = [], 0.0, True
    for model in sorted(set(then) | set(now)):
        if model not in then or model not in now:
            differences.append({"model": model, "metric": None, "then": model in then, "now": model in now})
            worst = math.inf
            continue
        for metric in sorted(k for k in then[model] if k not in _NOT_METRICS):
            a, b = then[model][metric], now[model].get(metric)
            if a == b:
                continue
            exact = False
            rel = abs(a - b) / max(abs(a), 1e-12) if isinstance(a, (int, float)) and isinstance(b, (int, float)) else math.inf
            worst = max(worst, rel)
            if rel > tolerance:
                differences.append({"model": model, "metric": metric, "then": a, "now": b, "rel_diff": rel})
    verdict = "exact" if exact and not differences else ("within" if not differences else "mismatch")
    report = ReproduceReport(run["run_id"], result.run_id, verdict, tolerance, worst, differences, changed,
                             replayed=prepared.record is not None)
    with AuditLog(ws.audit_path, ws.root) as log:
        log.record("run.reproduced", actor=ws.actor, run_id=run["run_id"], subject=run["name"], outcome=verdict,
                   data_version=result.data_version, fingerprint=result.fingerprint,
                   params={"reproduction": result.run_id, "tolerance": tolerance, "max_rel_diff": worst,
                           "differences": differences, "changed_inputs": changed, "replayed": report.replayed})
    return report
