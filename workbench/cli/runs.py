"""`workbench runs ...`: list, inspect, watch, cancel and reproduce runs."""

from __future__ import annotations

import json
from typing import Any

import click

from workbench.cli.context import CliState, pass_state
from workbench.cli.numbers import Number, seconds, whole
from workbench.cli.output import echo_json, echo_table
from workbench.errors import BadInputError, ExitCode, RunFailedError


@click.group()
def runs() -> None:
    """List, watch, cancel and reproduce runs recorded in the audit log."""


def _decode(run: dict[str, Any]) -> dict[str, Any]:
    from workbench.runs.progress import ProgressSnapshot, duration_s

    run["leaderboard"] = json.loads(run["leaderboard"]) if run.get("leaderboard") else None
    run["spec"] = json.loads(run["spec"]) if run.get("spec") else None
    snap = ProgressSnapshot.from_json(run.get("progress"))
    run["progress"] = snap.__dict__ if snap else None
    run["duration_s"] = duration_s(run)
    return run


@runs.command("list")
@click.option("--limit", default=50, show_default=True, type=whole(1))
@click.option("--state", "states", multiple=True, help="Only runs in this state (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_state
def list_runs(state: CliState, limit: int, states: tuple[str, ...], as_json: bool) -> None:
    """List runs, newest first (runs whose worker died are marked interrupted first)."""
    from workbench.audit import AuditLog
    from workbench.runs.engine import reap_orphans
    from workbench.runs.records import RunRecords

    ws = state.workspace()
    with AuditLog(ws.audit_path, ws.root) as log:
        reap_orphans(ws, log)
        rows = RunRecords(log).list_runs(limit=limit, states=states or None)
    rows = [_decode(r) for r in rows]
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo("No runs yet; start one with `workbench batch SPEC.toml`.")
        return
    echo_table(["run", "name", "state", "actor", "started (UTC)", "duration s", "rows", "metric", "best", "score"],
               [[r["run_id"], r["name"], r["state"], r["actor"], (r["started_at"] or "")[:19], r["duration_s"],
                 r["row_count"], r["metric"], r["best_model"], r["best_score"]] for r in rows])


@runs.command("show")
@click.argument("run_id")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_state
def show_run(state: CliState, run_id: str, as_json: bool) -> None:
    """Show one run (a unique prefix of its id is enough), its progress and its events."""
    from workbench.audit import AuditLog
    from workbench.runs.engine import reap_orphans
    from workbench.runs.records import RunRecords

    ws = state.workspace()
    with AuditLog(ws.audit_path, ws.root) as log:
        reap_orphans(ws, log)
        run = RunRecords(log).get_run(run_id)
        if run is None:
            raise BadInputError(f"No run {run_id!r} in the audit log (see `workbench runs list`).")
        events = log.events(run_id=run["run_id"], limit=1000)
    run = _decode(run)
    if as_json:
        echo_json({"run": run, "events": [e.as_dict() for e in reversed(events)]})
        return
    for key in ("run_id", "name", "state", "actor", "data_source", "data_version", "fingerprint", "row_count",
                "queued_at", "started_at", "finished_at", "duration_s", "metric", "best_model", "best_score",
                "artifact_path", "artifact_sha256", "error", "reproduces", "pid", "host"):
        if run.get(key) is not None:
            click.echo(f"{key:>16}: {run[key]}")
    if run["progress"] and run["state"] in ("queued", "running"):
        from workbench.runs.progress import ProgressSnapshot

        click.echo(f"{'progress':>16}: {ProgressSnapshot(**run['progress']).line()}")
    if run["leaderboard"]:
        cols = list(run["leaderboard"][0])
        echo_table(cols, [[r.get(c) for c in cols] for r in run["leaderboard"]])
    click.echo("events:")
    for e in reversed(events):
        click.echo(f"  {e.ts}  {e.kind:<20} {e.subject or '':<12} {e.outcome or ''}")


@runs.command("watch")
@click.argument("run_id")
@click.option("--timeout", type=seconds(), help="Give up after this many seconds.")
@pass_state
def watch_run(state: CliState, run_id: str, timeout: float | None) -> None:
    """Follow a run's progress until it ends; exits 0 if it succeeded, 1 if it failed, 130 if stopped."""
    from workbench.runs.engine import wait_for_run
    from workbench.runs.progress import ProgressSnapshot

    ws = state.workspace()

    def show(run: dict[str, Any]) -> None:
        snap = ProgressSnapshot.from_json(run.get("progress"))
        click.echo(f"{run['state']:<10} {snap.line() if snap else ''}", err=True)

    run = wait_for_run(ws, run_id, timeout_s=timeout, on_change=show)
    _exit_for(run)


def _exit_for(run: dict[str, Any]) -> None:
    if run["state"] == "succeeded":
        click.echo(f"Run {run['run_id']} succeeded: best {run['best_model']} {run['metric']} = {run['best_score']:.4f}")
    elif run["state"] == "failed":
        raise RunFailedError(f"Run {run['run_id']} failed: {run.get('error')}")
    elif run["state"] in ("cancelled", "interrupted"):
        click.echo(f"Run {run['run_id']} {run['state']}.", err=True)
        raise SystemExit(int(ExitCode.INTERRUPTED))
    else:
        click.echo(f"Run {run['run_id']} is still {run['state']}.", err=True)


@runs.command("cancel")
@click.argument("run_id")
@click.option("--grace", default=10.0, show_default=True, type=seconds(3600),
              help="Seconds to wait for the worker to stop before killing it.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_state
def cancel(state: CliState, run_id: str, grace: float, as_json: bool) -> None:
    """Cancel a queued or running run; its partial artifacts are deleted."""
    from workbench.runs.engine import cancel_run

    outcome = cancel_run(state.workspace(), run_id, grace_s=grace)
    if as_json:
        echo_json(outcome.__dict__)
    else:
        click.echo(outcome.message)


@runs.command("reproduce")
@click.argument("run_id")
@click.option("--tolerance", default=1e-9, show_default=True, type=Number(0, 1),
              help="Largest relative metric difference still counted as a match.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--quiet", "-q", is_flag=True, help="No progress lines on stderr.")
@pass_state
def reproduce(state: CliState, run_id: str, tolerance: float, as_json: bool, quiet: bool) -> None:
    """Re-run RUN from its record (same data version, spec and seed) and compare its metrics (exit 1 if they differ)."""
    from workbench.runs.reproduce import reproduce_run

    def progress(stage: str, info: dict[str, Any]) -> None:
        if not quiet:
            click.echo(f"[{stage}] " + ", ".join(f"{k}={v}" for k, v in info.items()), err=True)

    report = reproduce_run(state.workspace(), run_id, tolerance=tolerance, progress=progress)
    if as_json:
        echo_json(report.as_dict())
    else:
        words = {"exact": "metrics match exactly", "within": f"metrics match within {tolerance:g} (relative)",
                 "mismatch": "metrics DIFFER"}
        click.echo(f"Reproduced {report.original} as {report.reproduction}: {words[report.verdict]}"
                   f" (largest relative difference {report.max_rel_diff:.3g}).")
        click.echo("  replayed the original's recorded trial sequence and decisions" if report.replayed else
                   "  the original recorded no trial sequence (an older run): re-ran its spec")
        for d in report.differences:
            click.echo(f"  {d['model']} {d['metric']}: {d['then']} → {d['now']}")
        for c in report.changed_inputs:
            click.echo(f"  changed input: {c['input']}: {c['then']} → {c['now']}")
        if not report.changed_inputs:
            click.echo("  inputs: data fingerprint, spec, seed, library versions and git commit unchanged.")
    if not report.matches:
        raise SystemExit(int(ExitCode.RUN_FAILED))


@runs.command("compare")
@click.argument("run_ids", nargs=-1, required=True)
@click.option("--all", "show_all", is_flag=True, help="Every spec key, not only those that differ.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_state
def compare(state: CliState, run_ids: tuple[str, ...], show_all: bool, as_json: bool) -> None:
    """Two or more runs side by side: data, spec differences, holdout scores, leaderboards, timings."""
    from workbench.runs.compare import compare_runs

    result = compare_runs(state.workspace(), run_ids)
    if as_json:
        echo_json(result.as_dict())
        return
    header = ["", *result.run_ids]
    sections = [("run", result.summary), ("spec" if show_all else "spec (differences)",
                                         result.spec if show_all else result.spec_differences),
                ("holdout score", result.holdout), ("leaderboard (CV score by family)", result.leaderboard),
                ("seconds by stage", result.timings)]
    for title, rows in sections:
        click.echo(f"\n{title}")
        if not rows:
            click.echo("  (none)" if title.startswith("spec") else "  (none recorded)")
            continue
        echo_table(header, [[("* " if r.differs else "  ") + r.key, *r.values] for r in rows])
    click.echo("\n* differs between the runs")
