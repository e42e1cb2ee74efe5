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
        click.echo(f"runs in flight: {result.runs_in_flight}; audit log: "
                   + ("verified" if result.audit_verified else "BROKEN") + f" ({result.audit_summary})")
        for v in result.all_violations:
            click.echo(f"VIOLATION {v}")
    if not result.ok:
        n = len(result.all_violations)
        raise PolicyViolation(f"{n} governance policy violation{'s' if n != 1 else ''}: {result.all_violations[0]}"
                              + (" (and more above)." if n > 1 else "."))


def _last_result(evaluation: dict | None) -> str:
    if not evaluation:
        return "never"
    best, champ = evaluation["best_version"], evaluation["champion_version"]
    return "champion best" if best == champ else f"v{best} beat champion"
