"""Batch scoring: written as a new lake table version, refused (with nothing written) on bad input."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest

from registry_fixtures import lake_snapshots, two_versions, with_champion  # noqa: F401  (fixtures)
from workbench.errors import BadInputError, LakeError
from workbench.registry.artifacts import ArtifactIntegrityError
from workbench.registry.drift import compare_to_reference, psi, reference_profile
from workbench.registry.predict import predict
from workbench.registry.refs import parse_ref
from workbench.registry.store import RegistryStore
from workbench.workspace import Workspace


def _table_names(ws: Workspace) -> set[str]:
    from workbench.lake.catalog import list_tables
    from workbench.lake.engine import open_lake

    with open_lake(ws) as lake:
        return {t.name for t in list_tables(lake)}


def test_predict_writes_a_versioned_table_with_probabilities_and_lineage(with_champion: Workspace, cli) -> None:
    from workbench.audit import AuditLog
    from workbench.lake.catalog import latest_version
    from workbench.lake.engine import open_lake

    ws = with_champion
    result = predict(ws, parse_ref("species"), table="penguins", into="species_scores")
    assert (result.model, result.version, result.rows, result.table_version) == ("species", 1, 344, 1)
    assert not result.drifted and all(d.psi == 0 for d in result.drift)  # its own training data
    with open_lake(ws) as lake:
        frame = lake.cursor().execute("SELECT * FROM species_scores").pl()
        written = latest_version(lake, "species_scores")
    proba = [c for c in frame.columns if c.startswith("probability_")]
    assert sorted(proba) == ["probability_Adelie", "probability_Chinstrap", "probability_Gentoo"]
    assert np.allclose(frame.select(proba).sum_horizontal().to_numpy(), 1.0)
    assert set(frame["model_version"]) == {1} and set(frame["model_name"]) == {"species"}
    assert frame["scored_at"].n_unique() == 1 and (frame["prediction"] == frame["species"]).mean() > 0.9
    assert written.actor == "alice" and "species:1" in written.source
    with AuditLog(ws.audit_path, ws.root) as log:
        event = log.events(kind="model.predicted")[0]
    assert event.params["into"] == "species_scores" and event.params["table_version"] == 1
    # a second batch into the same table is a new version, only with --replace
    with pytest.raises(LakeError, match="--replace"):
        predict(ws, parse_ref("species:2"), table="penguins", into="species_scores")
    again = cli("-w", str(ws.root), "models", "predict", "species:2", "--query", "SELECT * FROM penguins LIMIT 10",
                "--into", "species_scores", "--replace", "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["table_version"] == 2


def test_predict_refuses_a_tampered_artifact_and_writes_nothing(with_champion: Workspace, cli) -> None:
    ws = with_champion
    with RegistryStore.open(ws) as store:
        artifact = ws.root / store.get_version("species", 1)["artifact_path"]
    data = bytearray(artifact.read_bytes())
    data[len(data) // 2] ^= 0xFF
    artifact.write_bytes(bytes(data))
    snapshots = lake_snapshots(ws)
    with pytest.raises(ArtifactIntegrityError, match="will not be loaded"):
        predict(ws, parse_ref("species@champion"), table="penguins", into="out")
    out = cli("-w", str(ws.root), "models", "predict", "species", "--table", "penguins", "--into", "out")
    assert out.returncode == 1 and "SHA-256" in out.stderr and "Traceback" not in out.stderr
    assert "out" not in _table_names(ws) and lake_snapshots(ws) == snapshots


def test_predict_names_missing_and_mistyped_columns_and_writes_nothing(with_champion: Workspace, cli) -> None:
    ws = with_champion
    snapshots = lake_snapshots(ws)
    with pytest.raises(BadInputError) as err:
        predict(ws, parse_ref("species"), query="SELECT * EXCLUDE (sex, flipper_length_mm) FROM penguins", into="out")
    assert "missing column(s) flipper_length_mm, sex" in err.value.message
    out = cli("-w", str(ws.root), "models", "predict", "species", "--into", "out",
              "--query", "SELECT * REPLACE (CAST(year AS VARCHAR) AS year) FROM penguins")
    assert out.returncode == 2
    assert "mistyped column(s): year is String but the model was trained on Int64" in out.stderr
    assert "out" not in _table_names(ws) and lake_snapshots(ws) == snapshots


def test_predict_reports_drift_on_shifted_rows(with_champion: Workspace) -> None:
    shifted = ("SELECT * REPLACE (bill_length_mm + 15 AS bill_length_mm, "
               "CASE WHEN year = 2007 THEN NULL ELSE sex END AS sex) FROM penguins")
    result = predict(with_champion, parse_ref("species"), query=shifted, into="shifted_scores")
    drifted = {d.feature: d for d in result.drifted}
    assert set(drifted) == {"bill_length_mm", "sex"}
    assert drifted["bill_length_mm"].psi > 0.2
    assert drifted["sex"].scored_missing > drifted["sex"].reference_missing + 0.1


def _profile_and_compare(reference: np.ndarray, scored: np.ndarray) -> float:
    import duckdb

    con = duckdb.connect()
    try:
        con.register("ref", pl.DataFrame({"x": reference, "c": np.where(reference > 0, "a", "b")}).to_arrow())
        con.register("new", pl.DataFrame({"x": scored, "c": np.where(scored > 0, "a", "b")}).to_arrow())
        profile = reference_profile(con, "ref", ["x", "c"], "test")
        drift = {d.feature: d for d in compare_to_reference(con, "new", profile, 0.2, 0.1)}
    finally:
        con.close()
    return drift["x"].psi


def test_psi_exceeds_the_threshold_on_a_shifted_sample_and_not_on_the_same_distribution() -> None:
    rng = np.random.default_rng(0)
    reference = rng.normal(0, 1, 5000)
    same = _profile_and_compare(reference, rng.normal(0, 1, 5000))
    shifted = _profile_and_compare(reference, rng.normal(0.8, 1, 5000))
    assert same < 0.05 < 0.2 < shifted
    assert psi([0.5, 0.5], [0.5, 0.5]) == 0
    assert psi([0.5, 0.5], [0.9, 0.1]) == pytest.approx(0.4 * np.log(0.9 / 0.5) - 0.4 * np.log(0.1 / 0.5))


def test_a_version_needs_only_the_columns_its_pipeline_reads(sample_workspace: Workspace) -> None:
    """A column the spec excluded is not part of the version's inputs: scoring rows without it works, and
    its drift reference leaves it out (before, `serve` and `models predict` demanded `year`)."""
    from registry_fixtures import train

    from workbench import open_workspace
    from workbench.registry.register import register_run

    register_run(sample_workspace, train(sample_workspace, exclude_columns=["year"]), name="species")
    api = open_workspace(sample_workspace.root)
    version = api.registry.get("species:1")
    names = [name for name, *_ in version["features"]]
    assert "year" not in names and "species" not in names
    assert {"island", "bill_length_mm", "sex"} <= set(names)
    rows = api.lake.table("penguins").drop("species", "year").head(10)
    scored = api.registry.predict("species:1", rows)
    assert scored.height == 10 and set(scored["prediction"].to_list()) <= {"Adelie", "Chinstrap", "Gentoo"}
    assert "year" not in json.dumps(version["reference"])
