"""`workbench plugins ...`: which back-ends are installed, what options they take, whether they work.

Option flags are built from each plugin's declared `OPTIONS`, and only for the plugin named on the
command line: `workbench plugins check compute dask --address tcp://...` imports `dask` alone.
"""

from __future__ import annotations

from typing import Any

import click

from workbench.cli.context import CliState, pass_state
from workbench.cli.output import echo_json, echo_table

_CLICK_TYPES: dict[type, Any] = {str: click.STRING, int: click.INT, float: click.FLOAT, bool: click.BOOL}


def option_params(schema: Any) -> list[click.Option]:
    """One click flag per declared option (secrets excepted: they come from the environment only)."""
    params = []
    for opt in schema:
        if opt.secret:
            continue
        extra = f" [workbench.toml key: {opt.name}" + (f"; env: {opt.env}" if opt.env else "") + "]"
        default = f" (default: {opt.default})" if opt.default not in (None, "") else ""
        if opt.type is bool:
            decls = [f"{opt.flag}/--no-{opt.flag[2:]}", opt.name]
            params.append(click.Option(decls, default=None, help=opt.help + default + extra))
        else:
            choice = click.Choice([str(c) for c in opt.choices]) if opt.choices else _CLICK_TYPES[opt.type]
            params.append(click.Option([opt.flag, opt.name], type=choice, default=None, help=opt.help + default + extra))
    return params


@click.group()
def plugins() -> None:
    """Compute and storage back-ends: list, show their options, check that one works."""


@plugins.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--check", is_flag=True, help="Also check each back-end as `plugins check` does (with the workspace's "
                                            "settings; without a workspace, only that it imports).")
@click.pass_context
def list_command(ctx: click.Context, as_json: bool, check: bool) -> None:
    """List installed back-ends (without importing them unless --check)."""
    from workbench.backends.discovery import list_plugins
    from workbench.errors import WorkspaceError

    infos = None
    if check:
        from workbench.audit import AuditLog
        from workbench.backends.probe import check_all

        state = ctx.find_object(CliState)
        try:
            ws = state.workspace(create_demo=False) if state is not None else None
        except WorkspaceError:
            ws = None
        if ws is not None:
            with AuditLog(ws.audit_path, ws.root) as log:
                infos = check_all(ws, log=log)
    if infos is None:
        infos = list_plugins(check=check)
    if as_json:
        echo_json([i.as_dict() for i in infos])
        return
    words = {"available": "not loaded", "ok": "loads (not started)"}
    echo_table(["name", "kind", "package", "version", "status", "error"],
               [[i.name, i.kind, i.package, i.version, words.get(i.status, i.status), i.error or ""] for i in infos])


@plugins.command("show")
@click.argument("kind", type=click.Choice(["compute", "storage"]))
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def show_command(kind: str, name: str, as_json: bool) -> None:
    """Show the options back-end NAME declares: flag, workbench.toml key, type, default, environment."""
    from workbench.backends.discovery import GROUPS, backend_options

    schema = backend_options(GROUPS[kind], name)
    section = f"[{'backends' if kind == 'compute' else 'storage'}.{name}]"
    rows = [{"option": o.name, "flag": None if o.secret else o.flag, "toml": None if o.secret else f"{section} {o.name}",
             "type": o.type.__name__, "default": o.default, "env": o.env, "required": o.required,
             "secret": o.secret, "help": o.help} for o in schema]
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo(f"The {kind} back-end {name!r} takes no options.")
        return
    echo_table(["option", "flag", "type", "default", "env", "help"],
               [[r["option"], r["flag"] or "(env only)", r["type"], r["default"], r["env"], r["help"]] for r in rows])
    click.echo(f"In workbench.toml: {section}")


class _BackendCommands(click.Group):
    """Subcommands are the installed back-ends of one kind, built (and imported) only when invoked."""

    def __init__(self, kind: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.kind = kind

    def list_commands(self, ctx: click.Context) -> list[str]:
        from workbench.backends.discovery import GROUPS, list_plugins

        return sorted({p.name for p in list_plugins(GROUPS[self.kind])})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        from workbench.backends.discovery import GROUPS, backend_options

        if ctx.resilient_parsing:
            return None
        schema = backend_options(GROUPS[self.kind], name)  # unknown or broken: BackendUnavailableError, exit 3
        kind = self.kind

        @click.pass_context
        def run(ctx: click.Context, as_json: bool, **values: Any) -> None:
            _check(ctx.find_object(CliState), kind, name, values, as_json)

        cmd = click.Command(name, callback=run, params=[
            click.Option(["--json", "as_json"], is_flag=True, help="Machine-readable output."),
            *option_params(schema)], help=f"Start the {kind} back-end {name!r} and run a tiny job on it.")
        return cmd


def _check(state: CliState | None, kind: str, name: str, values: dict[str, Any], as_json: bool) -> None:
    from workbench.audit import AuditLog
    from workbench.backends.probe import probe_backend

    assert state is not None
    ws = state.workspace()
    with AuditLog(ws.audit_path, ws.root) as log:
        result = probe_backend(ws, kind, name, {k: v for k, v in values.items() if v is not None}, log=log)
    if as_json:
        echo_json(result.as_dict())
        return
    click.echo(f"{kind} back-end {name!r}: ok — {result.summary} in {result.seconds:.2f} s")
    for key, value in result.described.items():
        if key != "name":
            click.echo(f"  {key}: {value}")


@plugins.group("check")
def check_group() -> None:
    """Start a back-end with the workspace's settings (and flags) and run a tiny job on it."""


check_group.add_command(_BackendCommands("compute", name="compute", help="Check a compute back-end: check compute NAME [--option ...]."))
check_group.add_command(_BackendCommands("storage", name="storage", help="Check a storage back-end: check storage NAME [--option ...]."))
