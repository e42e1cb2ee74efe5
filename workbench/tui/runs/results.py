"""What a finished run left behind, ready to show: its leaderboard as table rows, and its stored diagnostics
and holdout scores (read from `artifacts/<run>/`, in a worker; a missing or unreadable file is a note, not
an error)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from workbench.workspace import Workspace

# Why a run that did not succeed has no diagnostics; they are written only when a run succeeds.
_NO_DIAGNOSTICS = {
    "queued": "Diagnostics appear when the run finishes.",
    "running": "Diagnostics appear when the run finishes.",
    "failed": "No diagnostics: the run failed.",
    "cancelled": "No diagnostics: the run was cancelled.",
    "interrupted": "No diagnostics: the run was interrupted.",
}

# Short headers: the table must fit a 120-column terminal. ms/1k = batch prediction time per 1,000 rows;
# p50/p95 = one-row prediction latency; holdout = the final model's score on the frozen holdout.
LEADERBOARD_COLUMNS = ("#", "model", "CV {metric} ± sd", "holdout", "fit s", "ms/1k", "p50/p95 ms", "KB", "pareto",
                       "trials")


@dataclass(frozen=True)
class RunResults:
    """A run's stored diagnostics (None when there are none, with `note` saying why) and holdout scores."""

    diagnostics: dict[str, Any] | None
    note: str = ""
    holdout_scores: dict[str, float] = field(default_factory=dict)
    choice: list[str] = field(default_factory=list)  # why the saved model is the one saved, the rows it saw


def no_diagnostics_note(state: str) -> str | None:
    """The line to show instead of charts for a run in `state`, or None if it may have diagnostics."""
    if state == "succeeded":
        return None
    return _NO_DIAGNOSTICS.get(state, f"No diagnostics: the run is {state}.")


def load_run_results(ws: Workspace, run: dict[str, Any]) -> RunResults:
    """Read `diagnostics.json` and the holdout scores of `model.json` for `run` (blocking file I/O)."""
    from workbench.tui.widgets.diagnostics import charts_for, load_diagnostics

    note = no_diagnostics_note(run["state"])
    if note is not None:
        return RunResults(None, note)
    run_dir = ws.artifacts_dir / run["run_id"]
    holdout: dict[str, float] = {}
    choice: list[str] = []
    try:
        manifest = json.loads((run_dir / "model.json").read_text(encoding="utf-8"))
        scores = manifest.get("holdout_scores") if isinstance(manifest, dict) else None
        if isinstance(scores, dict):
            holdout = {k: v for k, v in scores.items() if isinstance(v, (int, float))}
        choice = choice_lines(manifest) if isinstance(manifest, dict) else []
    except (OSError, ValueError):
        pass  # the holdout column stays empty; the leaderboard itself comes from the log
    path = run_dir / "diagnostics.json"
    if not path.exists():
        return RunResults(None, "No diagnostics stored for this run (it predates them, or its artifacts were removed).",
                          holdout, choice)
    try:
        diagnostics = load_diagnostics(path)
        if not isinstance(diagnostics, dict):
            raise ValueError(f"expected a JSON object, found {type(diagnostics).__name__}")
        charts_for(diagnostics)  # reads the keys every chart needs: malformed data is caught here
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        return RunResults(None, f"Diagnostics could not be read from {path.name}: {exc}", holdout, choice)
    return RunResults(diagnostics, "", holdout, choice)


def choice_lines(manifest: dict[str, Any]) -> list[str]:
    """From a run's `model.json`: which rows the saved model saw and why it is the one saved (empty for runs
    recorded before the manifest said so)."""
    training, cv = manifest.get("training"), manifest.get("cv")
    lines = []
    if isinstance(training, dict) and isinstance(training.get("final_rows"), int):
        line = f"saved model fitted on {training['final_rows']:,} rows ({training.get('final_rows_scope')})"
        if training.get("holdout_model"):
            line += f"; holdout scored by its twin fitted on {training.get('holdout_model_rows'):,} training rows"
        lines.append(line)
    if isinstance(cv, dict) and isinstance(cv.get("why"), str):
        lines.append(f"why: {cv['why']}")
    return lines


def _num(value: Any, fmt: str) -> str:
    return format(value, fmt) if isinstance(value, (int, float)) and not isinstance(value, bool) else ""


def leaderboard_rows(board: list[dict[str, Any]], metric: str, best_model: str | None,
                     holdout_scores: dict[str, float]) -> list[tuple[str, ...]]:
    """One row per model family, in leaderboard order (the columns of `LEADERBOARD_COLUMNS`). A family whose
    every trial failed has no score; the holdout score exists for the saved model (flagged `chosen`; older
    runs: the best model's family) and for runner-ups a confirm round scored (`holdout_<metric>`)."""
    flagged = any("chosen" in entry for entry in board)
    rows = []
    for rank, entry in enumerate(board, 1):
        model = str(entry.get("model", "?"))
        if isinstance(entry.get(metric), (int, float)):
            score = f"{entry[metric]:.4f}" + (f" ± {entry[metric + '_std']:.4f}"
                                              if isinstance(entry.get(metric + "_std"), (int, float)) else "")
        else:
            score = "failed"
        saved = entry.get("chosen") if flagged else model == best_model
        own = entry.get(f"holdout_{metric}")
        holdout = _num(holdout_scores.get(metric) if saved and holdout_scores else own, ".4f")

        p50, p95 = entry.get("latency_p50_ms"), entry.get("latency_p95_ms")
        latency = f"{p50:.1f}/{p95:.1f}" if isinstance(p50, (int, float)) and isinstance(p95, (int, float)) else ""
        # ◆ marks the saved model (it need not be the CV leader: the run's summary says why).
        rows.append((f"{rank} ◆" if saved and flagged else str(rank), model, score, holdout, _num(entry.get("fit_time_s"), ".2f"),
                     _num(entry.get("predict_ms_per_1k"), ".1f"), latency, _num(entry.get("model_size_kb"), ",.1f"),
                     "★" if entry.get("pareto") else "",
                     str(entry["trials"]) if isinstance(entry.get("trials"), int) else ""))
    return rows


def leaderboard_columns(metric: str) -> list[str]:
    return [c.format(metric=metric) for c in LEADERBOARD_COLUMNS]
