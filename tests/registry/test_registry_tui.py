"""The Models screen: an approver sees a request's evidence and approves it with one keystroke."""

from __future__ import annotations

import os

import pytest

from registry_fixtures import as_user, train, two_versions, with_champion  # noqa: F401  (fixtures)
from workbench.registry.promotion import request_promotion
from workbench.registry.refs import parse_ref
from workbench.registry.store import RegistryStore
from workbench.workspace import Workspace


from tui_support import settle as _settle


async def _open_models(app, pilot) -> None:
    await _settle(app, pilot)  # let the Lake tab finish loading (it takes focus when it does)
    await pilot.press("4")
    await _settle(app, pilot)


async def test_approver_approves_a_promotion_from_the_models_screen(
    with_champion: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    from textual.widgets import DataTable, Static

    from workbench.tui.app import WorkbenchApp

    request = request_promotion(with_champion, parse_ref("species:2"), "champion", "v2 for production")
    bob = as_user(monkeypatch, with_champion, "bob")
    assert os.environ["WORKBENCH_USER"] == "bob" and bob.actor == "bob"
    app = WorkbenchApp(bob)
    async with app.run_test(size=(180, 50)) as pilot:
        await _open_models(app, pilot)
        requests = app.query_one("#model-requests", DataTable)
        assert requests.row_count == 1
        assert "bob (approver) · DECLARED identity" in app.sub_title  # (loaded in a worker, before the pane)  # who you are and your role, in the header
        assert requests.get_row_at(0)[4] == "declared"  # the request's signature status: declared, not signed
        evidence = str(app.query_one("#evidence", Static).render())
        assert f"Request {request['id']}" in evidence and "frozen holdout" in evidence and "verdict" in evidence
        await pilot.press("tab")
        assert app.focused is requests
        await pilot.press("a")
        await _settle(app, pilot)
        body = str(app.screen.query_one("#dialog-body", Static).render())  # the confirmation: what will move
        assert "species@champion: v1 → v2" in body and "approvals so far: 0 / 1 required" in body
        assert "your approval moves the alias now" in body
        with RegistryStore.open(bob) as store:
            assert store.alias_at("species", "champion")["version"] == 1  # nothing moved before "y"
        await pilot.press("y")
        await _settle(app, pilot)
        await _settle(app, pilot)  # the reload after the decision
        assert requests.row_count == 0
        assert "approved" in str(app.query_one("#models-status", Static).render())
    with RegistryStore.open(bob) as store:
        champion = store.alias_at("species", "champion")
        assert champion["version"] == 2 and champion["approved_by"] == ["bob"]
        assert store.get_request(request["id"])["state"] == "approved"


async def test_requester_pressing_approve_is_refused_on_screen(with_champion: Workspace) -> None:
    from textual.widgets import DataTable

    from workbench.tui.app import WorkbenchApp

    request = request_promotion(with_champion, parse_ref("species:2"), "champion", "mine")
    app = WorkbenchApp(with_champion)  # alice, the requester
    async with app.run_test(size=(180, 50)) as pilot:
        await _open_models(app, pilot)
        await pilot.press("tab", "a")
        await _settle(app, pilot)
        await _settle(app, pilot)
        assert app.query_one("#model-requests", DataTable).row_count == 1
        assert any("four-eyes" in str(n.message) for n in app._notifications)
        assert "four-eyes" in str(app.query_one("#models-status").render())
        assert not app.screen.query("#dialog-body")  # refused before any confirmation is offered
    with RegistryStore.open(with_champion) as store:
        assert store.get_request(request["id"])["state"] == "open"
        assert store.alias_at("species", "champion")["version"] == 1


async def test_register_a_finished_run_and_see_governance(sample_workspace: Workspace, monkeypatch) -> None:
    from textual.widgets import DataTable

    from workbench.tui.app import WorkbenchApp

    ws = as_user(monkeypatch, sample_workspace, "alice")
    run_id = train(ws)
    app = WorkbenchApp(ws)
    async with app.run_test(size=(180, 50)) as pilot:
        await _open_models(app, pilot)
        await pilot.press("g")
        await pilot.pause()
        await pilot.press("enter")
        await _settle(app, pilot)
        await _settle(app, pilot)
        assert app.query_one("#model-versions", DataTable).row_count == 1
        await pilot.press("v")
        await _settle(app, pilot)
        table = app.query_one("#governance-table", DataTable)
        assert table.row_count == 1 and table.get_row_at(0)[:2] == ["penguin_species", "none"]
    with RegistryStore.open(ws) as store:
        assert store.get_version("penguin_species", 1)["run_id"] == run_id


async def test_governance_view_shows_the_last_evaluation_and_serving(with_champion: Workspace) -> None:
    from textual.widgets import Static

    from workbench.audit import AuditLog
    from workbench.registry.evaluate import evaluate_model
    from workbench.registry.promotion import set_alias
    from workbench.tui.app import WorkbenchApp

    set_alias(with_champion, parse_ref("species:2"), "challenger", "try v2")
    evaluation = evaluate_model(with_champion, "species", holdout_of=2)
    with AuditLog(with_champion.audit_path, with_champion.root) as log:
        log.record_many([{"kind": "serve.started", "actor": "alice", "subject": "species@champion",
                          "params": {"model": "species", "version": 1, "port": 8001, "pid": 4}}])  # no stop: live
    app = WorkbenchApp(with_champion)
    async with app.run_test(size=(180, 50)) as pilot:
        await _open_models(app, pilot)
        await pilot.press("v")
        await _settle(app, pilot)
        shown = str(app.query_one("#governance-violations", Static).render())
        outcome = "beat the champion" if evaluation["champion_beaten"] else "the champion held"
        assert "species: last evaluation" in shown and f"on {evaluation['row_count']} rows: {outcome}" in shown
        assert "species v1 serving: 0 request(s)" in shown and "1 service(s) started with no stop recorded" in shown
        assert "species: data penguins v1" in shown  # the champion's training table and its certification
