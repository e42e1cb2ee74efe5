"""`workbench report RUN|MODEL -o FILE`: a report anyone can open (a thin shell over `workbench.report`)."""

from __future__ import annotations

from pathlib import Path

import click

from workbench.cli.context import CliState, pass_state


@click.command()
@click.argument("subject", metavar="RUN|NAME[@ALIAS|:VERSION]")
@click.option("-o", "--output", "output", required=True, type=click.Path(path_type=Path, dir_okay=False),
              help="FILE.html (one self-contained page) or FILE.md (plots as SVG files in FILE_plots/).")
@pass_state
def report(state: CliState, subject: str, output: Path) -> None:
    """Write a report on a run or a model version: spec, data, leaderboard, every diagnostic as a plot,
    lineage, and for a model its aliases and approvals with their evidence."""
    from workbench.report import write_report

    result = write_report(state.workspace(), subject, output)
    extra = f" and {len(result.plot_files)} plot files in {result.plot_files[0].parent}" if result.plot_files else ""
    click.echo(f"Wrote {result.title} to {result.path} ({result.plots} plots{extra}).")
