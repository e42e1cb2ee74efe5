"""`workbench serve NAME@ALIAS`: the HTTP scoring service (a thin shell over `workbench.serve`)."""

from __future__ import annotations

from typing import Any

import click

from workbench.cli.context import CliState, pass_state
from workbench.cli.numbers import seconds, whole


@click.command()
@click.argument("ref", metavar="NAME[@ALIAS|:VERSION]")
@click.option("--port", "-p", default=8000, show_default=True, type=whole(0, 65535),
              help="Port on 127.0.0.1 (0: any free port, printed at start).")
@click.option("--stats-every", "stats_every", default=60.0, show_default=True, type=seconds(),
              help="Seconds between serve.stats audit events (requests, latency, input drift); 0: only at stop.")
@click.option("--engine", type=click.Choice(["auto", "onnx", "scikit-learn"]), default="auto", show_default=True,
              help="auto: answer with the model's ONNX graph when it scored the frozen holdout as the pipeline does, "
                   "else with the pipeline; onnx: refuse a version without such a graph.")
@pass_state
def serve(state: CliState, ref: str, port: int, stats_every: float, engine: str) -> None:
    """Serve a registered model over HTTP on 127.0.0.1: POST /predict, GET /health, GET /openapi.json.

    NAME means NAME@champion. With an alias, the service follows it: when the alias moves, the next request
    is answered by the new version (the X-Workbench-Model header says which). Ctrl-C stops it."""
    from workbench.serve.app import HOST, serve as run_service

    def ready(model: Any, bound: int) -> None:
        click.echo(f"Serving {ref} ({model.label}, artifact sha256 {model.version['artifact_sha256'][:12]}, "
                   f"{_engine_text(model)}) on http://{HOST}:{bound} — POST /predict, GET /health, "
                   "GET /openapi.json; Ctrl-C stops.", err=True)

    run_service(state.workspace(), ref, port, on_ready=ready, stats_every_s=stats_every, engine=engine)


def _engine_text(model: Any) -> str:
    return "ONNX graph, checked on the holdout" if model.engine == "onnx" else "scikit-learn pipeline"
