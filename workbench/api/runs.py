"""Runs from Python: list them, read a run's results, start one (the same core path as `workbench batch`)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from workbench.errors import BadInputError
from workbench.workspace import Workspace

if TYPE_CHECKING:
    from workbench.pipeline.spec import RunSpec
    from workbench.runs.batch import BatchResult


@dataclass(frozen=True)
class RunDetails:
    """One run as its chained events record it: spec, data, leaderboard, holdout scores and diagnostics."""

    run_id: str
    name: str
    state: str
    actor: str | None
    spec: dict[str, Any]
    task: str | None
    metric: str | None
    data_source: str | None
    data_version: int | None
    fingerprint: str | None
    row_count: int | None
    started_at: str | None
    finished_at: str | None
    best_model: str | None
    best_score: float | None
    artifact_path: str | None
    artifact_sha256: str | None
    leaderboard: list[dict[str, Any]] = field(default_factory=list)
    holdout_scores: dict[str, float] = field(default_factory=dict)
    automl: dict[str, Any] = field(default_factory=dict)
    libraries: dict[str, str] = field(default_factory=dict)
    diagnostics: dict[str, Any] | None = None
    error: str | None = None


def run_details(workspace: Workspace, run_id: str) -> RunDetails:
    """A run by id or unique prefix, read through `trusted_run` (a row that disagrees with the chain is refused)."""
    from workbench.audit import AuditLog
    from workbench.runs.records import RunRecords, spec_of

    with AuditLog(workspace.audit_path, workspace.root) as log:
        run = RunRecords(log).trusted_run(run_id)
    if run is None:
        raise BadInputError(f"No run {run_id!r} in the audit log (see `workbench runs list`).")
    events = run["events"]
    finished = events["run.finished"].params if "run.finished" in events else {}
    started = events["run.started"].params if "run.started" in events else {}
    diagnostics = None
    if finished.get("diagnostics"):
        path = workspace.root / finished["diagnostics"]
        if path.is_file():
            diagnostics = json.loads(path.read_text(encoding="utf-8"))
    return RunDetails(
        run_id=run["run_id"], name=run["name"], state=run["state"], actor=run["actor"], spec=spec_of(run),
        task=run["task"], metric=run["metric"], data_source=run["data_source"], data_version=run["data_version"],
        fingerprint=run["fingerprint"], row_count=run["row_count"], started_at=run["started_at"],
        finished_at=run["finished_at"], best_model=run["best_model"], best_score=run["best_score"],
        artifact_path=run["artifact_path"], artifact_sha256=run["artifact_sha256"],
        leaderboard=list(finished.get("leaderboard") or []), holdout_scores=dict(finished.get("holdout_scores") or {}),
        automl=dict(finished.get("automl") or {}), libraries=dict(started.get("libraries") or {}),
        diagnostics=diagnostics, error=run.get("error"),
    )


class RunsApi:
    """The runs recorded in the audit log, and starting new ones."""

    def __init__(self, workspace: Workspace) -> None:
        self._ws = workspace

    def list(self, limit: int = 50, states: tuple[str, ...] | None = None) -> list[dict[str, Any]]:
        """Runs newest first, as `workbench runs list` shows them (dead workers are marked interrupted first)."""
        from workbench.audit import AuditLog
        from workbench.runs.engine import reap_orphans
        from workbench.runs.records import RunRecords

        with AuditLog(self._ws.audit_path, self._ws.root) as log:
            reap_orphans(self._ws, log)
            return RunRecords(log).list_runs(limit=limit, states=states)

    def get(self, run_id: str) -> RunDetails:
        """One run's results (leaderboard, holdout scores, diagnostics), checked against the chain."""
        return run_details(self._ws, run_id)

    def start(self, spec: str | Path | dict[str, Any] | RunSpec, *, detach: bool = False,
              progress: Callable[[str, dict[str, Any]], None] | None = None) -> BatchResult | str:
        """Run a spec (a TOML path, a dict in the spec format, or a RunSpec) as `workbench batch` does: in this
        process (returns the result) or, with `detach`, in a background worker (returns the run id at once)."""
        from workbench.runs.engine import run_foreground, start_detached

        run_spec = self._spec(spec)
        if detach:
            return start_detached(self._ws, run_spec)
        return run_foreground(self._ws, run_spec, progress=progress)

    def watch(self, run_id: str, timeout_s: float | None = None) -> dict[str, Any]:
        """Wait until the run ends (or `timeout_s` passes) and return its row."""
        from workbench.runs.engine import wait_for_run

        return wait_for_run(self._ws, run_id, timeout_s=timeout_s)

    def _spec(self, spec: str | Path | dict[str, Any] | RunSpec) -> RunSpec:
        from workbench.pipeline.spec import RunSpec, load_spec, parse_spec

        settings = self._ws.settings
        if isinstance(spec, RunSpec):
            return spec
        if isinstance(spec, dict):
            return parse_spec(spec, name_hint="notebook", default_holdout=settings.default_holdout,
                              default_backend=settings.default_backend)
        return load_spec(Path(spec), settings.default_holdout, settings.default_backend)
