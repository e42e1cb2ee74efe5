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
    """Play `user` by declared name (the workspace must allow declared identities: `declared_team`).
    Real OS accounts and signatures are tested in tests/access/."""
    monkeypatch.setenv("WORKBENCH_USER", user)
    return Workspace.load(ws.root)


_POLICY_MARK = "# --- test policy (registry_fixtures.set_policy) ---"


def set_policy(ws: Workspace, text: str, *, declared: bool = True) -> Workspace:
    """Write `[governance]`/`[registry]` keys (merged with earlier ones) and adopt them as the founder.

    `declared`: also `identity = "declared"`, so tests can play alice and bob on one OS account."""
    import os
    import tomllib

    from workbench.errors import BadInputError
    from workbench.registry.policy import adopt_policy

    body = ws.settings_path.read_text(encoding="utf-8")
    base, _, old = body.partition(_POLICY_MARK)
    merged = tomllib.loads(old)
    for section, values in tomllib.loads(text).items():
        merged.setdefault(section, {}).update(values)
    if declared:
        merged.setdefault("governance", {}).setdefault("identity", "declared")
    lines = [_POLICY_MARK]
    for section, values in merged.items():
        lines.append(f"[{section}]")
        lines += [f"{k} = {_toml(v)}" for k, v in values.items() if not isinstance(v, dict)]
        for k, v in values.items():
            if isinstance(v, dict):
                lines.append(f"[{section}.{k}]")
                lines += [f"{_toml(n)} = {_toml(r)}" for n, r in v.items()]
    ws.settings_path.write_text(base.rstrip() + "\n\n" + "\n".join(lines) + "\n", encoding="utf-8")
    label = os.environ.pop("WORKBENCH_USER", None)  # the founder (the OS account) adopts it
    try:
        adopt_policy(Workspace.load(ws.root), "test policy")
    except BadInputError as exc:
        if "already the one in force" not in str(exc):
            raise
    finally:
        if label is not None:
            os.environ["WORKBENCH_USER"] = label
    return Workspace.load(ws.root)


def _toml(value) -> str:  # noqa: ANN001
    import json

    return json.dumps(value) if not isinstance(value, bool) else str(value).lower()


def declared_team(ws: Workspace) -> Workspace:
    """The workspace plays several people by declared name (`[governance] identity = "declared"`)."""
    return set_policy(ws, "")


@pytest.fixture
def two_versions(sample_workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    """`species` v1 (seed 7) and v2 (seed 11), registered by alice; no aliases yet."""
    from workbench.registry.register import register_run

    ws = as_user(monkeypatch, declared_team(sample_workspace), "alice")
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
