"""`workbench batch SPEC`: run a pipeline headless (CI, schedules)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from workbench.cli.context import CliState, pass_state
from workbench.cli.output import echo_json, echo_table


@click.command()
@click.argument("spec", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON on stdout.")
@click.option("--quiet", "-q", is_flag=True, help="No progress lines on stderr.")
@pass_state
def batch(state: CliState, spec: Path, as_json: bool, quiet: bool) -> None:
    """Run the pipeline described by SPEC (TOML) and record it in the audit log."""
    from workbench.runs.batch import run_batch

    ws = state.workspace()

    def progress(stage: str, info: dict[str, Any]) -> None:
        if quiet:
            return
        detail = ", ".join(f"{k}={v}" for k, v in info.items())
        click.echo(f"[{stage}] {detail}", err=True)

    result = run_batch(ws, spec, progress=progress)
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
