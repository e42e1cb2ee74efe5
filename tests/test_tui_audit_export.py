"""The Audit tab's `e`: the same e-discovery bundle as `workbench audit export`, from a dialog."""

from __future__ import annotations

import json
from pathlib import Path

from textual.widgets import Input, RadioSet

from workbench.audit import AuditLog
from workbench.tui.app import WorkbenchApp
from workbench.workspace import Workspace

from tui_support import settle


async def _export(app, pilot, folder: Path, *, format_steps: int = 0) -> None:  # type: ignore[no-untyped-def]
    await pilot.press("e")
    await settle(app, pilot)
    app.screen.query_one("#audit-export-path", Input).value = str(folder)
    if format_steps:
        radios = app.screen.query_one("#audit-export-format", RadioSet)
        radios.focus()
        await pilot.press(*["down"] * format_steps, "enter")
        app.screen.query_one("#audit-export-path", Input).focus()
    await pilot.press("enter")
    await settle(app, pilot, rounds=5)


def _notes(app) -> list[str]:  # type: ignore[no-untyped-def]
    return [n.message for n in app._notifications]


async def test_e_exports_a_verified_bundle_and_refuses_an_existing_folder(empty_workspace: Workspace,
                                                                         tmp_path: Path) -> None:
    with AuditLog(empty_workspace.audit_path, empty_workspace.root) as log:
        log.record_many([{"kind": "run.stage", "actor": "alice", "subject": f"step {i}"} for i in range(5)])
        total = log.conn.execute("SELECT count(*) FROM events").fetchone()[0]
    app = WorkbenchApp(empty_workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("3")
        await settle(app, pilot)

        bundle = tmp_path / "bundle"
        await _export(app, pilot, bundle)
        manifest = json.loads((bundle / "manifest.json").read_text())
        assert manifest["format"] == "jsonl" and manifest["chain_ok"] is True
        lines = (bundle / "events.jsonl").read_text().splitlines()
        assert manifest["events"] == len(lines) >= total  # every event (the export may add its own)
        assert any(f"Exported {manifest['events']:,} events to {bundle}" in n for n in _notes(app))

        before = sorted(p.name for p in bundle.iterdir())
        await _export(app, pilot, bundle)  # the same folder again: refused, the first bundle untouched
        assert any("already exists" in n for n in _notes(app))
        assert sorted(p.name for p in bundle.iterdir()) == before
        assert json.loads((bundle / "manifest.json").read_text()) == manifest

        parquet = tmp_path / "as-parquet"
        await _export(app, pilot, parquet, format_steps=1)
        assert json.loads((parquet / "manifest.json").read_text())["format"] == "parquet"
        assert (parquet / "events.parquet").is_file()


async def test_export_follows_the_search_time_filter(empty_workspace: Workspace, tmp_path: Path) -> None:
    app = WorkbenchApp(empty_workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("3")
        await settle(app, pilot)
        await pilot.press("slash")
        app.query_one("#audit-search", Input).value = "since:2999-01-01"
        await pilot.press("enter")
        await settle(app, pilot)
        await _export(app, pilot, tmp_path / "future")
        manifest = json.loads((tmp_path / "future" / "manifest.json").read_text())
        assert manifest["since"].startswith("2999-01-01") and manifest["events"] == 0
