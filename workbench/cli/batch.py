"""`workbench batch SPEC`: run a pipeline headless (CI, schedules), in the foreground or detached."""

from __future__ import annotations

import signal
import sys
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import click

from workbench.cli.context import CliState, pass_state
from workbench.cli.output import echo_json, echo_table


class ProgressLine:
    """Progress on stderr: one line rewritten in place on a terminal, one line per event otherwise."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.tty = sys.stderr.isatty()
        self.width = 0

    def __call__(self, stage: str, info: dict[str, Any]) -> None:
        if self.quiet:
            return
        from workbench.pipeline.progress import format_event

        line = format_event(stage, info)
        if self.tty:
            pad = max(0, self.width - len(line))
            click.echo("\r" + line + " " * pad, err=True, nl=False)
            self.width = len(line)
        else:
            click.echo(line, err=True)

    def close(self) -> None:
        if self.tty and self.width and not self.quiet:
            click.echo("", err=True)


@click.command()
@click.argument("spec", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--detach", is_flag=True, help="Validate, start the run in a background worker and return its id at once.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON on stdout.")
@click.option("--quiet", "-q", is_flag=True, help="No progress lines on stderr.")
@click.option("--trials", "show_trials", is_flag=True, help="Also print every trial, not only each family's best.")
@click.option("--allow-uncertified", "allow_uncertified", metavar="REASON",
              help="Train even on table versions that failed or skipped their checks; REASON is audited.")
@click.option("--backend", metavar="NAME", help="Compute back-end for this run (overrides the spec's `backend`, "
              "and then its backend_options); see `workbench plugins list`.")
@click.option("--backend-option", "backend_options", metavar="KEY=VALUE", multiple=True,
              help="An option of the compute back-end (repeatable; `workbench plugins show compute NAME` lists them).")
@pass_state
def batch(state: CliState, spec: Path, detach: bool, as_json: bool, quiet: bool, show_trials: bool,
          allow_uncertified: str | None, backend: str | None, backend_options: tuple[str, ...]) -> None:
    """Run the pipeline described by SPEC (TOML) and record it in the audit log.

    In the foreground (the default), Ctrl-C ends the run as `interrupted` (exit 130) and SIGTERM as
    `cancelled`. With --detach the run survives this shell; follow it with `workbench runs watch RUN`.
    """
    from workbench.pipeline.spec import load_spec
    from workbench.runs.engine import run_foreground, start_detached

    ws = state.workspace()
    run_spec = with_backend(load_spec(spec, ws.settings.default_holdout, ws.settings.default_backend),
                            backend, backend_options)
    if allow_uncertified is not None:
        from workbench.runs.batch import allow_uncertified_data

        for table, version in allow_uncertified_data(ws, run_spec, allow_uncertified):
            click.echo(f"Training on uncertified {table} version {version} (allowed: {allow_uncertified}).", err=True)
    if detach:
        run_id = start_detached(ws, run_spec)
        if as_json:
            echo_json({"run_id": run_id, "state": "queued"})
        else:
            click.echo(f"Run {run_id} started in the background; follow it with `workbench runs watch {run_id}`.")
        return
    progress = ProgressLine(quiet)
    try:
        with _interrupt_once():
            result = run_foreground(ws, run_spec, progress=progress)
    finally:
        progress.close()
    if as_json:
        echo_json(result.as_dict())
        return
    auto = result.automl
    click.echo(f"Run {result.run_id}: {result.spec.name} ({result.task}, {result.row_count:,} rows from {result.data_source})")
    from workbench.pipeline.validation import validation_lines

    for line in validation_lines(auto.get("validation", {}), result.spec.holdout):
        click.echo(f"  {line}")
    for step in auto.get("feature_engineering", []):
        cols = step["columns"] if isinstance(step["columns"], str) else ", ".join(step["columns"])
        click.echo(f"  feature engineering: {step['step']} ({cols})")
    click.echo(f"  {auto.get('trial_count', 0)} trials, {result.spec.cv_folds}-fold CV on {auto.get('search_rows', 0):,} "
               f"training rows; stopped: {auto.get('stop_reason', '')}")
    _table(result.leaderboard, result.metric, "trials")
    if show_trials:
        click.echo("")
        _table(result.trials, result.metric, "trial")
    confirm = auto.get("best", {}).get("confirm")
    if confirm:
        by_trial = {str(r.get("trial")): r for r in result.trials}

        def label(n: str) -> str:  # as the progress lines name it
            row = by_trial.get(n, {})
            return f"{row.get('model', '?')} ({'defaults' if row.get('config') == 'defaults' else f'trial {n}'})"

        scored = ", ".join(f"{label(n)} {v:.4f}" for n, v in sorted(confirm["scores"].items(), key=lambda kv: int(kv[0])))
        click.echo(f"Confirmed on {confirm['train_rows']:,} training rows, scored on {confirm['validation_rows']:,} "
                   f"held aside ({result.metric}): {scored}; {label(str(confirm['winner_trial']))} wins")
    from workbench.pipeline.leaderboard import summary_lines

    for line in summary_lines(auto, result.leaderboard, result.metric):
        click.echo(line)
    holdout = ", ".join(f"{k}={v:.4f}" for k, v in result.holdout_scores.items())
    click.echo(f"Best: {result.best_model} (CV {result.metric} = {result.best_score:.4f}; holdout {holdout})")
    click.echo(f"Model saved to {result.artifact_path} (sha256 {result.artifact_sha256[:12]}); "
               f"diagnostics in {result.diagnostics_path}")


@contextmanager
def _interrupt_once() -> Iterator[None]:
    """The first Ctrl-C stops the run (KeyboardInterrupt: the run ends `interrupted`, exit 130); later ones
    are ignored, so that a second press cannot cut short the recording of that ending."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    fired = []

    def first(signum: int, frame: Any) -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # stays ignored until this process exits
        fired.append(signum)
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, first)
    try:
        yield
    finally:
        if not fired:
            signal.signal(signal.SIGINT, previous)


