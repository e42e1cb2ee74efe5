"""Registry fixtures: fast real runs (linear candidates only) on the sample penguins table.

Not a conftest.py: a second `conftest` module would shadow tests/conftest.py for `from conftest import ...`.
Test modules import the fixtures they use from here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.workspace import Workspace

SAMPLE_DATA = Path(__file__).resolve().parents[2] / "sample_data"


def train(ws: Workspace, seed: int = 7, target: str = "species", metric: str = "log_loss", **extra) -> str:
    """Run a real (small) spec end to end and return its run id."""
    from workbench.pipeline.spec import parse_spec
    from workbench.runs.batch import run_spec

    raw = {"name": f"penguin_{target}", "target": target, "metric": metric, "holdout": 0.25, "seed": seed,
           "candidates": ["linear"], "max_trials": 3, "data": {"table": "penguins"}, **extra}
    return run_spec(ws, parse_spec(raw)).run_id


def as_user(monkeypatch: pytest.MonkeyPatch, ws: Workspace, user: str) -> Workspace:
    monkeypatch.setenv("WORKBENCH_USER", user)
    return Workspace.load(ws.root)


def set_policy(ws: Workspace, text: str) -> Workspace:
    with open(ws.settings_path, "a", encoding="utf-8") as fh:
        fh.write("\n" + text + "\n")
    return Workspace.load(ws.root)


@pytest.fixture
def two_versions(sample_workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    """`species` v1 (seed 7) and v2 (seed 11), registered by alice; no aliases yet."""
    from workbench.registry.register import register_run

    ws = as_user(monkeypatch, sample_workspace, "alice")
    register_run(ws, train(ws, seed=7), name="species")
    register_run(ws, train(ws, seed=11), name="species")
    return ws


@pytest.fixture
def with_champion(two_versions: Workspace, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    """`species` v1 is champion (requested by alice, approved by bob); the current user is alice again."""
    from workbench.registry.promotion import approve_request, request_promotion
    from workbench.registry.refs import parse_ref

    request = request_promotion(two_versions, parse_ref("species:1"), "champion", "first model")
    approve_request(as_user(monkeypatch, two_versions, "bob"), request["id"])
    return as_user(monkeypatch, two_versions, "alice")


def lake_snapshots(ws: Workspace) -> int:
    from workbench.lake.engine import LAKE_ALIAS, open_lake

    with open_lake(ws) as lake:
        return lake.cursor().execute(f"SELECT count(*) FROM ducklake_snapshots('{LAKE_ALIAS}')").fetchone()[0]


def reingest_penguins(ws: Workspace, tmp_path: Path, rows: int = 300) -> None:
    """Write a new version of `penguins` with fewer rows (the "refreshed" training table)."""
    import polars as pl

    from workbench.lake.engine import open_lake
    from workbench.lake.ingest import ingest_files

    path = tmp_path / "penguins_v2.parquet"
    pl.read_parquet(SAMPLE_DATA / "penguins.parquet").head(rows).write_parquet(path)
    with open_lake(ws) as lake:
        ingest_files(lake, [path], table="penguins", replace=True, actor=ws.actor)
