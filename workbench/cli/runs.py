"""`workbench runs ...`: what ran, from the audit log."""

from __future__ import annotations

import json

import click

from workbench.cli.context import CliState, pass_state
from workbench.cli.output import echo_json, echo_table
from workbench.errors import BadInputError


@click.group()
def runs() -> None:
    """List and inspect runs recorded in the audit log."""


@runs.command("list")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_state
def list_runs(state: CliState, limit: int, as_json: bool) -> None:
    """List runs, newest first."""
    from workbench.audit import AuditLog

    ws = state.workspace()
    with AuditLog(ws.audit_path, ws.root) as log:
        rows = log.list_runs(limit=limit)
    if as_json:
        for r in rows:
            r["leaderboard"] = json.loads(r["leaderboard"]) if r.get("leaderboard") else None
            r["spec"] = json.loads(r["spec"]) if r.get("spec") else None
        echo_json(rows)
        return
    if not rows:
        click.echo("No runs yet; start one with `workbench batch SPEC.toml`.")
        return
    echo_table(["run", "name", "state", "actor", "started (UTC)", "rows", "metric", "best", "score"],
               [[r["run_id"], r["name"], r["state"], r["actor"], (r["started_at"] or "")[:19], r["row_count"],
                 r["metric"], r["best_model"], r["best_score"]] for r in rows])


@runs.command("show")
@click.argument("run_id")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_state
def show_run(state: CliState, run_id: str, as_json: bool) -> None:
    """Show one run (a unique prefix of its id is enough) and its events."""
    from workbench.audit import AuditLog

    ws = state.workspace()
    with AuditLog(ws.audit_path, ws.root) as log:
        run = log.get_run(run_id)
        if run is None:
            raise BadInputError(f"No run {run_id!r} in the audit log (see `workbench runs list`).")
        events = log.events(run_id=run["run_id"], limit=1000)
    run["leaderboard"] = json.loads(run["leaderboard"]) if run.get("leaderboard") else None
    run["spec"] = json.loads(run["spec"]) if run.get("spec") else None
    if as_json:
        echo_json({"run": run, "events": [e.as_dict() for e in reversed(events)]})
        return
    for key in ("run_id", "name", "state", "actor", "data_source", "data_version", "fingerprint", "row_count",
                "started_at", "finished_at", "metric", "best_model", "best_score", "artifact_path", "artifact_sha256", "error"):
        if run.get(key) is not None:
            click.echo(f"{key:>16}: {run[key]}")
    if run["leaderboard"]:
        cols = list(run["leaderboard"][0])
        echo_table(cols, [[r.get(c) for c in cols] for r in run["leaderboard"]])
    click.echo("events:")
    for e in reversed(events):
        click.echo(f"  {e.ts}  {e.kind:<14} {e.outcome or ''}")
