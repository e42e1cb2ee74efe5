"""What every tab draws, at 80x24 and 160x48, compared with the SVG snapshots in `tests/__snapshots__/`.

pytest-textual-snapshot (Textual's own tool) renders the app and compares the SVG with the stored one; a
difference fails with a report (snapshot_report.html) showing both. After a deliberate change to what the
TUI draws, look at the report, then rewrite the snapshots:

    pytest tests/test_tui_snapshots.py --snapshot-update

The content is fixed: the workspace is built once with a fixed clock, host and event ids, its runs have
fixed ids and times, and the profile's timer is stopped; the header's subtitle names the workspace without
its temporary path.
"""

from __future__ import annotations

import itertools
import shutil
import uuid
from pathlib import Path

import pytest
from textual.widgets import DataTable

from workbench.tui.app import WorkbenchApp
from workbench.workspace import Workspace

from tui_support import record_finished_runs, settle

SIZES = [(80, 24), (160, 48)]

# Twelve app runs of a few seconds each: `make test` runs them, `make test-fast` leaves them out.
pytestmark = pytest.mark.slow


# The workspace is built here, then copied: its path is in its first event, and so in every hash of the chain.
FIXED_ROOT = Path("/tmp/workbench-snapshot-template/ws")


@pytest.fixture(scope="module")
def _fixed_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample workspace, built with a clock, host, event ids and path that are the same on every run."""
    import fcntl

    FIXED_ROOT.parent.mkdir(parents=True, exist_ok=True)
    copy = tmp_path_factory.mktemp("snapshots") / "ws"
    with open(FIXED_ROOT.parent / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another session building the same path waits its turn
        shutil.rmtree(FIXED_ROOT, ignore_errors=True)
        try:
            _build(FIXED_ROOT)
            shutil.copytree(FIXED_ROOT, copy)
        finally:
            shutil.rmtree(FIXED_ROOT, ignore_errors=True)
    return copy


def _build(root: Path) -> None:
    import workbench.audit.log as audit_log
    import workbench.workspace.create as create
    from workbench.workspace.create import init_workspace

    # The ingest events record where the sample files came from: copy them to a fixed path, so the chain's
    # hashes (shown on the Audit tab) do not depend on where the repository was cloned.
    samples = root.parent / "sample_data"
    shutil.rmtree(samples, ignore_errors=True)
    shutil.copytree(create.sample_data_dir(), samples)

    ids = itertools.count(1)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WORKBENCH_USER", "tester")
        mp.delenv("WORKBENCH_SIGNING_KEY", raising=False)  # no key: the founding events carry no random signature
        # One fixed time: a clock that ticks per call made the hashes depend on how many calls a run made
        # (the full suite's CI run made two fewer than a run of this file alone).
        mp.setattr(audit_log, "utc_now", lambda: "2026-12-01T08:00:00.000000Z")
        mp.setattr(audit_log, "current_host", lambda: "snapshot-host")
        mp.setattr(create, "sample_data_dir", lambda: samples)
        mp.setattr(audit_log.uuid, "uuid4", lambda: uuid.UUID(int=next(ids)))
        init_workspace(root, sample=True, name="sample")
        record_finished_runs(Workspace.load(root), 6)


@pytest.fixture
def snapshot_app(_fixed_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> WorkbenchApp:
    import workbench.lake.profile as profile
    import workbench.lake.versus_target as versus_target

    monkeypatch.setattr(profile, "clock", lambda: 0.0)
    monkeypatch.setattr(versus_target, "clock", lambda: 0.0)
    root = tmp_path / "ws"
    shutil.copytree(_fixed_template, root)
    app = WorkbenchApp(Workspace.load(root))
    app.sub_title = "sample"  # not the temporary path
    return app


def _until_settled(*selectors_and_texts: tuple[str, str], rows: str | None = None):  # type: ignore[no-untyped-def]
    """A `run_before` that lets workers finish and waits until each selector shows its text (and the
    DataTable `rows` has rows)."""
    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        app = pilot.app
        await settle(app, pilot, pause=0.2)

        def measured() -> bool:
            # A DataTable sizes its columns to new rows on its next idle; a screenshot taken before then shows
            # the old widths (a loaded machine once caught the preview's name column unwidened).
            return not any(t._require_update_dimensions or t._updated_cells for t in app.screen.query(DataTable))

        def ready() -> bool:
            shown = all(text in str(app.query_one(selector).render()) for selector, text in selectors_and_texts)
            return (shown and bool(app.identity_text) and (rows is None or app.query_one(rows).row_count > 0)
                    and measured())

        for _ in range(600):  # a bound for a loaded machine, not a measure of speed
            if ready():
                break
            await pilot.pause(0.1)
        assert ready(), f"the screen did not settle: {selectors_and_texts} {rows}"  # not a snapshot difference
        await settle(app, pilot, pause=0.2)
    return run_before


def _ids(size: tuple[int, int]) -> str:
    return f"{size[0]}x{size[1]}"


@pytest.mark.parametrize("size", SIZES, ids=_ids)
def test_lake_preview(snap_compare, snapshot_app, size) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(snapshot_app, terminal_size=size,
                        run_before=_until_settled(("#preview PageGrid .grid-caption", "rows 1–16 of 16")))


@pytest.mark.parametrize("size", SIZES, ids=_ids)
def test_lake_profile(snap_compare, snapshot_app, size) -> None:  # type: ignore[no-untyped-def]
    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await _until_settled()(pilot)
        await pilot.press("down", "down", "down", "d")  # penguins: small, with NULLs and every kind of chart
        await _until_settled(("#profile-caption", "complete"))(pilot)

    assert snap_compare(snapshot_app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=_ids)
def test_runs(snap_compare, snapshot_app, size) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(snapshot_app, terminal_size=size, press=["2"], run_before=_until_settled(rows="#runs-table"))


@pytest.mark.parametrize("size", SIZES, ids=_ids)
def test_audit(snap_compare, snapshot_app, size) -> None:  # type: ignore[no-untyped-def]
    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await pilot.press("3")
        await _until_settled(("#chain-status", "✔"), ("#event-detail", "hash"))(pilot)

    assert snap_compare(snapshot_app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=_ids)
def test_models(snap_compare, snapshot_app, size) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(snapshot_app, terminal_size=size, press=["4"], run_before=_until_settled())


@pytest.mark.parametrize("size", SIZES, ids=_ids)
def test_plugins(snap_compare, snapshot_app, size) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(snapshot_app, terminal_size=size, press=["5"],
                        run_before=_until_settled(rows="#plugins-table"))


@pytest.mark.parametrize("size", SIZES, ids=_ids)
def test_pipelines(snap_compare, snapshot_app, size) -> None:  # type: ignore[no-untyped-def]
    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        # A pipeline started by hand and never run: no cron slot or run time, so the drawing is fixed.
        folder = pilot.app.workspace.root / "pipelines"
        folder.mkdir(exist_ok=True)
        (folder / "penguins_checked.toml").write_text('[[steps]]\nkind = "check"\ntable = "penguins"\n',
                                                      encoding="utf-8")
        await pilot.press("6")
        await _until_settled(("#pipeline-detail", "no runs yet"), rows="#pipelines-table")(pilot)

    assert snap_compare(snapshot_app, terminal_size=size, run_before=run_before)
