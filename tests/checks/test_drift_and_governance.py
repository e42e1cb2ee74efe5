"""Drift checks against the data the champion trained on (real runs, real registry), and the governance
report's per-table facts (last refresh, last certification) read from the audit log."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "registry"))

from checks_fixtures import NOW, events, write_expectations
from registry_fixtures import SAMPLE_DATA, two_versions, with_champion  # noqa: F401

from workbench.sources.declare import add_source
from workbench.sources.refresh import refresh_source

pytestmark = pytest.mark.slow  # two real (small) training runs


def test_drift_against_the_champions_training_version(with_champion) -> None:
    import polars as pl

    from workbench.checks.history import table_status
    from workbench.governance.report import governance_report

    ws = with_champion
    penguins = pl.read_parquet(SAMPLE_DATA / "penguins.parquet")
    drops = ws.root / "drops"
    drops.mkdir()
    penguins.sample(fraction=0.9, seed=3).write_parquet(drops / "penguins.parquet")
    write_expectations(ws, "penguins", '[drift]\nmodel = "species"\nmax_psi = 0.25\n')
    add_source(ws, "penguins_feed", "penguins", path="drops")

    same = refresh_source(ws, "penguins_feed", now=NOW)
    assert same.changed and same.version == 2 and same.checks.certified, same.checks.failures
    assert 0 <= same.checks.psi["bill_length_mm"] < 0.25

    penguins.with_columns(pl.col("bill_length_mm") * 1.4).write_parquet(drops / "penguins.parquet")
    drifted = refresh_source(ws, "penguins_feed", now=NOW)
    assert drifted.version == 3 and not drifted.checks.passed
    [failure] = drifted.checks.failures
    assert failure.startswith("bill_length_mm drifted from penguins version 1 (species@champion, v1): PSI ")
    assert drifted.checks.psi["bill_length_mm"] > 0.25
    assert events(ws, "lake.checked")[0].params["psi"]["bill_length_mm"] == drifted.checks.psi["bill_length_mm"]

    status = table_status(ws, "penguins")
    assert (status.version, status.state, status.last_certified_version) == (3, "failed", 2)
    assert status.last_check_result.startswith("failed: bill_length_mm drifted")
    [model] = governance_report(ws, now=NOW).models
    [table] = model.training_tables
    assert table["table"] == "penguins" and table["trained_version"] == 1
    assert table["state"] == "failed" and table["last_certified_version"] == 2
    assert table["last_refresh"] == events(ws, "source.refreshed")[0].ts
