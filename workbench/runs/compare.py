"""Runs side by side (MLflow's compare view): what each run read, how it was asked to run, what it scored,
which model families it tried and where its time went. Read from the chain, not from the runs table's
copy: each run is a `trusted_run`, so a tampered summary row is refused rather than compared.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Sequence

from workbench.audit import AuditLog
from workbench.errors import BadInputError
from workbench.runs.records import RunRecords, spec_of
from workbench.workspace import Workspace

# What each run is, in the order a person compares runs.
SUMMARY_FIELDS = ("name", "state", "actor", "data_source", "data_version", "fingerprint", "row_count", "backend",
                  "task", "metric", "best_model", "best_score", "started_at", "finished_at", "duration_s")


@dataclass(frozen=True)
class Row:
    """One compared quantity: its value in each run (None where a run has none), and whether they differ."""

    key: str
    values: list[Any]

    @property
    def differs(self) -> bool:
        return len({json.dumps(v, sort_keys=True, default=str) for v in self.values}) > 1

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "values": self.values, "differs": self.differs}


@dataclass(frozen=True)
class RunComparison:
    run_ids: list[str]
    summary: list[Row] = field(default_factory=list)
    spec: list[Row] = field(default_factory=list)  # every spec key; `spec_differences` keeps those that differ
    holdout: list[Row] = field(default_factory=list)  # final model's score on each run's own frozen holdout
    leaderboard: list[Row] = field(default_factory=list)  # each model family's CV score (the run's metric)
    timings: list[Row] = field(default_factory=list)  # seconds per stage

    @property
    def spec_differences(self) -> list[Row]:
        return [r for r in self.spec if r.differs]

    def as_dict(self) -> dict[str, Any]:
        return {"runs": self.run_ids,
                **{name: [r.as_dict() for r in getattr(self, name)]
                   for name in ("summary", "spec", "holdout", "leaderboard", "timings")},
                "spec_differences": [r.key for r in self.spec_differences]}


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested spec tables as dotted keys (`data.table`), so a difference names the key that differs."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_flatten(v, f"{prefix}{k}."))
        return out
    return {prefix[:-1]: value}


def _rows(per_run: list[dict[str, Any]], order: Sequence[str] | None = None) -> list[Row]:
    keys = list(order) if order is not None else sorted({k for d in per_run for k in d})
    return [Row(k, [d.get(k) for d in per_run]) for k in keys]


def compare_runs(ws: Workspace, run_ids: Sequence[str]) -> RunComparison:
    """Two or more runs (ids or unique prefixes) side by side. BadInputError for fewer than two or an unknown
    run; IntegrityError when a run's row disagrees with its chained events."""
    from workbench.runs.progress import duration_s

    if len(run_ids) < 2:
        raise BadInputError("Compare needs two runs or more (e.g. `workbench runs compare RUN_A RUN_B`).")
    runs = []
    with AuditLog(ws.audit_path, ws.root) as log:
        records = RunRecords(log)
        for run_id in run_ids:
            run = records.trusted_run(run_id)
            if run is None:
                raise BadInputError(f"No run {run_id!r} in the audit log (see `workbench runs list`).")
            runs.append(run)
    ids = [r["run_id"] for r in runs]
    if len(set(ids)) != len(ids):
        raise BadInputError(f"A run is named twice: {', '.join(ids)}.")
    summaries, specs, holdouts, boards, timings = [], [], [], [], []
    for run in runs:
        summaries.append({**{k: run.get(k) for k in SUMMARY_FIELDS if k != "duration_s"}, "duration_s": duration_s(run)})
        specs.append({k: v for k, v in _flatten(spec_of(run)).items() if k not in ("source_path",)})
        finished = run["events"].get("run.finished")
        params = finished.params if finished is not None else {}
        holdouts.append(dict(params.get("holdout_scores") or {}))
        metric = run.get("metric")
        board = params.get("leaderboard") or (json.loads(run["leaderboard"]) if run.get("leaderboard") else [])
        boards.append({str(e.get("model")): e.get(metric) for e in board if isinstance(e, dict)})
        timings.append(dict((params.get("automl") or {}).get("timings") or {}))
    return RunComparison(ids, _rows(summaries, SUMMARY_FIELDS), _rows(specs), _rows(holdouts), _rows(boards),
                         _rows(timings))
