"""`workbench batch SPEC`: run a pipeline headless (CI, schedules), in the foreground or detached."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from workbench.cli.context import CliState, pass_state
from workbench.cli.output import echo_json, echo_table


@click.command()
@click.argument("spec", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--detach", is_flag=True, help="Validate, start the run in a background worker and return its id at once.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON on stdout.")
@click.option("--quiet", "-q", is_flag=True, help="No progress lines on stderr.")
@pass_state
def batch(state: CliState, spec: Path, detach: bool, as_json: bool, quiet: bool) -> None:
    """Run the pipeline described by SPEC (TOML) and record it in the audit log.

    In the foreground (the default), Ctrl-C ends the run as `interrupted` (exit 130) and SIGTERM as
    `cancelled`. With --detach the run survives this shell; follow it with `workbench runs watch RUN`.
    """
    from workbench.pipeline.spec import load_spec
    from workbench.runs.engine import run_foreground, start_detached

    ws = state.workspace()

    def progress(stage: str, info: dict[str, Any]) -> None:
        if quiet:
            return
        detail = ", ".join(f"{k}={v}" for k, v in info.items())
        click.echo(f"[{stage}] {detail}", err=True)

    run_spec = load_spec(spec, ws.settings.default_holdout, ws.settings.default_backend)
    if detach:
        run_id = start_detached(ws, run_spec)
        if as_json:
            echo_json({"run_id": run_id, "state": "queued"})
        else:
            click.echo(f"Run {run_id} started in the background; follow it with `workbench runs watch {run_id}`.")
        return
    result = run_foreground(ws, run_spec, progress=progress)
    if as_json:
        echo_json(result.as_dict())
        return
    click.echo(f"Run {result.run_id}: {result.spec.name} ({result.task}, {result.row_count:,} rows from {result.data_source})")
    metric_cols = [k for k in result.leaderboard[0] if k not in ("model", "fit_time_s", "predict_ms_per_1k")]
    metric_cols.sort(key=lambda k: k != result.metric)
    echo_table(["rank", "model", *metric_cols, "fit s", "predict ms/1k"],
               [[i, r["model"], *[r[k] for k in metric_cols], r["fit_time_s"], r["predict_ms_per_1k"]]
                for i, r in enumerate(result.leaderboard, 1)])
    click.echo(f"Best: {result.best_model} ({result.metric} = {result.best_score:.4f}); model saved to "
               f"{result.artifact_path} (sha256 {result.artifact_sha256[:12]})")
