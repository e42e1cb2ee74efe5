"""`workbench pipelines list|run|history` and `workbench scheduler`: thin shells over `workbench.pipelines`
and `workbench.scheduler`."""

from __future__ import annotations

import signal
from datetime import datetime, timezone

import click

from workbench.cli.context import CliState, pass_state
from workbench.cli.output import echo_json, echo_table
from workbench.errors import RunFailedError


@click.group()
def pipelines() -> None:
    """Continuous pipelines: files in the workspace's pipelines/ folder (steps and a trigger)."""


@pipelines.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_state
def list_pipelines(state: CliState, as_json: bool) -> None:
    """Every pipeline (each file checked), its trigger, next cron slot and last run."""
    from workbench.scheduler.service import schedule_overview

    rows = schedule_overview(state.workspace(), datetime.now(timezone.utc))
    if as_json:
        echo_json(rows)
    elif not rows:
        click.echo("No pipelines yet (add pipelines/NAME.toml to the workspace).")
    else:
        echo_table(["pipeline", "trigger", "steps", "next run", "last run", "outcome"],
                   [[r["name"], r["trigger"], r["steps"], (r["next_run"] or "")[:16], (r["last_run"] or "")[:19],
                     r["last_outcome"] or ""] for r in rows])


@pipelines.command("run")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_state
def run(state: CliState, name: str, as_json: bool) -> None:
    """Run pipeline NAME now, in the foreground; exits 1 if a step fails (it is recorded and alerted)."""
    from workbench.pipelines.run import run_pipeline
    from workbench.pipelines.spec import load_pipeline

    ws = state.workspace()
    outcome = run_pipeline(ws, load_pipeline(ws, name), {"kind": "manual"})
    if as_json:
        echo_json(outcome.as_dict())
    else:
        for s in outcome.steps:
            click.echo(f"step {s['index']} {s['kind']}: {s['outcome']}" + (f" — {s['error']}" if s.get("error") else ""))
    if not outcome.ok:
        raise RunFailedError(f"Pipeline {name} failed at step {outcome.failed_step}: {outcome.error}")
    if not as_json:
        click.echo(f"Pipeline {name} succeeded (run {outcome.run}).")


@pipelines.command("history")
@click.argument("name", required=False)
@click.option("--limit", type=click.IntRange(1, 10_000), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_state
def history(state: CliState, name: str | None, limit: int, as_json: bool) -> None:
    """Past runs (of NAME, or of every pipeline), newest first, with their steps."""
    from workbench.pipelines.history import pipeline_runs
    from workbench.pipelines.spec import check_pipeline_name

    runs = pipeline_runs(state.workspace(), check_pipeline_name(name) if name else None, limit, with_steps=True)
    if as_json:
        echo_json([r.as_dict() for r in runs])
    elif not runs:
        click.echo("No pipeline runs yet.")
    else:
        echo_table(["run", "pipeline", "started", "trigger", "outcome", "error"],
                   [[r.run, r.pipeline, r.started_at[:19], r.trigger.get("kind", ""), r.outcome, r.error or ""]
                    for r in runs])


@click.command()
@click.option("--poll", "poll_s", type=click.FloatRange(0.1, 3600), default=30.0, show_default=True,
              help="Seconds between checks of event triggers (cron slots are slept to exactly).")
@click.option("--once", is_flag=True, help="Run what is due now, then stop (for cron-driven hosts and tests).")
@pass_state
def scheduler(state: CliState, poll_s: float, once: bool) -> None:
    """Run pipelines when their triggers fire (foreground; one per workspace; Ctrl-C stops it)."""
    from workbench.scheduler.clock import SystemClock
    from workbench.scheduler.service import serve

    ws = state.workspace()

    def report(line: str) -> None:
        click.echo(f"{datetime.now(timezone.utc).isoformat(timespec='seconds')} {line}", err=True)

    def stop(signum: int, frame: object) -> None:  # SIGTERM ends it as Ctrl-C does: runs settled, stop recorded
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    serve(ws, SystemClock(), poll_s=poll_s, report=report, once=once)
