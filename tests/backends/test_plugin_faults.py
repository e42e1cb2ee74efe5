"""Plugins are guests: one that calls sys.exit() at import, raises or hangs when checked is reported as
broken or unavailable (exit 3, one sentence, a `plugin.failed` event) and everything else keeps working."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from tui_support import settle

from fake_plugin_packages import FAKE_MODULES, fake_env, fake_site, install_fake_plugins  # noqa: F401  (fake_site is a fixture)
from workbench.audit import AuditLog
from workbench.runs.records import RunRecords
from workbench.backends.discovery import list_plugins
from workbench.errors import ExitCode
from workbench.workspace import Workspace

SMALL = ('target = "species"\ntime_budget_s = 15\nmax_trials = 2\ncandidates = ["linear"]\ncv_folds = 3\n'
         '[data]\ntable = "penguins"\n')


def _failed(ws: Workspace) -> list[dict]:
    with AuditLog(ws.audit_path, ws.root) as log:
        return [{"subject": e.subject, **e.params} for e in log.events(kind="plugin.failed")]


def _with_timeout(ws: Workspace, seconds: float) -> Workspace:
    with open(ws.root / "workbench.toml", "a", encoding="utf-8") as fh:
        fh.write(f"\n[backends]\ntimeout_s = {seconds}\n")
    return Workspace.load(ws.root)


def _one_line(stderr: str) -> bool:
    return "Traceback" not in stderr and len([ln for ln in stderr.splitlines() if ln.strip()]) == 1


def test_sys_exit_at_import_is_a_broken_plugin_and_listing_goes_on(fake_site: Path) -> None:
    infos = {(i.kind, i.name): i for i in list_plugins(check=True)}
    quits = infos[("compute", "quits")]
    assert quits.status == "broken" and "failed to import: it called sys.exit(1)" in quits.error
    assert infos[("compute", "local")].status == "ok" and infos[("storage", "local")].status == "ok"


def test_cli_list_check_survives_sys_exit_and_using_it_is_exit_3(fake_site: Path, cli, sample_workspace: Workspace,
                                                                  tmp_path: Path) -> None:
    env = fake_env(fake_site)
    listed = cli("plugins", "list", "--check", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    rows = {(r["kind"], r["name"]): r for r in json.loads(listed.stdout)}
    assert rows[("compute", "quits")]["status"] == "broken" and rows[("compute", "local")]["status"] == "ok"

    root = str(sample_workspace.root)
    checked = cli("-w", root, "plugins", "check", "compute", "quits", env=env)
    assert checked.returncode == ExitCode.BACKEND_UNAVAILABLE and _one_line(checked.stderr), checked.stderr
    assert "sys.exit(1)" in checked.stderr

    spec = tmp_path / "spec.toml"
    spec.write_text(SMALL)
    ran = cli("-w", root, "batch", "--backend", "quits", str(spec), env=env)
    assert ran.returncode == ExitCode.BACKEND_UNAVAILABLE and _one_line(ran.stderr), ran.stderr
    assert "sys.exit(1)" in ran.stderr
    assert [f["subject"] for f in _failed(sample_workspace)] == ["quits"]
    with AuditLog(sample_workspace.audit_path, sample_workspace.root) as log:
        assert RunRecords(log).list_runs() == []  # refused before anything was recorded as a run


@pytest.mark.parametrize("name, reason", [("raises-on-probe", "RuntimeError: boom at probe"),
                                          ("exits-on-probe", "it called sys.exit(4)")])
def test_a_plugin_that_fails_its_check_is_exit_3_and_recorded(fake_site: Path, cli, empty_workspace: Workspace,
                                                               name: str, reason: str) -> None:
    out = cli("-w", str(empty_workspace.root), "plugins", "check", "compute", name, env=fake_env(fake_site))
    assert out.returncode == ExitCode.BACKEND_UNAVAILABLE and _one_line(out.stderr), out.stderr
    assert f"'{name}' started but failed its check: {reason}" in out.stderr
    [failed] = _failed(empty_workspace)
    assert failed["subject"] == name and reason in failed["error"]


def test_a_check_that_never_answers_is_bounded_and_recorded(fake_site: Path, cli, empty_workspace: Workspace) -> None:
    ws = _with_timeout(empty_workspace, 1)
    out = cli("-w", str(ws.root), "plugins", "check", "compute", "never-answers", env=fake_env(fake_site))
    assert out.returncode == ExitCode.BACKEND_UNAVAILABLE and _one_line(out.stderr), out.stderr
    assert "The compute back-end 'never-answers' did not answer within 1 s" in out.stderr
    [failed] = _failed(ws)
    assert failed["subject"] == "never-answers" and "did not answer within 1 s" in failed["error"]


def test_an_import_that_never_finishes_is_given_up_on(cli, sample_workspace: Workspace, tmp_path: Path) -> None:
    env = {**fake_env(install_fake_plugins(tmp_path, hanging=True)), "WORKBENCH_BACKEND_TIMEOUT_S": "1"}
    listed = cli("plugins", "list", "--check", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    rows = {(r["kind"], r["name"]): r for r in json.loads(listed.stdout)}
    assert rows[("compute", "hangs")]["status"] == "broken" and "did not answer within 1 s" in rows[("compute", "hangs")]["error"]
    assert rows[("compute", "local")]["status"] == "ok"

    ws = _with_timeout(sample_workspace, 1.5)  # workbench.toml wins over the environment
    spec = tmp_path / "spec.toml"
    spec.write_text(SMALL)
    ran = cli("-w", str(ws.root), "batch", "--backend", "hangs", str(spec), env=env)
    assert ran.returncode == ExitCode.BACKEND_UNAVAILABLE and _one_line(ran.stderr), ran.stderr
    assert "The compute back-end 'hangs' did not answer within 1.5 s" in ran.stderr
    assert [f["subject"] for f in _failed(ws)] == ["hangs"]


def test_a_bad_timeout_setting_is_bad_input(cli, empty_workspace: Workspace) -> None:
    with open(empty_workspace.root / "workbench.toml", "a", encoding="utf-8") as fh:
        fh.write('\n[backends]\ntimeout_s = "soon"\n')
    out = cli("-w", str(empty_workspace.root), "plugins", "check", "compute", "local")
    assert out.returncode == ExitCode.BAD_INPUT and "[backends] timeout_s must be a number of seconds" in out.stderr


def _row(table, name: str) -> int:
    return next(i for i in range(table.row_count) if table.get_row_at(i)[0] == name)


async def test_plugins_tab_imports_nothing_on_mount_and_survives_faults(fake_site: Path,
                                                                       empty_workspace: Workspace) -> None:
    from textual.widgets import DataTable, Static

    from workbench.tui.app import WorkbenchApp
    from workbench.tui.panes.plugins import PluginsPane

    ws = _with_timeout(empty_workspace, 1)
    app = WorkbenchApp(ws)
    async with app.run_test(size=(140, 48)) as pilot:
        await settle(app, pilot, rounds=1)  # every pane has mounted, the Plugins tab included
        assert not [m for m in FAKE_MODULES if m in sys.modules]
        await pilot.press("5")
        pane = app.query_one(PluginsPane)
        await settle(app, pilot, rounds=1)
        table = pane.query_one("#plugins-table", DataTable)

        table.move_cursor(row=_row(table, "quits"))  # selecting it imports it, in a worker
        await settle(app, pilot, rounds=1)
        assert app.is_running
        assert "sys.exit(1)" in str(pane.query_one("#plugin-info", Static).render())
        assert "broken" in str(table.get_row_at(_row(table, "quits"))[4])

        table.move_cursor(row=_row(table, "never-answers"))
        await settle(app, pilot, rounds=1)
        await pilot.press("c")
        await settle(app, pilot, rounds=2)
        result = str(pane.query_one("#check-result", Static).render())
        assert "did not answer within 1 s" in result, result
    assert any(f["subject"] == "never-answers" and "did not answer" in f["error"] for f in _failed(ws))
