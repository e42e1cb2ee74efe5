"""`workbench keys add/list/revoke/allowed-signers` and `workbench whoami`: thin shells over `access/`."""

from __future__ import annotations

from pathlib import Path

import click

from workbench.cli.context import CliState, pass_state
from workbench.cli.output import echo_json, echo_table
from workbench.errors import BadInputError


@click.group()
def keys() -> None:
    """Signing keys: who may sign governed actions (promotions, approvals, policy, keys)."""


@keys.command("add")
@click.argument("login")
@click.argument("public_key", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--comment", help="A note kept with the key (e.g. the laptop it lives on).")
@pass_state
def add(state: CliState, login: str, public_key: Path, comment: str | None) -> None:
    """Enroll PUBLIC_KEY (an OpenSSH .pub file) for LOGIN. Admins only; signed with your own key."""
    from workbench.access.keys import add_key

    try:
        text = public_key.read_text(encoding="utf-8")
    except OSError as exc:
        raise BadInputError(f"Cannot read {public_key}: {exc.strerror}.") from None
    done = add_key(state.workspace(create_demo=False), login, text, comment)
    click.echo(f"Enrolled {done['fingerprint']} for {done['login']} (event #{done['seq']}).")


@keys.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_state
def list_(state: CliState, as_json: bool) -> None:
    """Every enrolled key, active and revoked."""
    from workbench.access.keys import list_keys

    rows = list_keys(state.workspace(create_demo=False))
    if as_json:
        echo_json(rows)
    elif not rows:
        click.echo("No keys enrolled. An admin enrolls the first with `workbench keys add LOGIN KEY.pub`.")
    else:
        echo_table(["login", "fingerprint", "type", "state", "added", "by", "comment"],
                   [[r["login"], r["fingerprint"], r["type"], r["state"], (r["added_at"] or "")[:19],
                     r["added_by"], r["comment"]] for r in rows])


@keys.command("revoke")
@click.argument("fingerprint")
@click.option("--reason", help="Why (required).")
@pass_state
def revoke(state: CliState, fingerprint: str, reason: str | None) -> None:
    """Revoke a key: signatures it makes from now on do not count. Admins only."""
    from workbench.access.keys import revoke_key

    done = revoke_key(state.workspace(create_demo=False), fingerprint, reason)
    click.echo(f"Revoked {done['fingerprint']} of {done['login']} (event #{done['seq']}).")


@keys.command("allowed-signers")
@click.option("--output", "-o", type=click.Path(path_type=Path, dir_okay=False), help="Write to this file.")
@pass_state
def allowed_signers_command(state: CliState, output: Path | None) -> None:
    """An OpenSSH allowed_signers file of the enrolled keys, for `ssh-keygen -Y verify` (no Workbench needed)."""
    from workbench.access.keys import allowed_signers

    text = allowed_signers(state.workspace(create_demo=False))
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"Allowed signers written to {output}.", err=True)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_state
def whoami(state: CliState, as_json: bool) -> None:
    """Who Workbench says you are here: OS account, role, signing key."""
    from workbench.access.whoami import describe

    info = describe(state.workspace())
    if as_json:
        echo_json(info)
        return
    click.echo(f"{info['actor']} (login {info['login']}, uid {info['uid']}) — {info['role']}")
    if info["label"]:
        click.echo(f"display label: {info['label']}" + ("" if info["identity"] == "declared"
                                                         else " (not used for governed actions)"))
    click.echo(f"identity: {info['identity']}; signing key: {info['signing_key'] or 'none available'}")
    if info["pending_policy"]:
        click.echo(f"note: {info['pending_policy']}")
