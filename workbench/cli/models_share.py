"""`workbench models card` and `models export`: a version's model card and its portable package (thin shells
over `workbench.cards` and `workbench.export`).

Registered on the `models` group from `cli/__init__.py`, so `cli/models.py` stays as it is.
"""

from __future__ import annotations

from pathlib import Path

import click

from workbench.cli.context import CliState, pass_state
from workbench.cli.output import echo_json


@click.command("card")
@click.argument("ref", metavar="NAME[@ALIAS|:VERSION]")
@click.option("--set", "assignments", metavar="FIELD=VALUE", multiple=True,
              help="Set one card field (repeatable): intended_use, out_of_scope, limitations, sensitive_columns, "
                   "owner, notes.")
@click.option("--edit", is_flag=True, help="Edit the card's fields in $EDITOR (TOML).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_state
def card(state: CliState, ref: str, assignments: tuple[str, ...], edit: bool, as_json: bool) -> None:
    """Show (or edit) the model card of a registered version: intended use, training data and its
    certification, metrics on the frozen holdout, per-group metrics for sensitive columns, limitations,
    approvals. Every edit is a `model.card_edited` audit event; the history is shown with the card."""
    from dataclasses import asdict

    from workbench.cards.model_card import build_card, card_lines, edit_card
    from workbench.errors import BadInputError

    ws = state.workspace()
    changes: dict[str, str] = {}
    for item in assignments:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise BadInputError(f"--set {item!r}: expected FIELD=VALUE.")
        changes[key.strip()] = value
    if edit:
        changes.update(_edit_in_editor(ws, ref))
    result = edit_card(ws, ref, changes) if changes else build_card(ws, ref)
    if as_json:
        echo_json(asdict(result))
        return
    click.echo("\n".join(card_lines(result)))


def _edit_in_editor(ws: object, ref: str) -> dict[str, str]:
    import tomllib

    from workbench.cards.model_card import FIELDS, build_card
    from workbench.errors import BadInputError

    current = build_card(ws, ref).fields  # type: ignore[arg-type]
    text = "\n".join(f"# {help_text}\n{name} = '''{current.get(name, '')}'''\n" for name, help_text in FIELDS.items())
    edited = click.edit(text, extension=".toml")
    if edited is None:
        return {}
    try:
        raw = tomllib.loads(edited)
    except tomllib.TOMLDecodeError as exc:
        raise BadInputError(f"The edited card is not valid TOML ({exc}); nothing was saved.") from None
    return {k: str(v) for k, v in raw.items()}


@click.command("export")
@click.argument("ref", metavar="NAME[@ALIAS|:VERSION]")
@click.argument("dest", metavar="DIR", type=click.Path(path_type=Path, file_okay=False))
@pass_state
def export(state: CliState, ref: str, dest: Path) -> None:
    """Write a portable package of a registered version into DIR (new or empty): the model, its input schema,
    an exact requirements.txt, the model card, predict.py and a Dockerfile. The package's own predict.py must
    reproduce the registry's predictions on the frozen holdout before the folder is written."""
    from workbench.export.package import export_version

    result = export_version(state.workspace(), ref, dest)
    check = result.check
    onnx = check.get("onnx")
    click.echo(f"Exported {result.model}:{result.version} to {result.path} ({len(result.files)} files). Check: its "
               f"predict.py scored the {check['rows']} holdout rows like the registry (largest difference "
               f"{check['max_abs_difference']:.2g}, tolerance {check['tolerance']:.2g}).")
    if onnx:
        click.echo(f"ONNX: model.onnx and predict_onnx.py (no pickle) scored them too (largest difference "
                   f"{onnx['max_abs_difference']:.2g}, tolerance {onnx['tolerance']:.2g}).")
    else:
        click.echo(f"ONNX: not exported: {result.onnx_reason}.")
