"""Every registry action on a Models-tab key, and the report on the Runs and Models tabs: each test presses the
keys a person would, fills the dialog, and checks the screen and then the workspace."""

from __future__ import annotations

import pytest
from registry_fixtures import as_user, set_policy, train, two_versions, with_champion  # noqa: F401  (fixtures)
from tui_support import record_finished_runs, settle

from workbench.registry.promotion import request_promotion
from workbench.registry.refs import parse_ref
from workbench.registry.store import RegistryStore
from workbench.workspace import Workspace


async def _open_tab(app, pilot, key: str = "4") -> None:  # type: ignore[no-untyped-def]
    await settle(app, pilot)  # let the Lake tab finish loading (it takes focus when it does)
    await pilot.press(key)
    await settle(app, pilot)


def _dialog_text(app) -> str:  # type: ignore[no-untyped-def]
    from textual.widgets import Static

    return str(app.screen.query_one("#dialog-body", Static).render())


def _status(app) -> str:  # type: ignore[no-untyped-def]
    return str(app.query_one("#models-status").render())


def _notified(app, text: str) -> bool:  # type: ignore[no-untyped-def]
    return any(text in str(n.message) for n in app._notifications)


async def test_promote_shows_the_evidence_then_opens_the_request(with_champion: Workspace) -> None:
    from textual.widgets import DataTable

    from workbench.tui.app import WorkbenchApp

    app = WorkbenchApp(with_champion)  # alice; species:2 is the top row
    async with app.run_test(size=(180, 50)) as pilot:
        await _open_tab(app, pilot)
        await pilot.press("p")
        await pilot.pause()
        assert app.screen.query_one("#field-alias").value == "champion"  # the default alias
        await pilot.press("tab", *"seed 11 holds up", "enter")
        await settle(app, pilot)
        evidence = _dialog_text(app)  # computed before anything is written
        assert "candidate v2" in evidence and "current v1" in evidence and "frozen holdout" in evidence
        assert "reason: seed 11 holds up" in evidence
        with RegistryStore.open(with_champion) as store:
            assert store.requests(state="open") == []
        await pilot.press("y")
        await settle(app, pilot)
        await settle(app, pilot)
        assert app.query_one("#model-requests", DataTable).row_count == 1
        assert "Opened promotion request" in _status(app)
        assert "frozen holdout" in str(app.query_one("#evidence").render())  # the new request, highlighted
    with RegistryStore.open(with_champion) as store:
        [request] = store.requests(state="open")
        assert (request["model"], request["version"], request["alias"]) == ("species", 2, "champion")
        assert request["reason"] == "seed 11 holds up" and request["requested_by"] == "alice"


async def test_promote_cancelled_at_the_evidence_opens_nothing(with_champion: Workspace) -> None:
    from workbench.tui.app import WorkbenchApp

    app = WorkbenchApp(with_champion)
    async with app.run_test(size=(180, 50)) as pilot:
        await _open_tab(app, pilot)
        await pilot.press("p", "tab", *"maybe", "enter")
        await settle(app, pilot)
        assert "verdict" in _dialog_text(app)
        await pilot.press("n")
        await settle(app, pilot)
        assert "nothing changed" in _status(app)
    with RegistryStore.open(with_champion) as store:
        assert store.requests() != [] and store.requests(state="open") == []  # only the fixture's approved one


