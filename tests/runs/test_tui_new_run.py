"""The new-run form: pick a spec, choose its compute back-end and options, start it (or not) — with Pilot,
and the `workbench batch` command line it builds."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
from conftest import SPECS
from textual.widgets import DataTable, Input, Select, Static
from tui_support import settle

from workbench.audit import AuditLog
from workbench.runs.records import RunRecords
from workbench.tui.app import WorkbenchApp
from workbench.tui.runs.launcher import spec_backend
from workbench.tui.runs.new_run import NewRunForm
from workbench.workspace import Workspace

TINY = ('name = "tiny"\ntarget = "species"\ncandidates = ["linear"]\nmax_trials = 1\ncv_folds = 3\n'
        'time_budget_s = 60\n[data]\ntable = "penguins"\n')


async def _until(pilot, predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        await pilot.pause(0.1)
    raise AssertionError("condition not met on screen in time")


def _tiny_spec(ws: Workspace, body: str = TINY, name: str = "tiny") -> Path:
    path = ws.root / "specs" / f"{name}.toml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(body)
    return path


async def _open_form(app, pilot, spec: Path) -> NewRunForm:
    """Runs tab, `n`, choose `spec` in the picker: the form is up with its back-ends listed."""
    await settle(app, pilot, rounds=1)
    await pilot.press("2")
    await _until(pilot, lambda: app.focused is not None and app.focused.id == "runs-table", timeout=10)
    await pilot.press("n")
    await _until(pilot, lambda: len(app.screen.query("#spec-list")) == 1, timeout=10)
    option_list = app.screen.query_one("#spec-list")
    ids = [option_list.get_option_at_index(i).id for i in range(option_list.option_count)]
    for _ in range(ids.index(str(spec))):
        await pilot.press("down")
    await pilot.press("enter")
    await _until(pilot, lambda: isinstance(app.screen, NewRunForm) and len(app.screen.query("#new-run-backend")) == 1)
    return app.screen


def _select_values(select: Select) -> list[str]:
    return [value for _, value in select._options if isinstance(value, str)]


def _runs(ws: Workspace) -> list[dict]:
    with AuditLog(ws.audit_path, ws.root) as log:
        return RunRecords(log).list_runs()


async def test_form_lists_back_ends_and_their_options_and_escape_starts_nothing(sample_workspace: Workspace) -> None:
    spec = _tiny_spec(sample_workspace)
    app = WorkbenchApp(sample_workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        form = await _open_form(app, pilot, spec)
        select = form.query_one("#new-run-backend", Select)
        assert {"local", "dask", "template"} <= set(_select_values(select))
        assert select.value == "local"  # the spec names none: the workspace default
        await _until(pilot, lambda: len(form.query("#opt-workers")) == 1)  # local's one option
        assert "the spec's back-end" in str(form.query_one("#new-run-backend-info", Static).render())

        # Choose `template` with the keyboard: its options replace local's.
        select.focus()
        await pilot.press("enter")
        values = _select_values(select)
        for _ in range(values.index("template") - values.index("local")):
            await pilot.press("down")
        await pilot.press("enter")
        await _until(pilot, lambda: select.value == "template" and len(form.query("#opt-threads")) == 1)
        assert not form.query("#opt-workers")
        assert form.query_one("#opt-threads", Input).value == ""

        await pilot.press("escape")
        await _until(pilot, lambda: not isinstance(app.screen, NewRunForm), timeout=5)
        await pilot.pause(1.5)  # a poll or two: nothing was started
        assert app.query_one("#runs-table", DataTable).row_count == 0
        assert _runs(sample_workspace) == []


async def test_a_back_end_that_fails_to_import_shows_its_error_and_cannot_start(
        sample_workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A real installed-looking plugin (entry point in package metadata) whose module raises on import.
    site = tmp_path / "site"
    dist = site / "workbench_broken-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: workbench-broken\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[workbench.compute]\nbroken = workbench_broken:Compute\n")
    (site / "workbench_broken.py").write_text("raise ImportError('needs the cluster SDK')\n")
    monkeypatch.syspath_prepend(str(site))
    spec = _tiny_spec(sample_workspace)
    app = WorkbenchApp(sample_workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        form = await _open_form(app, pilot, spec)
        select = form.query_one("#new-run-backend", Select)
        assert "broken" in _select_values(select)  # listed without importing it
        select.value = "broken"
        await _until(pilot, lambda: "needs the cluster SDK" in " ".join(
            str(s.render()) for s in form.query(".new-run-error")))
        form.query_one("#new-run-start").focus()
        await pilot.press("enter")
        await pilot.pause(0.5)
        assert app.screen is form  # refused: the form stays, nothing starts
        assert _runs(sample_workspace) == []


async def test_enter_starts_the_run_with_the_chosen_back_end_and_options(sample_workspace: Workspace) -> None:
    spec = _tiny_spec(sample_workspace)
    app = WorkbenchApp(sample_workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        form = await _open_form(app, pilot, spec)
        select = form.query_one("#new-run-backend", Select)
        select.value = "template"
        await _until(pilot, lambda: len(form.query("#opt-threads")) == 1)
        form.query_one("#opt-threads", Input).focus()
        await pilot.press("3", "enter")
        await _until(pilot, lambda: not isinstance(app.screen, NewRunForm), timeout=60)
        table = app.query_one("#runs-table", DataTable)
        await _until(pilot, lambda: table.row_count == 1, timeout=60)
        assert table.get_row_at(0)[1] == "tiny"
        await _until(pilot, lambda: table.get_row_at(0)[2] in ("succeeded", "failed"), timeout=120)
        assert table.get_row_at(0)[2] == "succeeded", _runs(sample_workspace)[0].get("error")
    [run] = _runs(sample_workspace)
    assert run["backend"] == "template"
    with AuditLog(sample_workspace.audit_path, sample_workspace.root) as log:
        [loaded] = log.events(kind="plugin.loaded")
    assert loaded.run_id == run["run_id"] and loaded.subject == "template"
    assert loaded.params["options"]["threads"] == 3


def _spec_on(ws: Workspace, path: str, backend: str | None = None, options: dict | None = None):  # type: ignore[no-untyped-def]
    from workbench.pipeline.spec import load_spec
    from workbench.runs.launch import spec_with_backend

    return spec_with_backend(load_spec(Path(path), ws.settings.default_holdout, ws.settings.default_backend),
                             backend, options)


def test_the_form_changes_only_what_differs_from_the_spec(sample_workspace: Workspace) -> None:
    """The TUI and `batch --backend/--backend-option` share `runs.launch.spec_with_backend`."""
    ws = sample_workspace
    plain = str(SPECS / "penguin_species.toml")  # names no back-end: the workspace default (local)
    assert _spec_on(ws, plain).backend == "local" and _spec_on(ws, plain).backend_options == {}
    assert _spec_on(ws, plain, "local", {}).backend == "local"
    on_template = _spec_on(ws, plain, "template", {"threads": "3"})
    assert on_template.backend == "template" and on_template.backend_options == {"threads": "3"}
    on_dask = str(_tiny_spec(ws, 'backend = "dask"\n' + TINY + '[backend_options]\nworkers = 2\n', "on_dask").resolve())
    assert _spec_on(ws, on_dask, "dask", {}).backend_options == {"workers": 2}  # the spec's own: kept
    assert _spec_on(ws, on_dask, "dask", {"dashboard": "true"}).backend_options == {"workers": 2, "dashboard": "true"}
    moved = _spec_on(ws, on_dask, "local", {})
    assert moved.backend == "local" and moved.backend_options == {}  # meant for dask: dropped


def test_the_workspace_default_back_end_counts_as_the_specs(sample_workspace: Workspace) -> None:
    settings = sample_workspace.root / "workbench.toml"
    settings.write_text(settings.read_text().replace('default_backend = "local"', 'default_backend = "template"'))
    ws = Workspace.load(sample_workspace.root)
    plain = str(SPECS / "penguin_species.toml")
    assert spec_backend(plain, ws.settings.default_backend).name == "template"
    assert _spec_on(ws, plain, "template", {}).backend == "template"
    assert _spec_on(ws, plain, "local", {}).backend == "local"


def test_the_tui_starts_runs_without_running_the_cli(sample_workspace: Workspace, monkeypatch) -> None:
    """Starting a run is a core call: no `workbench batch` subprocess, whose stderr the TUI used to scrape."""
    import subprocess

    from workbench.tui.runs.launcher import launch_detached

    started: list[list[str]] = []
    real = subprocess.Popen

    def popen(args, *a, **kw):  # type: ignore[no-untyped-def]
        started.append([str(x) for x in args])
        return real(args, *a, **kw)

    monkeypatch.setattr(subprocess, "Popen", popen)
    spec = _tiny_spec(sample_workspace)
    ok, text = launch_detached(sample_workspace, str(spec))
    assert ok, text
    assert not [cmd for cmd in started if "batch" in cmd]  # no `workbench batch` to scrape
    assert [cmd[1:3] for cmd in started if "-m" in cmd] == [["-m", "workbench.runs.worker"]]  # the run's own worker
    bad = _tiny_spec(sample_workspace, TINY.replace('table = "penguins"', 'table = "nope"'), "bad")
    ok, text = launch_detached(sample_workspace, str(bad))
    assert not ok and "nope" in text and not text.startswith("Error")


def test_spec_backend_reads_the_spec_then_the_default(tmp_path: Path) -> None:
    spec = tmp_path / "s.toml"
    spec.write_text('target = "y"\nbackend = "dask"\n[backend_options]\nworkers = 2\n[data]\ntable = "t"\n')
    assert spec_backend(spec, "local").name == "dask" and spec_backend(spec, "local").options == {"workers": 2}
    spec.write_text('target = "y"\n[data]\ntable = "t"\n')
    assert spec_backend(spec, "template").name == "template"
    spec.write_text("not = [valid toml")
    assert spec_backend(spec, "local").name == "local"  # the run itself reports the broken spec
    assert spec_backend(tmp_path / "missing.toml", "local").name == "local"
