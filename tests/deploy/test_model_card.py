"""`workbench models card`: fields kept as chained audit events with history, facts computed from the frozen
holdout (overall and per sensitive group) and the lake, bad edits refused, and the card in the model report."""

from __future__ import annotations

import sqlite3

import pytest

from deploy_fixtures import as_user, two_versions, with_champion  # noqa: F401  (fixtures)
from workbench.errors import BadInputError, IntegrityError
from workbench.workspace import Workspace


def test_card_fields_have_history_and_group_metrics_match_the_holdout(with_champion: Workspace,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import polars as pl

    from workbench.cards.model_card import build_card, edit_card
    from workbench.registry.artifacts import load_holdout, load_model
    from workbench.registry.refs import parse_ref, resolve_ref
    from workbench.registry.scoring import score_metric
    from workbench.registry.store import RegistryStore

    empty = build_card(with_champion, "species")
    assert (empty.model, empty.version) == ("species", 1) and empty.history == [] and empty.group_metrics == []
    assert empty.training["certified"] is True and empty.approvals[0]["approved_by"] == ["bob"]
    edit_card(with_champion, "species:1", {"intended_use": "Field guide", "sensitive_columns": "island"})
    carol = as_user(monkeypatch, with_champion, "carol")
    card = edit_card(carol, "species:1", {"intended_use": "Field guide for rangers", "limitations": "Three species"})
    edit_card(carol, "species:1", {"limitations": "Three species"})  # no change: no event
    assert [(e.actor, sorted(e.changes)) for e in card.history] == [
        ("alice", ["intended_use", "sensitive_columns"]), ("carol", ["intended_use", "limitations"])]
    assert card.fields["intended_use"] == "Field guide for rangers" and card.sensitive_columns == ["island"]
    assert build_card(with_champion, "species:1").history == card.history

    with RegistryStore.open(with_champion) as store:
        version = resolve_ref(store, parse_ref("species:1"))
    holdout, model = load_holdout(with_champion, version), load_model(with_champion, version)
    assert card.holdout_metrics["log_loss"] == pytest.approx(score_metric(model, holdout, "species", version["task"],
                                                                         "log_loss"))
    islands = sorted(holdout["island"].unique().to_list())
    assert [g.group for g in card.group_metrics] == islands
    for g in card.group_metrics:
        part = holdout.filter(pl.col("island") == g.group)
        assert g.rows == part.height
        assert g.scores["accuracy"] == pytest.approx(score_metric(model, part, "species", version["task"], "accuracy"))
    assert sum(g.rows for g in card.group_metrics) == card.holdout_rows
    assert build_card(with_champion, "species:2").fields["intended_use"] == ""  # cards are per version


def test_bad_edits_are_refused_before_anything_is_written(with_champion: Workspace, cli) -> None:
    from workbench.cards.model_card import card_history, edit_card

    for changes, words in (({"colour": "x"}, "not a card field"), ({"sensitive_columns": "island,shoe"}, "shoe"),
                           ({"notes": "x" * 20_001}, "longer than")):
        with pytest.raises(BadInputError, match=words):
            edit_card(with_champion, "species:1", changes)
    assert card_history(with_champion, "species", 1) == []
    done = cli("-w", str(with_champion.root), "models", "card", "species:1", "--set", "nofield")
    assert done.returncode == 2 and "expected FIELD=VALUE" in done.stderr
    done = cli("-w", str(with_champion.root), "models", "card", "species:1", "--set", "owner=Data team",
               "--set", "sensitive_columns=sex")
    assert done.returncode == 0, done.stderr
    assert "## Owner\n\nData team" in done.stdout and "| sex | female |" in done.stdout
    verify = cli("-w", str(with_champion.root), "audit", "verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_an_edited_card_event_is_refused_and_the_report_carries_the_card(with_champion: Workspace, tmp_path) -> None:
    from workbench.cards.model_card import build_card, edit_card
    from workbench.report import write_report

    edit_card(with_champion, "species:1", {"intended_use": "Field guide", "sensitive_columns": "island"})
    out = tmp_path / "card.html"
    write_report(with_champion, "species@champion", out)
    page = out.read_text()
    assert 'id="model-card"' in page and "Field guide" in page and "Per-group metrics" in page
    md = tmp_path / "card.md"
    write_report(with_champion, "species:1", md)
    assert "### Intended use\n\nField guide" in md.read_text()

    conn = sqlite3.connect(with_champion.audit_path)  # a teammate rewrites the edit, triggers left in place
    try:
        conn.execute("DROP TRIGGER IF EXISTS events_no_update")
        conn.execute("UPDATE events SET params = replace(params, 'Field guide', 'Anything') "
                     "WHERE kind = 'model.card_edited'")
        conn.commit()
    finally:
        conn.close()
    with pytest.raises(IntegrityError, match="disagrees with the audit chain"):
        build_card(with_champion, "species:1")


async def test_k_shows_the_card_and_e_edits_it_through_the_audit_log(two_versions: Workspace) -> None:
    from textual.widgets import DataTable, Markdown, TextArea

    from workbench.cards.model_card import build_card, card_history, card_lines
    from workbench.tui.app import WorkbenchApp
    from tui_support import settle

    app = WorkbenchApp(two_versions)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(app, pilot)
        await pilot.press("4")
        await settle(app, pilot)
        versions = app.query_one("#model-versions", DataTable)
        subject = str(versions.coordinate_to_cell_key(versions.cursor_coordinate).row_key.value)
        detail = str(app.query_one("#model-detail").render())
        assert f"{subject}" in detail and "serving never served" in detail  # no serve.* events for it yet
        await pilot.press("k")
        await settle(app, pilot, rounds=5)
        card = build_card(two_versions, subject)
        shown = app.screen.query_one("#card-text", Markdown).source
        assert shown == "\n".join(card_lines(card))  # the CLI's card, word for word
        assert f"Model card: {subject}" in shown and "Metrics on the frozen holdout" in shown

        await pilot.press("e")
        await settle(app, pilot)
        app.screen.query_one("#card-intended_use", TextArea).load_text("Sorting penguins at the field station.")
        await pilot.press("ctrl+s")
        await settle(app, pilot, rounds=5)
        assert "Sorting penguins at the field station." in app.screen.query_one("#card-text", Markdown).source

        await pilot.press("e")  # saving without a change writes nothing
        await settle(app, pilot)
        await pilot.press("ctrl+s")
        await settle(app, pilot, rounds=3)
    model, number = subject.split(":")
    history = card_history(two_versions, model, int(number))
    assert [e.changes for e in history] == [{"intended_use": "Sorting penguins at the field station."}]
    assert build_card(two_versions, subject).fields["intended_use"] == "Sorting penguins at the field station."
