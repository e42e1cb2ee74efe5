"""`workbench governance report`: model freshness, evaluation and approval against workspace policy."""

from __future__ import annotations

import click

from workbench.cli.context import CliState, pass_state
from workbench.cli.output import echo_json, echo_table


@click.group()
def governance() -> None:
    """Policy checks over the model registry (thresholds in workbench.toml [governance])."""


@governance.command("report")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_state
def report(state: CliState, as_json: bool) -> None:
    """Per model: age, data staleness, last challenger evaluation, promotion; exits 1 on a policy violation."""
    from workbench.governance.report import PolicyViolation, governance_report

    result = governance_report(state.workspace())
    if as_json:
        echo_json(result.as_dict())
    else:
        if result.models:
            echo_table(
                ["model", "champion", "trained (days)", "stale data", "evaluated (days)", "last result",
                 "promoted (days)", "approved by"],
                [[m.model, f"v{m.champion_version}" if m.champion_version else "none", m.days_since_training,
                  {True: "yes", False: "no", None: ""}[m.stale_data], m.days_since_evaluation,
                  _last_result(m.last_evaluation), m.days_since_promotion, ", ".join(m.approved_by)]
                 for m in result.models])
        else:
            click.echo("No registered models.")
        for m in result.models:
            if m.requested_by:
                approvals = "; ".join(f"{a['decision']} by {a['actor']} ({a['signature']})" for a in m.approvals)
                click.echo(f"{m.model} v{m.champion_version}: requested by {m.requested_by} ({m.request_signature}); "
                           f"{approvals or 'no decisions'}")
        for m in result.models:
            for t in m.training_tables:
                click.echo(f"{m.model} v{m.champion_version} data: {t['table']} v{t['version']} {t['state']}; "
                           f"last refresh {t['last_refresh'] or 'never'}; last certified "
                           + (f"v{t['last_certified_version']} at {t['last_certified']}" if t['last_certified'] else "never"))
            if m.last_retrain:
                r = m.last_retrain
                click.echo(f"{m.model}: last retrain v{r['version']} {str(r['at'])[:19]} by {r['by']} ({r['via']})")
            if m.last_evaluation:
                e = m.last_evaluation
                scores = ", ".join(f"v{v} {score:.4f}" if isinstance(score, (int, float)) else f"v{v} n/a"
                                   for v, score in e["scores"].items())
                outcome = (f"v{e['best_version']} beat champion v{e['champion_version']}" if e["champion_beaten"]
                           else f"champion v{e['champion_version']} held" if e["champion_version"] is not None
                           else f"best v{e['best_version']}")
                click.echo(f"{m.model}: last evaluation {str(e['at'])[:19]} by {e['by']} on {e['rows']} rows "
                           f"({e['metric']}: {scores}): {outcome}")
            if m.serving and m.champion_version is not None:
                click.echo(f"{m.model} v{m.champion_version} serving: {m.serving['summary']}")
            for q in m.open_request_list:
                click.echo(f"{m.model}: open request {q['id']} (v{q['version']} → {q['alias']}) by "
                           f"{q['requested_by']} ({q['via']}), awaiting approval")
        click.echo(f"runs in flight: {result.runs_in_flight}; audit log: "
                   + ("verified" if result.audit_verified else "BROKEN") + f" ({result.audit_summary})")
        ident = ("OS accounts, signed" if result.identity == "os"
                 else "DECLARED names (single-user mode: $WORKBENCH_USER is trusted; governed actions are not proven)")
        counts = ", ".join(f"{n} {k}" for k, n in sorted(result.signatures.items())) or "none"
        click.echo(f"identity: {ident}; governed actions: {counts}")
        for flag in result.flags[:20]:
            click.echo(f"FLAG {flag}")
        if len(result.flags) > 20:
            click.echo(f"FLAG … and {len(result.flags) - 20} more (see --json)")
        for v in result.all_violations:
            click.echo(f"VIOLATION {v}")
    if not result.ok:
        n = len(result.all_violations)
        raise PolicyViolation(f"{n} governance policy violation{'s' if n != 1 else ''}: {result.all_violations[0]}"
                              + (" (and more above)." if n > 1 else "."))


@governance.command("adopt")
@click.option("--reason", help="Why the policy changes (kept in the audit log).")
@pass_state
def adopt(state: CliState, reason: str | None) -> None:
    """Put workbench.toml's [governance] and [registry] in force (admins only; signed with your key)."""
    from workbench.registry.policy import adopt_policy

    done = adopt_policy(state.workspace(create_demo=False), reason)
    click.echo(f"Policy adopted (event #{done['seq']}, sha256 {done['sha256'][:16]}); it is in force from now on.")


def _last_result(evaluation: dict | None) -> str:
    if not evaluation:
        return "never"
    best, champ = evaluation["best_version"], evaluation["champion_version"]
    return "champion best" if best == champ else f"v{best} beat champion"
