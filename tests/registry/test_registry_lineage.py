"""Registration: complete lineage, immutability, and refusals that leave the registry unchanged."""

from __future__ import annotations

import json
import sqlite3

import pytest
from registry_fixtures import declared_team, as_user, train, two_versions  # noqa: F401  (fixture)

import workbench
from workbench.errors import BadInputError
from workbench.registry.artifacts import ArtifactIntegrityError
from workbench.registry.register import LINEAGE_FIELDS, register_run, spec_sha256
from workbench.registry.store import RegistryStore, registry_path
from workbench.runs.artifacts import sha256_file
from workbench.runs.records import RunRecords
from workbench.workspace import Workspace


def test_lineage_is_complete_and_matches_the_run_the_lake_and_the_files(two_versions: Workspace) -> None:
    from workbench.audit import AuditLog
    from workbench.lake.catalog import latest_version
    from workbench.lake.engine import open_lake

    ws = two_versions
    with RegistryStore.open(ws) as store:
        v = store.get_version("species", 1)
    assert v is not None
    missing = [f for f in LINEAGE_FIELDS if v.get(f) in (None, "", {}, [])]
    assert not missing, f"lineage fields missing: {missing}"
    with AuditLog(ws.audit_path, ws.root) as log:
        run = RunRecords(log).get_run(v["run_id"])
        registered = [e for e in log.events(kind="model.registered") if e.run_id == v["run_id"]]
    assert run is not None and run["state"] == "succeeded"
    assert v["spec_sha256"] == spec_sha256(json.loads(run["spec"]))
    assert v["artifact_sha256"] == run["artifact_sha256"] == sha256_file(ws.root / v["artifact_path"])
    assert v["holdout_sha256"] == sha256_file(ws.root / v["holdout_path"])
    with open_lake(ws) as lake:
        lake_version = latest_version(lake, "penguins")
    assert (v["data_table"], v["data_version"], v["fingerprint"]) == ("penguins", lake_version.version,
                                                                       lake_version.fingerprint)
    assert v["code"]["workbench_version"] == workbench.__version__ and "scikit-learn" in v["code"]["libraries"]
    assert v["metrics"][v["metric"]] == pytest.approx(v["score"])
    assert {f[0] for f in v["features"]} == {"island", "bill_length_mm", "bill_depth_mm", "flipper_length_mm",
                                              "body_mass_g", "sex", "year"}
    assert v["reference"]["source"].startswith("training data penguins@1") and v["reference"]["rows"] == 344
    assert len(registered) == 1 and registered[0].actor == "alice"
    assert registered[0].params["artifact_sha256"] == v["artifact_sha256"]


def test_versions_are_immutable(two_versions: Workspace) -> None:
    con = sqlite3.connect(registry_path(two_versions))
    try:
        with pytest.raises(sqlite3.DatabaseError, match="immutable"):
            con.execute("UPDATE model_versions SET score = 0 WHERE version = 1")
        with pytest.raises(sqlite3.DatabaseError, match="immutable"):
            con.execute("DELETE FROM model_versions")
    finally:
        con.close()


def test_refusals_leave_the_registry_unchanged(two_versions: Workspace) -> None:
    ws = two_versions
    with RegistryStore.open(ws) as store:
        run_id = store.get_version("species", 1)["run_id"]
    with pytest.raises(BadInputError, match="already version 1"):
        register_run(ws, run_id, name="species")
    with pytest.raises(BadInputError, match="No run"):
        register_run(ws, "nope", name="species")
    with pytest.raises(BadInputError, match="not a valid model name"):
        register_run(ws, run_id, name="bad@name")
    # a tampered artifact is refused at registration, too
    other = train(ws, seed=3)
    from workbench.audit import AuditLog

    with AuditLog(ws.audit_path, ws.root) as log:
        artifact = ws.root / RunRecords(log).get_run(other)["artifact_path"]
    artifact.write_bytes(artifact.read_bytes() + b"x")
    with pytest.raises(ArtifactIntegrityError, match="changed after training"):
        register_run(ws, other, name="species")
    with RegistryStore.open(ws) as store:
        assert [v["version"] for v in store.versions("species")] == [1, 2]


def test_cli_register_list_show(sample_workspace: Workspace, cli, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = as_user(monkeypatch, declared_team(sample_workspace), "alice")
    run_id = train(ws)
    w = str(ws.root)
    out = cli("-w", w, "models", "register", run_id[:15], "--name", "species")
    assert out.returncode == 0, out.stderr
    assert "Registered species:1" in out.stdout
    listed = json.loads(cli("-w", w, "models", "list", "--json").stdout)
    assert listed[0]["model"] == "species" and listed[0]["versions"] == 1
    shown = json.loads(cli("-w", w, "models", "show", "species:1", "--json").stdout)
    assert shown["run_id"] == run_id and shown["registered_by"] == "alice"  # the subprocess inherits WORKBENCH_USER
    bad = cli("-w", w, "models", "show", "species:9")
    assert bad.returncode == 2 and bad.stderr.strip().startswith("Error: Model 'species' has no version 9")
