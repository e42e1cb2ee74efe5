"""`workbench audit ...`: verify, checkpoint, search, tail, export and archive the audit log."""

from __future__ import annotations

import time
from pathlib import Path

import click

from workbench.cli.context import CliState, pass_state
from workbench.cli.output import echo_json
from workbench.cli.numbers import whole
from workbench.errors import BadInputError, ExitCode


@click.group()
def audit() -> None:
    """The tamper-evident audit log: verify it, search it, export and archive it."""


def _open(state: CliState):
    from workbench.audit import AuditLog

    ws = state.workspace()
    return ws, AuditLog(ws.audit_path, ws.root)


@audit.command()
@click.option("--checkpoint", "checkpoint_file", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="Also prove the log still extends this checkpoint (from `workbench audit checkpoint`).")
@click.option("--chain-only", is_flag=True, help="Only re-walk the hash chain (archives included).")
@click.option("--no-artifacts", is_flag=True, help="Skip hashing every recorded artifact's bytes.")
@click.option("--thorough", is_flag=True, help="Also compare the search index with every event (FTS5 integrity-check).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output: every finding.")
@pass_state
def verify(state: CliState, checkpoint_file: Path | None, chain_only: bool, no_artifacts: bool, thorough: bool,
           as_json: bool) -> None:
    """Verify the workspace against its hash chain: the chain and archives, the log's identity, the search
    index, runs, registry, lake snapshots and artifact bytes. Exit 1 on any finding."""
    from workbench.audit.checkpoint import check_checkpoint, parse_checkpoint
    from workbench.integrity.workspace import verify_workspace

    ws = state.workspace()
    if chain_only:
        _verify_chain_only(ws, checkpoint_file, as_json)
        return
    result = verify_workspace(ws, artifacts=not no_artifacts, thorough=thorough,
                              progress=None if as_json else (lambda what: click.echo(f"checking {what}…", err=True)))
    check = None
    if checkpoint_file is not None and result.chain is not None:
        from workbench.audit import AuditLog

        with AuditLog(ws.audit_path, ws.root) as log:
            check = check_checkpoint(log, parse_checkpoint(checkpoint_file.read_text(encoding="utf-8")))
    ok = result.ok and (check is None or check.ok)
    if as_json:
        chain = result.chain.as_dict() if result.chain is not None else {}
        # The chain's keys stay at the top level, as before workspace verify existed, for scripts that read them.
        echo_json({**chain, **result.as_dict(), "ok": ok, "checkpoint": None if check is None else check.__dict__})
    else:
        if result.chain is not None:
            click.echo(("OK: " if result.chain.ok else "BROKEN: ") + result.chain.summary)
        for finding in result.first_per_kind():
            more = sum(1 for f in result.findings if f.kind == finding.kind) - 1
            click.echo(f"FINDING [{finding.kind}] {finding.message}" + (f" (+{more} more; --json lists all)" if more else ""))
        if check is not None:
            click.echo(("OK: " if check.ok else "BROKEN: ") + check.message)
        if ok:
            click.echo("OK: " + ", ".join(f"{n:,} {what}" for what, n in result.checked.items()) + " checked; no findings")
    if not ok:
        raise SystemExit(int(ExitCode.RUN_FAILED))


def _verify_chain_only(ws, checkpoint_file: Path | None, as_json: bool) -> None:  # type: ignore[no-untyped-def]
    from workbench.audit import AuditLog
    from workbench.audit.checkpoint import check_checkpoint, parse_checkpoint

    with AuditLog(ws.audit_path, ws.root) as log:
        result = log.verify_chain()
        check = None
        if checkpoint_file is not None:
            check = check_checkpoint(log, parse_checkpoint(checkpoint_file.read_text(encoding="utf-8")))
    ok = result.ok and (check is None or check.ok)
    if as_json:
        echo_json({**result.as_dict(), "ok": ok, "checkpoint": None if check is None else check.__dict__})
    else:
        click.echo(("OK: " if result.ok else "BROKEN: ") + result.summary)
        if check is not None:
            click.echo(("OK: " if check.ok else "BROKEN: ") + check.message)
    if not ok:
        raise SystemExit(int(ExitCode.RUN_FAILED))


@audit.command()
@pass_state
def reindex(state: CliState) -> None:
    """Rebuild the search index from the events (after `verify` reports it damaged); audited."""
    from workbench.audit.search_index import rebuild_search_index

    ws, log = _open(state)
    with log:
        count = rebuild_search_index(log, actor=ws.actor)
    click.echo(f"Search index rebuilt: {count:,} events indexed.")


@audit.command()
@click.option("--output", "-o", type=click.Path(path_type=Path, dir_okay=False),
              help="Write the checkpoint to this file (keep it outside the workspace).")
@click.option("--sign", "sign_it", is_flag=True,
              help="Sign it with your enrolled SSH key; the signature goes to FILE.sig (needs --output).")