async def test_a_viewer_pressing_promote_reads_the_role_refusal(with_champion: Workspace,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from workbench.tui.app import WorkbenchApp

    set_policy(with_champion, '[governance.roles]\nalice = "admin"\nbob = "approver"\ncarol = "viewer"')
    carol = as_user(monkeypatch, with_champion, "carol")
    app = WorkbenchApp(carol)
    async with app.run_test(size=(180, 50)) as pilot:
        await _open_tab(app, pilot)
        await pilot.press("p", "tab", *"why not", "enter")
        await settle(app, pilot)
        assert "contributor" in _status(app) and "viewer" in _status(app)  # PermissionDenied's sentence
        assert _notified(app, "viewer")
        assert not app.screen.query("#dialog-body")
    with RegistryStore.open(carol) as store:
        assert store.requests(state="open") == []


async def test_reject_shows_the_request_and_asks_why(with_champion: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    from workbench.tui.app import WorkbenchApp

    request = request_promotion(with_champion, parse_ref("species:2"), "champion", "v2 please")
    bob = as_user(monkeypatch, with_champion, "bob")
    app = WorkbenchApp(bob)
    async with app.run_test(size=(180, 50)) as pilot:
        await _open_tab(app, pilot)
        await pilot.press("tab", "x")
        await pilot.pause()
        shown = _dialog_text(app)
        assert "species:2 → champion" in shown and "requested by alice" in shown and "v2 please" in shown
        await pilot.press(*"worse on recall", "enter")
        await settle(app, pilot)
        await settle(app, pilot)
        assert "rejected" in _status(app)
    with RegistryStore.open(bob) as store:
        assert store.get_request(request["id"])["state"] == "rejected"
        assert store.decisions(request["id"])[-1]["reason"] == "worse on recall"
        assert store.alias_at("species", "champion")["version"] == 1


async def test_withdraw_own_request(with_champion: Workspace) -> None:
    from textual.widgets import DataTable

    from workbench.tui.app import WorkbenchApp

    request = request_promotion(with_champion, parse_ref("species:2"), "champion", "too early")
    app = WorkbenchApp(with_champion)  # alice, the requester
    async with app.run_test(size=(180, 50)) as pilot:
        await _open_tab(app, pilot)
        await pilot.press("tab", "w")
        await pilot.pause()
        assert "species:2 → champion" in _dialog_text(app)
        await pilot.press("y")
        await settle(app, pilot)
        await settle(app, pilot)
        assert app.query_one("#model-requests", DataTable).row_count == 0
        assert f"Request {request['id']} withdrawn" in _status(app)
    with RegistryStore.open(with_champion) as store:
        assert store.get_request(request["id"])["state"] == "withdrawn"


async def test_someone_else_cannot_withdraw(with_champion: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    from workbench.tui.app import WorkbenchApp

    request = request_promotion(with_champion, parse_ref("species:2"), "champion", "mine")
    bob = as_user(monkeypatch, with_champion, "bob")
    app = WorkbenchApp(bob)
    async with app.run_test(size=(180, 50)) as pilot:
        await _open_tab(app, pilot)
        await pilot.press("tab", "w", "y")
        await settle(app, pilot)
        await settle(app, pilot)
        assert "Only alice" in _status(app)
    with RegistryStore.open(bob) as store:
        assert store.get_request(request["id"])["state"] == "open"


async def test_set_an_unprotected_alias_and_be_refused_a_protected_one(with_champion: Workspace) -> None:
    from workbench.tui.app import WorkbenchApp

    app = WorkbenchApp(with_champion)
    async with app.run_test(size=(180, 50)) as pilot:
        await _open_tab(app, pilot)
        await pilot.press("s", *"challenger", "tab", *"shadow traffic", "enter")
        await settle(app, pilot)
        await settle(app, pilot)
        assert "species@challenger now on v2" in _status(app)
        assert "challenger" in str(app.query_one("#model-versions").get_row_at(0)[2])
        await pilot.press("s", *"champion", "tab", *"skip the queue", "enter")
        await settle(app, pilot)
        await settle(app, pilot)
        assert "protected" in _status(app)
    with RegistryStore.open(with_champion) as store:
        challenger = store.alias_at("species", "challenger")
        assert challenger["version"] == 2 and challenger["reason"] == "shadow traffic"
        assert store.alias_at("species", "champion")["version"] == 1


async def test_register_under_a_given_model_name(sample_workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    from workbench.tui.app import WorkbenchApp

    ws = as_user(monkeypatch, sample_workspace, "alice")
    run_id = train(ws)
    app = WorkbenchApp(ws)
    async with app.run_test(size=(180, 50)) as pilot:
        await _open_tab(app, pilot)
        await pilot.press("g")
        await pilot.pause()
        await pilot.press("shift+tab", *"penguin_classifier", "enter", "enter")
        await settle(app, pilot)
        await settle(app, pilot)
        assert "Registered penguin_classifier:1" in _status(app)
    with RegistryStore.open(ws) as store:
        assert store.get_version("penguin_classifier", 1)["run_id"] == run_id


async def test_report_on_the_selected_version(with_champion: Workspace) -> None:
    from workbench.tui.app import WorkbenchApp

    with RegistryStore.open(with_champion) as store:
        run_id = store.get_version("species", 2)["run_id"]
    app = WorkbenchApp(with_champion)
    async with app.run_test(size=(180, 50)) as pilot:
        await _open_tab(app, pilot)
        await pilot.press("o")
        await settle(app, pilot)
        await settle(app, pilot)
        path = with_champion.root / "reports" / "species-v2.html"
        assert f"to {path}" in _status(app)
    page = path.read_text(encoding="utf-8")
    assert run_id in page and "species" in page


async def test_report_on_the_selected_run(sample_workspace: Workspace) -> None:
    from workbench.tui.app import WorkbenchApp

    run_id = train(sample_workspace)
    app = WorkbenchApp(sample_workspace)
    async with app.run_test(size=(180, 50)) as pilot:
        await _open_tab(app, pilot, "2")
        await pilot.press("o")
        await settle(app, pilot, rounds=5)
        path = sample_workspace.root / "reports" / f"{run_id}.html"
        assert _notified(app, f"to {path}")
    assert run_id in path.read_text(encoding="utf-8")


async def test_report_on_a_failed_run_says_why(sample_workspace: Workspace) -> None:
    from workbench.tui.app import WorkbenchApp

    [run_id] = record_finished_runs(sample_workspace, 1)
    app = WorkbenchApp(sample_workspace)
    async with app.run_test(size=(180, 50)) as pilot:
        await _open_tab(app, pilot, "2")
        await pilot.press("o")
        await settle(app, pilot, rounds=5)
        assert _notified(app, f"Run {run_id} is failed; only a succeeded run has results to report.")
    assert not (sample_workspace.root / "reports" / f"{run_id}.html").exists()


async def test_reproduce_starts_a_detached_run_whose_worker_records_the_verdict(sample_workspace: Workspace) -> None:
    import re

    from workbench.audit import AuditLog
    from workbench.runs.engine import wait_for_run
    from workbench.tui.app import WorkbenchApp

    run_id = train(sample_workspace)
    app = WorkbenchApp(sample_workspace)
    async with app.run_test(size=(180, 50)) as pilot:
        await _open_tab(app, pilot, "2")
        await pilot.press("p")
        await settle(app, pilot, rounds=5)
        started = next((str(n.message) for n in app._notifications if f"reproduces {run_id}" in str(n.message)), "")
        assert started, [str(n.message) for n in app._notifications]
    reproduction = re.match(r"Run (\S+) reproduces", started).group(1)
    # The TUI has exited; the detached worker carries on (a guard against a hung worker, not a speed check).
    final = wait_for_run(sample_workspace, reproduction, timeout_s=600)
    assert final["state"] == "succeeded" and final["reproduces"] == run_id
    with AuditLog(sample_workspace.audit_path, sample_workspace.root) as log:
        [verdict] = log.events(kind="run.reproduced", run_id=run_id)
    assert verdict.outcome in ("exact", "within") and verdict.params["reproduction"] == reproduction


async def test_reproduce_a_failed_run_says_why(sample_workspace: Workspace) -> None:
    from workbench.tui.app import WorkbenchApp

    [run_id] = record_finished_runs(sample_workspace, 1)
    app = WorkbenchApp(sample_workspace)
    async with app.run_test(size=(180, 50)) as pilot:
        await _open_tab(app, pilot, "2")
        await pilot.press("p")
        await settle(app, pilot, rounds=5)
        assert _notified(app, f"Run {run_id} is failed; only succeeded runs can be reproduced.")


async def test_the_palette_runs_promote_like_its_key(with_champion: Workspace) -> None:
    from workbench.tui.app import WorkbenchApp
    from workbench.tui.panes.model_dialogs import FieldsDialog

    app = WorkbenchApp(with_champion)
    async with app.run_test(size=(180, 50)) as pilot:
        await settle(app, pilot)
        command = next(c for c in app.get_system_commands(app.screen) if c.title == "Models: Promote")
        command.callback()
        await settle(app, pilot)
        assert app.query_one("#tabs").active == "models"
        assert isinstance(app.screen, FieldsDialog) and "species:2" in app.screen.title_text
