"""`workbench models ...`: the model registry — register, inspect, alias, promote, approve, evaluate, predict."""

from __future__ import annotations

from typing import Any

import click

from workbench.cli.context import CliState, pass_state
from workbench.cli.numbers import whole
from workbench.cli.output import echo_json, echo_table


@click.group()
def models() -> None:
    """Registered models: versions with lineage, aliases, promotions and batch scoring."""


def _short(value: Any, n: int = 19) -> str:
    return str(value or "")[:n]


@models.command("register")
@click.argument("run_id", metavar="RUN")
@click.option("--name", help="Model name (default: the run's name).")
@click.option("--description", default="", help="What this version is for.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_state
def register(state: CliState, run_id: str, name: str | None, description: str, as_json: bool) -> None:
    """Register a succeeded RUN (an id or unique prefix) as the next version of a model."""
    from workbench.registry.register import register_run

    v = register_run(state.workspace(), run_id, name=name, description=description)
    if as_json:
        echo_json(v)
        return
    click.echo(f"Registered {v['model']}:{v['version']} from run {v['run_id']} ({v['estimator']}, "
               f"{v['metric']} = {v['score']:.4f}; artifact sha256 {v['artifact_sha256'][:12]})")


@models.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_state
def list_models(state: CliState, as_json: bool) -> None:
    """List registered models with their latest version and aliases."""
    from workbench.registry.store import RegistryStore

    with RegistryStore.open(state.workspace()) as store:
        rows = []
        for name in store.model_names():
            versions = store.versions(name)
            aliases = {a: e["version"] for a, e in store.aliases(name).items()}
            rows.append({"model": name, "versions": len(versions), "latest": versions[-1]["version"],
                         "task": versions[-1]["task"], "metric": versions[-1]["metric"], "aliases": aliases,
                         "open_requests": len(store.requests(model=name, state="open"))})
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo("No registered models yet; register a run with `workbench models register RUN`.")
        return
    echo_table(["model", "versions", "latest", "task", "metric", "aliases", "open requests"],
               [[r["model"], r["versions"], r["latest"], r["task"], r["metric"],
                 ", ".join(f"{a}=v{v}" for a, v in r["aliases"].items()), r["open_requests"]] for r in rows])


_LINEAGE_ROWS = ("model", "version", "registered_at", "registered_by", "run_id", "run_actor", "trained_at", "task",
                 "target", "estimator", "metric", "score", "spec_sha256", "data_source", "data_version", "fingerprint",
                 "row_count", "artifact_path", "artifact_sha256", "holdout_path", "holdout_sha256", "holdout_rows")


@models.command("show")
@click.argument("ref", metavar="NAME[@ALIAS|:VERSION]")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_state
def show(state: CliState, ref: str, as_json: bool) -> None:
    """Show a model (versions, aliases, requests) or one version's full lineage."""
    from workbench.registry.refs import parse_ref, resolve_ref
    from workbench.registry.store import RegistryStore

    parsed = parse_ref(ref)
    with RegistryStore.open(state.workspace()) as store:
        if parsed.version is not None or parsed.alias is not None:
            v = resolve_ref(store, parsed)
            v["aliases"] = sorted(a for a, e in store.aliases(v["model"]).items() if e["version"] == v["version"])
            if as_json:
                echo_json(v)
                return
            for key in _LINEAGE_ROWS:
                click.echo(f"{key:>16}: {v[key]}")
            code = v["code"] or {}
            click.echo(f"{'code':>16}: workbench {code.get('workbench_version')}, git {code.get('git_commit') or 'n/a'}, "
                       + ", ".join(f"{k} {val}" for k, val in sorted((code.get("libraries") or {}).items()) if k != "workbench"))
            click.echo(f"{'metrics':>16}: " + ", ".join(f"{k}={val:.4g}" for k, val in sorted(v["metrics"].items())))
            click.echo(f"{'features':>16}: " + ", ".join(f"{n} ({t})" for n, t, _ in v["features"]))
            click.echo(f"{'aliases':>16}: {', '.join(v['aliases']) or 'none'}")
            return
        resolve_ref(store, parsed)  # a clear error for an unknown model
        versions = store.versions(parsed.model)
        aliases = store.aliases(parsed.model)
        history = store.alias_history(parsed.model)
        requests = store.requests(model=parsed.model)
    if as_json:
        echo_json({"model": parsed.model, "versions": versions, "aliases": aliases, "alias_history": history,
                   "requests": requests})
        return
    by_version: dict[int, list[str]] = {}
    for a, e in aliases.items():
        by_version.setdefault(e["version"], []).append(a)
    echo_table(["version", "registered (UTC)", "by", "run", "estimator", "metric", "score", "data", "aliases"],
               [[v["version"], _short(v["registered_at"]), v["registered_by"], v["run_id"], v["estimator"], v["metric"],
                 v["score"], v["data_source"], ", ".join(sorted(by_version.get(v["version"], [])))] for v in versions])
    if history:
        click.echo("\nalias history:")
        _echo_alias_events(history[-10:])
    open_requests = [r for r in requests if r["state"] == "open"]
    if open_requests:
        click.echo(f"\nopen promotion requests: {', '.join(str(r['id']) for r in open_requests)} "
                   "(see `workbench models request ID`)")


def _echo_alias_events(events: list[dict[str, Any]]) -> None:
    echo_table(["when (UTC)", "alias", "version", "was", "by", "approved by", "reason"],
               [[_short(e["set_at"]), e["alias"], "removed" if e["version"] is None else e["version"],
                 e["previous_version"], e["set_by"], ", ".join(e["approved_by"] or []), e["reason"]] for e in events])


@models.command("aliases")
@click.argument("name")
@click.option("--alias", "alias", help="Only this alias.")
@click.option("--at", "at", help="Who held each alias at this date or time (UTC; a date means the end of that day).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_state
def aliases(state: CliState, name: str, alias: str | None, at: str | None, as_json: bool) -> None:
    """Alias history of model NAME: who set which alias, when and why (or who held them --at a time)."""
    from workbench.errors import BadInputError
    from workbench.registry.refs import at_timestamp, check_model_name
    from workbench.registry.store import RegistryStore

    check_model_name(name)
    with RegistryStore.open(state.workspace()) as store:
        if not store.versions(name):
            raise BadInputError(f"No registered model {name!r}.")
        if at is not None:
            when = at_timestamp(at)
            held = store.aliases(name, at=when)
            events = [e for a, e in held.items() if alias is None or a == alias]
        else:
            events = store.alias_history(name, alias)
    if as_json:
        echo_json(events)
        return
    if not events:
        click.echo("No alias was set" + (f" at {at}." if at else "."))
        return
    _echo_alias_events(events)


@models.command("alias")
@click.argument("ref", metavar="NAME:VERSION")
@click.argument("alias")
@click.option("--reason", help="Why (recorded with the alias history).")
@click.option("--remove", is_flag=True, help="Remove ALIAS from model NAME instead.")
@pass_state
def alias(state: CliState, ref: str, alias: str, reason: str | None, remove: bool) -> None:
    """Point an unprotected ALIAS (e.g. challenger) at NAME:VERSION; protected ones need `promote`."""
    from workbench.errors import BadInputError
    from workbench.registry.promotion import set_alias
    from workbench.registry.refs import ModelRef, parse_ref

    parsed = parse_ref(ref)
    if remove:
        parsed = ModelRef(parsed.model)
    elif parsed.version is None and parsed.alias is None:
        raise BadInputError("Name the version to alias as NAME:VERSION (or pass --remove).")
    event = set_alias(state.workspace(), parsed, alias, reason)
    where = "removed" if event["version"] is None else f"now on v{event['version']}"
    click.echo(f"{parsed.model}@{alias} {where} (was v{event['previous_version']})" if event["previous_version"]
               else f"{parsed.model}@{alias} {where}")


@models.command("promote")
@click.argument("ref", metavar="NAME:VERSION")
@click.option("--to", "alias", default="champion", show_default=True, help="Alias to move to this version.")
@click.option("--reason", help="Why this version should hold the alias.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_state
def promote(state: CliState, ref: str, alias: str, reason: str | None, as_json: bool) -> None:
    """Open a promotion request with evidence; someone else approves it."""
    from workbench.registry.evidence import evidence_lines
    from workbench.registry.promotion import request_promotion
    from workbench.registry.refs import parse_ref

    request = request_promotion(state.workspace(), parse_ref(ref), alias, reason)
    if as_json:
        echo_json(request)
        return
    click.echo(f"Opened promotion request {request['id']}: {request['model']}:{request['version']} → {alias}")
    for line in evidence_lines(request["evidence"]):
        click.echo(line)
    click.echo(f"Another approver decides with `workbench models approve {request['id']}` or "
               f"`workbench models reject {request['id']} --reason ...`.")


@models.command("requests")
@click.argument("name", required=False)
@click.option("--all", "show_all", is_flag=True, help="Include decided requests.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_state
def requests(state: CliState, name: str | None, show_all: bool, as_json: bool) -> None:
    """List promotion requests (open ones unless --all)."""
    from workbench.registry.store import RegistryStore

    with RegistryStore.open(state.workspace()) as store:
        rows = store.requests(model=name, state=None if show_all else "open")
        for r in rows:
            r["decisions"] = store.decisions(r["id"])
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo("No open promotion requests." if not show_all else "No promotion requests.")
        return
    echo_table(["id", "model", "version", "to", "state", "requested by", "requested (UTC)", "verdict", "reason"],
               [[r["id"], r["model"], r["version"], r["alias"], r["state"], r["requested_by"], _short(r["requested_at"]),
                 r["evidence"]["verdict"], r["reason"]] for r in rows])


@models.command("request")
@click.argument("request_id", type=whole(1), metavar="ID")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_state
def request(state: CliState, request_id: int, as_json: bool) -> None:
    """Show one promotion request: its evidence and decisions."""
    from workbench.errors import BadInputError
    from workbench.registry.evidence import evidence_lines
    from workbench.registry.store import RegistryStore

    with RegistryStore.open(state.workspace()) as store:
        r = store.get_request(request_id)
        if r is None:
            raise BadInputError(f"No promotion request {request_id}.")
        r["decisions"] = store.decisions(request_id)
    if as_json:
        echo_json(r)
        return
    click.echo(f"Request {r['id']}: {r['model']}:{r['version']} → {r['alias']} [{r['state']}]")
    click.echo(f"requested by {r['requested_by']} at {_short(r['requested_at'])}: {r['reason']}")
    for line in evidence_lines(r["evidence"]):
        click.echo(line)
    for d in r["decisions"]:
        click.echo(f"{d['decision']}d by {d['actor']} at {_short(d['decided_at'])}" + (f": {d['reason']}" if d["reason"] else ""))


def _decided(request: dict[str, Any]) -> str:
    if request["state"] == "approved":
        return f"Request {request['id']} approved: {request['model']}@{request['alias']} is now v{request['version']}."
    if request["state"] == "rejected":
        return f"Request {request['id']} rejected; no alias moved."
    return f"Request {request['id']} is {request['state']}."


@models.command("approve")
@click.argument("request_id", type=whole(1), metavar="ID")
@click.option("--reason", help="Optional note recorded with the approval.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_state
def approve(state: CliState, request_id: int, reason: str | None, as_json: bool) -> None:
    """Approve promotion request ID (not as its requester); enough approvals move the alias."""
    from workbench.registry.promotion import approve_request

    result = approve_request(state.workspace(), request_id, reason)
    if as_json:
        echo_json(result)
    elif result["state"] == "open":
        click.echo(f"Approval recorded; request {request_id} needs more approvals before it takes effect.")
    else:
        click.echo(_decided(result))


@models.command("reject")
@click.argument("request_id", type=whole(1), metavar="ID")
@click.option("--reason", required=True, help="Why (required).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_state
def reject(state: CliState, request_id: int, reason: str, as_json: bool) -> None:
    """Reject promotion request ID: it closes and no alias moves."""
    from workbench.registry.promotion import reject_request

    result = reject_request(state.workspace(), request_id, reason)
    if as_json:
        echo_json(result)
    else:
        click.echo(_decided(result))


@models.command("withdraw")
@click.argument("request_id", type=whole(1), metavar="ID")
@click.option("--reason", help="Optional note.")
@pass_state
def withdraw(state: CliState, request_id: int, reason: str | None) -> None:
    """Withdraw your own open promotion request ID."""
    from workbench.registry.promotion import withdraw_request

    click.echo(_decided(withdraw_request(state.workspace(), request_id, reason)))


@models.command("evaluate")
@click.argument("name")
@click.option("--challengers", is_flag=True, help="Also score every version holding a challenger alias.")
@click.option("--table", help="Score on the latest version of this table (default: the champion's training table).")
@click.option("--query", help="Score on the rows of this read-only SQL query.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_state
def evaluate(state: CliState, name: str, challengers: bool, table: str | None, query: str | None, as_json: bool) -> None:
    """Re-score the champion (and its challengers) on fresh data and record the comparison."""
    from workbench.registry.evaluate import evaluate_model

    result = evaluate_model(state.workspace(), name, challengers=challengers, table=table, query=query)
    if as_json:
        echo_json(result)
        return
    click.echo(f"Evaluated {name} on {result['data_source']} ({result['row_count']:,} rows), metric {result['metric']}:")
    echo_table(["version", "aliases", result["metric"]],
               [[r["version"], ", ".join(r["aliases"]), r["score"]] for r in result["results"]])
    if result["champion_beaten"]:
        click.echo(f"v{result['best_version']} beats the champion; promote it with "
                   f"`workbench models promote {name}:{result['best_version']} --to champion --reason ...`.")
    else:
        click.echo(f"Best: v{result['best_version']}.")


@models.command("predict")
@click.argument("ref", metavar="NAME[@ALIAS|:VERSION]")
@click.option("--table", help="Score the latest version of this lake table.")
@click.option("--query", help="Score the rows of this read-only SQL query.")
@click.option("--into", "into", required=True, help="Lake table to write the predictions into (a new version).")
@click.option("--replace", is_flag=True, help="Write a new version of an existing --into table.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_state
def predict(state: CliState, ref: str, table: str | None, query: str | None, into: str, replace: bool,
            as_json: bool) -> None:
    """Score lake rows with a registered model (NAME means NAME@champion) into a new lake table version."""
    from workbench.registry.predict import predict as run_predict
    from workbench.registry.refs import parse_ref

    result = run_predict(state.workspace(), parse_ref(ref), into=into, table=table, query=query, replace=replace)
    if as_json:
        echo_json(result.as_dict())
    else:
        click.echo(f"Scored {result.rows:,} rows of {result.source} with {result.model}:{result.version} into "
                   f"{result.into} (version {result.table_version}).")
        echo_table(["feature", "PSI", "missing (train)", "missing (scored)", "drift"],
                   [[d.feature, d.psi, f"{d.reference_missing:.1%}", f"{d.scored_missing:.1%}", "; ".join(d.reasons)]
                    for d in result.drift])
    for d in result.drifted:
        click.echo(f"Warning: drift in {d.feature}: {'; '.join(d.reasons)}.", err=True)