@pass_state
def checkpoint(state: CliState, output: Path | None, sign_it: bool) -> None:
    """Print the log's head (size + hash) as a checkpoint to store elsewhere."""
    from workbench.audit.checkpoint import current_checkpoint

    if sign_it:
        from workbench.access.checkpoint_signing import sign_checkpoint

        if output is None:
            raise BadInputError("A signed checkpoint needs --output FILE (the signature is written to FILE.sig).")
        signed = sign_checkpoint(state.workspace(create_demo=False))
        output.write_text(signed.text, encoding="utf-8")
        sig_path = output.with_name(output.name + ".sig")
        sig_path.write_text(signed.signature + "\n", encoding="utf-8")
        click.echo(f"Checkpoint written to {output}, signed by {signed.signer} ({signed.fingerprint}) in {sig_path}.\n"
                   f"Anyone can check it: ssh-keygen -Y verify -f allowed_signers -I {signed.signer} "
                   f"-n workbench-checkpoint -s {sig_path} < {output}", err=True)
        return
    _, log = _open(state)
    with log:
        text = current_checkpoint(log).text()
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"Checkpoint written to {output}.", err=True)


def _filters(since: str | None, until: str | None) -> tuple[str | None, str | None]:
    from workbench.audit.search import parse_time

    return (parse_time(since) if since else None, parse_time(until, end=True) if until else None)


def _print_events(events, as_json: bool) -> None:
    if as_json:
        echo_json([e.as_dict() for e in events])
        return
    for e in events:
        click.echo(f"#{e.seq:<7} {e.ts[:19]}  {e.actor:<12} {e.kind:<20} {e.subject or '':<20} "
                   f"{e.run_id or '':<22} {e.outcome or ''}")


@audit.command()
@click.argument("query", required=False)
@click.option("--actor", help="Only events by this actor.")
@click.option("--kind", help="Only events of this kind (`run` also matches run.started, run.finished…).")
@click.option("--since", help="From this ISO date/time (UTC).")
@click.option("--until", help="Before this ISO date/time (a bare date includes that day).")
@click.option("--run", "run_id", help="Only events of this run (id or prefix).")
@click.option("--limit", default=50, show_default=True, type=whole(1, 100_000))
@click.option("--rank", is_flag=True, help="Order by relevance (bm25) instead of newest first.")
@click.option("--archives", is_flag=True, help="Also search the archive files (`workbench audit archive`).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_state
def search(state: CliState, query: str | None, actor: str | None, kind: str | None, since: str | None,
           until: str | None, run_id: str | None, limit: int, rank: bool, archives: bool, as_json: bool) -> None:
    """Full-text search (SQLite FTS5) over event kinds, subjects, actors, runs, outcomes and parameters."""
    since, until = _filters(since, until)
    _, log = _open(state)
    with log:
        if archives:
            from workbench.audit.archive import search_with_archives

            events = search_with_archives(log, query, actor=actor, kind=kind, since=since, until=until, run_id=run_id,
                                          limit=limit, rank=rank)
        else:
            events = log.search(query, actor=actor, kind=kind, since=since, until=until, run_id=run_id, limit=limit,
                                rank=rank)
    if not events and not as_json:
        click.echo("No matching events.", err=True)
        return
    _print_events(events, as_json)


@audit.command()
@click.option("-n", "count", default=20, show_default=True, type=whole(1), help="Events to show.")
@click.option("--follow", "-f", is_flag=True, help="Keep printing new events as they are appended (Ctrl-C to stop).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@pass_state
def tail(state: CliState, count: int, follow: bool, as_json: bool) -> None:
    """Show the newest events; with -f, follow the log live."""
    import json

    def show(events) -> None:
        for e in events:
            if as_json:
                click.echo(json.dumps(e.as_dict(), default=str))
            else:
                _print_events([e], False)

    _, log = _open(state)
    with log:
        events = list(reversed(log.search(limit=count)))
        show(events)
        last = events[-1].seq if events else 0
        while follow:
            time.sleep(0.5)
            new = list(reversed(log.search(after_seq=last, limit=10_000)))
            show(new)
            if new:
                last = new[-1].seq


@audit.command()
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["jsonl", "parquet", "csv"]), default="jsonl", show_default=True)
@click.option("--since", help="From this ISO date/time (UTC).")
@click.option("--until", help="Before this ISO date/time (a bare date includes that day).")
@pass_state
def export(state: CliState, out: Path, fmt: str, since: str | None, until: str | None) -> None:
    """Write an e-discovery bundle to folder OUT: events, verify result, checkpoint and a SHA-256 manifest."""
    from workbench.audit.export import export_bundle

    since, until = _filters(since, until)
    ws, log = _open(state)
    with log:
        manifest = export_bundle(log, out, fmt, actor=ws.actor, since=since, until=until)
    chain = "chain verified" if manifest["chain_ok"] else "CHAIN BROKEN (see verify.json)"
    click.echo(f"Exported {manifest['events']:,} events to {out} ({fmt}; {chain}; head #{manifest['head_seq']}).")


@audit.command()
@click.option("--before", help="Archive events older than this ISO date/time (UTC).")
@click.option("--keep", type=whole(1), help="Archive all but the newest KEEP events.")
@pass_state
def archive(state: CliState, before: str | None, keep: int | None) -> None:
    """Move old events into a read-only archive file under audit-archive/; the chain stays verifiable."""
    from workbench.audit.archive import archive_events
    from workbench.audit.search import parse_time

    if before is not None and keep is not None:
        raise BadInputError("Use either --before or --keep, not both.")
    from workbench.access.actions import require_role

    require_role(state.workspace(create_demo=False), "admin", "Archiving audit events")
    ws, log = _open(state)
    with log:
        result = archive_events(log, actor=ws.actor, before=parse_time(before) if before else None, keep=keep)
    click.echo(f"Archived events #{result.seq_from}–#{result.seq_to} ({result.count:,}) to {result.path} "
               f"(sha256 {result.sha256[:16]}).")