def with_backend(spec: Any, backend: str | None, options: tuple[str, ...]) -> Any:
    """The spec with the back-end and options given on the command line (`--backend-option KEY=VALUE`)."""
    from workbench.errors import BadInputError
    from workbench.runs.launch import spec_with_backend

    given: dict[str, str] = {}
    for item in options:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise BadInputError(f"--backend-option {item!r}: expected KEY=VALUE.")
        given[key.strip()] = value
    return spec_with_backend(spec, backend, given)


def _table(rows: list[dict[str, Any]], metric: str, extra: str) -> None:
    from workbench.pipeline.leaderboard import role

    metrics = [k for k in rows[0] if k.endswith("_std")] if rows else []
    names = sorted((m[: -len("_std")] for m in metrics), key=lambda m: m != metric)
    headers = ["rank", "model", *[f"{m} (±sd)" for m in names], "fit s", "ms/1k rows", "1-row p50/p95 ms",
               "size KB", "pareto", extra, "role"]
    body = []
    for i, r in enumerate(rows, 1):
        if metric not in r:
            body.append([i, r["model"], *["failed"] * len(names), None, None, "", None, "", r.get(extra), ""])
            continue
        p50, p95 = r.get("latency_p50_ms"), r.get("latency_p95_ms")
        body.append([i, r["model"], *[f"{r[m]:.4f} ±{r[m + '_std']:.4f}" for m in names], r["fit_time_s"],
                     r.get("predict_ms_per_1k"), f"{p50:.1f}/{p95:.1f}" if p50 is not None and p95 is not None else "",
                     r.get("model_size_kb"), "*" if r.get("pareto") else "", r.get(extra), role(r)])
    echo_table(headers, body)
