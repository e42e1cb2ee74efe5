"""The `workbench` command: a thin shell over the core; no business logic lives here.

Exit codes (workbench.errors.ExitCode): 0 ok, 1 run failed, 2 bad input or usage, 3 back-end
unavailable, 130 interrupted. Errors print one sentence on stderr; `--debug` adds the traceback.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import traceback
from pathlib import Path

import click

from workbench import __version__
from workbench.cli.context import CliState
from workbench.errors import ExitCode, WorkbenchError
from workbench.runs.cancel import RunCancelled


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--workspace", "-w", type=click.Path(path_type=Path, file_okay=False),
              help="Workspace folder (default: $WORKBENCH_HOME, the current folder, or the demo workspace).")
@click.option("--debug", is_flag=True, help="Show tracebacks on errors.")
@click.version_option(__version__, prog_name="workbench")
@click.pass_context
def cli(ctx: click.Context, workspace: Path | None, debug: bool) -> None:
    """Workbench: a local, keyboard-first data-science workbench.

    With no command, opens the TUI on the workspace.
    """
    ctx.obj = CliState(workspace_arg=workspace, debug=debug)
    if ctx.invoked_subcommand is None:
        from workbench.cli.tui_command import open_tui

        open_tui(ctx.obj)


def _register() -> None:
    from workbench.cli import (audit, batch, governance, keys, lake, models, models_share, pipelines, plugins, report,
                               runs, serve, workspace_commands)

    cli.add_command(workspace_commands.init)
    cli.add_command(workspace_commands.doctor)
    cli.add_command(lake.lake)
    cli.add_command(batch.batch)
    cli.add_command(runs.runs)
    cli.add_command(models.models)
    models.models.add_command(models_share.card)  # kept out of cli/models.py
    models.models.add_command(models_share.export)
    cli.add_command(governance.governance)
    cli.add_command(plugins.plugins)
    cli.add_command(audit.audit)
    cli.add_command(keys.keys)
    cli.add_command(keys.whoami)
    cli.add_command(report.report)
    cli.add_command(serve.serve)
    from workbench.cli.sources import sources

    cli.add_command(sources)
    cli.add_command(pipelines.pipelines)
    cli.add_command(pipelines.scheduler)


_register()


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args or os.environ.get("WORKBENCH_DEBUG") == "1"
    try:
        cli.main(args=args, prog_name="workbench", standalone_mode=False)
    except WorkbenchError as exc:
        if debug:
            traceback.print_exc()
        click.echo(f"Error: {exc.message}", err=True)
        sys.exit(int(exc.exit_code))
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(int(ExitCode.BAD_INPUT) if exc.exit_code == 2 else exc.exit_code)
    except (KeyboardInterrupt, click.exceptions.Abort, RunCancelled):
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # caught once: a second Ctrl-C cannot add a traceback
        click.echo("Cancelled." if isinstance(sys.exc_info()[1], RunCancelled) else "Interrupted.", err=True)
        sys.exit(int(ExitCode.INTERRUPTED))
    except Exception as exc:  # a bug, not bad input: still one sentence unless --debug
        if debug:
            traceback.print_exc()
        click.echo(f"Unexpected error ({type(exc).__name__}): {exc}. Re-run with --debug for details.", err=True)
        sys.exit(int(ExitCode.RUN_FAILED))
    sys.exit(int(ExitCode.OK))
