"""`workbench plugins ...` and the TUI's Plugins tab, as a user drives them."""

from __future__ import annotations

import json
import subprocess
import sys

from tui_support import settle

from workbench.errors import ExitCode


def test_list_shows_name_kind_package_version_status(cli):
    out = cli("plugins", "list")
    assert out.returncode == 0, out.stderr
    header = out.stdout.splitlines()[0].split()
    assert header[:5] == ["name", "kind", "package", "version", "status"]
    assert any(line.split()[:2] == ["local", "compute"] for line in out.stdout.splitlines())


def test_show_lists_flags_and_toml_keys(cli):
    out = cli("plugins", "show", "compute", "local", "--json")
    assert out.returncode == 0, out.stderr
    [row] = json.loads(out.stdout)
    assert row["flag"] == "--workers" and row["toml"] == "[backends.local] workers" and row["type"] == "int"


def test_check_uses_flags_from_the_schema(cli, empty_workspace):
    out = cli("-w", str(empty_workspace.root), "plugins", "check", "compute", "local", "--workers", "1", "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["backend"]["workers"] == 1
    store = cli("-w", str(empty_workspace.root), "plugins", "check", "storage", "local")
    assert store.returncode == 0 and "ok" in store.stdout
    bad = cli("-w", str(empty_workspace.root), "plugins", "check", "compute", "local", "--workers", "x")
    assert bad.returncode == ExitCode.BAD_INPUT
    missing = cli("-w", str(empty_workspace.root), "plugins", "check", "compute", "nope")
    assert missing.returncode == ExitCode.BACKEND_UNAVAILABLE and "No compute back-end named 'nope'" in missing.stderr


def test_core_back_end_modules_import_no_textual_and_no_plugin():
    code = ("import sys, workbench.backends.session, workbench.backends.probe, workbench.testing, workbench.cli.plugins;"
            "from workbench.backends.discovery import list_plugins; list_plugins();"
            "bad = [m for m in ('textual', 'distributed', 's3fs', 'workbench_dask', 'workbench_s3', 'pytest') if m in sys.modules];"
            "print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


async def test_plugins_tab_lists_back_ends_and_checks_one(empty_workspace):
    from textual.widgets import DataTable, Static

    from workbench.tui.app import WorkbenchApp
    from workbench.tui.panes.plugins import BackendOptionsForm, PluginsPane

    app = WorkbenchApp(empty_workspace)
    async with app.run_test(size=(140, 48)) as pilot:
        await pilot.press("5")
        pane = app.query_one(PluginsPane)
        await settle(app, pilot, rounds=1)
        table = pane.query_one("#plugins-table", DataTable)
        rows = [table.get_row_at(i)[:2] for i in range(table.row_count)]
        assert ["local", "compute"] in [list(r) for r in rows]
        row = next(i for i, r in enumerate(rows) if list(r) == ["local", "compute"])
        table.move_cursor(row=row)
        await settle(app, pilot, rounds=1)
        form = pane.query_one(BackendOptionsForm)
        form.query_one("#opt-workers").value = "1"
        table.focus()
        await pilot.press("c")
        await settle(app, pilot, rounds=1)
        result = str(pane.query_one("#check-result", Static).render())
        assert "works" in result, result


def test_list_check_agrees_with_check_for_every_back_end(cli, empty_workspace):
    """`plugins list --check` runs the check `plugins check` runs: an S3 back-end without a bucket fails in both,
    and the template's back-ends say they are examples."""
    root = str(empty_workspace.root)
    listed = cli("-w", root, "plugins", "list", "--check", "--json", env={"WORKBENCH_S3_BUCKET": ""})
    assert listed.returncode == 0, listed.stderr
    rows = {(r["kind"], r["name"]): r for r in json.loads(listed.stdout)}
    for (kind, name), row in rows.items():
        if kind == "compute" and name == "dask":
            continue  # starting a cluster for each row would double this test's time; dask's own tests check it
        checked = cli("-w", root, "plugins", "check", kind, name, env={"WORKBENCH_S3_BUCKET": ""})
        assert (checked.returncode == 0) == (row["status"] in ("works", "example")), (kind, name, row, checked.stderr)
    assert rows[("storage", "s3")]["status"] == "fails" and "bucket" in rows[("storage", "s3")]["error"]
    assert rows[("compute", "template")]["status"] == rows[("storage", "template")]["status"] == "example"
    assert rows[("compute", "local")]["status"] == "works"


async def test_plugins_tab_never_says_ok_for_an_unconfigured_or_example_back_end(empty_workspace, monkeypatch):
    from textual.widgets import DataTable, Static

    from workbench.tui.app import WorkbenchApp
    from workbench.tui.panes.plugins import PluginsPane

    monkeypatch.delenv("WORKBENCH_S3_BUCKET", raising=False)
    app = WorkbenchApp(empty_workspace)
    async with app.run_test(size=(140, 48)) as pilot:
        await pilot.press("5")
        pane = app.query_one(PluginsPane)
        await settle(app, pilot, rounds=1)
        table = pane.query_one("#plugins-table", DataTable)
        table.focus()

        def status(kind: str, name: str) -> str:
            row = next(table.get_row_at(i) for i in range(table.row_count) if list(table.get_row_at(i)[:2]) == [name, kind])
            return str(row[4])

        keys = [list(table.get_row_at(i)[:2]) for i in range(table.row_count)]
        table.move_cursor(row=keys.index(["s3", "storage"]))
        await settle(app, pilot, rounds=2)
        assert "fails" in status("storage", "s3")
        assert "bucket" in str(pane.query_one(".plugin-problem", Static).render())
        table.move_cursor(row=keys.index(["template", "storage"]))
        await settle(app, pilot, rounds=2)
        assert "ok" not in status("storage", "template")
        await pilot.press("c")
        await settle(app, pilot, rounds=2)
        assert "example" in status("storage", "template")
        assert "example to copy" in str(pane.query_one("#check-result", Static).render())
        assert all("ok" != str(table.get_row_at(i)[4]) for i in range(table.row_count))
