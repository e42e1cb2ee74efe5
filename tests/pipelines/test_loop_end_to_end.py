"""The whole loop, with real parts only: a declared source folder feeds `penguins`, expectations check each
new version, a cron pipeline refreshes the source, and a pipeline triggered by `lake.certified` retrains,
registers a challenger, evaluates it on its frozen holdout and opens a promotion request (which still needs
an approver). Then a file that breaks the expectations arrives: the version is recorded as failed, nothing is
certified, nothing retrains, `workbench batch` refuses the spec, and the alerts reach a real HTTP server and
a real SMTP server. The scheduler runs on a manual clock; `workbench audit verify` passes at the end."""

from __future__ import annotations

import shutil

import polars as pl
import pytest
from pipeline_fixtures import (
    SAMPLE_DATA,
    species_spec,
    SMTP_PASSWORD,
    WEBHOOK_TOKEN,
    as_user,
    at,
    configure_alerts,
    declared_team,
    events,
    http_sink,  # noqa: F401 - a fixture
    smtp_sink,  # noqa: F401 - a fixture
    train,
    write_pipeline,
)

from workbench.lake.catalog import table_versions
from workbench.lake.engine import open_lake
from workbench.registry.promotion import PolicyError, approve_request, request_promotion
from workbench.registry.refs import parse_ref
from workbench.registry.register import register_run
from workbench.registry.store import RegistryStore
from workbench.scheduler.clock import ManualClock
from workbench.scheduler.service import serve

EXPECTATIONS = """min_rows = 300
[schema]
species = "VARCHAR"
body_mass_g = "BIGINT"
[columns.species]
not_null = true
allowed = ["Adelie", "Chinstrap", "Gentoo"]
[columns.body_mass_g]
min = 2000
max = 7000
max_missing = 0.05
"""
SPEC = species_spec("species_retrain")
INGEST = """description = "Look for new penguin files every quarter hour"
[trigger]
cron = "*/15 * * * *"

[[steps]]
kind = "refresh"
source = "penguins"
"""
RETRAIN = """description = "Retrain species on every certified version of penguins"
[trigger]
certified = "penguins"

[[steps]]
kind = "train"
spec = "specs/species_retrain.toml"
model = "species"

[[steps]]
kind = "evaluate"
promote = true
"""


@pytest.fixture
def loop_workspace(sample_workspace, http_sink, smtp_sink, monkeypatch):
    """penguins fed by `incoming/penguins/` (its current file), with expectations (v1 certified), a weak
    champion `species` v1 (alice requested, bob approved), the two pipelines, and alerts to both sinks."""
    from workbench.checks.run import check_table
    from workbench.sources.declare import add_source

    monkeypatch.setenv("WB_WEBHOOK_TOKEN", WEBHOOK_TOKEN)
    monkeypatch.setenv("WB_SMTP_PASSWORD", SMTP_PASSWORD)
    ws = as_user(monkeypatch, declared_team(sample_workspace), "alice")
    ws = configure_alerts(ws, url=http_sink.url, smtp_port=smtp_sink.port)
    incoming = ws.root / "incoming" / "penguins"
    incoming.mkdir(parents=True)
    shutil.copy(SAMPLE_DATA / "penguins.parquet", incoming / "part-000.parquet")
    add_source(ws, "penguins", "penguins", path="incoming/penguins")
    (ws.root / "expectations").mkdir()
    (ws.root / "expectations" / "penguins.toml").write_text(EXPECTATIONS)
    assert check_table(ws, "penguins").certified  # v1, before any scheduler: it triggers nothing

    run = train(ws, seed=7, exclude_columns=["bill_length_mm", "bill_depth_mm", "flipper_length_mm",
                                              "body_mass_g", "sex"])  # sees island and year only: weak
    register_run(ws, run, name="species")
    request = request_promotion(ws, parse_ref("species:1"), "champion", "first model")
    approve_request(as_user(monkeypatch, ws, "bob"), request["id"])

    (ws.root / "specs").mkdir()
    (ws.root / "specs" / "species_retrain.toml").write_text(SPEC)
    write_pipeline(ws, "ingest", INGEST)
    write_pipeline(ws, "retrain", RETRAIN)
    return as_user(monkeypatch, ws, "sched")  # the login the scheduler runs as


def _versions(ws) -> list[tuple[int, int | None, str | None]]:
    with open_lake(ws, read_only=True) as lake:
        return [(v.version, v.row_count, v.source) for v in table_versions(lake, "penguins")]


@pytest.mark.slow
def test_the_loop_end_to_end(loop_workspace, http_sink, smtp_sink, cli, monkeypatch) -> None:
    ws = loop_workspace
    original = pl.read_parquet(SAMPLE_DATA / "penguins.parquet")
    incoming = ws.root / "incoming" / "penguins"

    # 1. New, good rows arrive; the 02:00 slot refreshes the source and the certification retrains.
    original.head(40).with_columns(pl.col("year") + 3).write_parquet(incoming / "part-001.parquet")
    serve(ws, ManualClock(at("2026-03-01T01:59:30+00:00")), poll_s=600, until=at("2026-03-01T02:00:30+00:00"))

    (refreshed,) = [e for e in events(ws, "source.refreshed") if e.get("via")]
    assert refreshed["changed"] and refreshed["version"] == 2 and refreshed["via"] == "pipeline:ingest"
    checked = events(ws, "lake.checked", "penguins")
    assert [(c["version"], c["passed"]) for c in checked] == [(1, True), (2, True)]
    assert checked[-1]["trigger"] == "source penguins via pipeline:ingest"
    certified = events(ws, "lake.certified", "penguins")
    assert [c["version"] for c in certified] == [1, 2]

    (ingest_started,) = events(ws, "pipeline.started", "ingest")
    assert ingest_started["trigger"]["slot"] == "2026-03-01T02:00:00+00:00"
    (retrain_started,) = events(ws, "pipeline.started", "retrain")
    assert retrain_started["trigger"] == {"kind": "certified", "seq": certified[-1]["seq"], "table": "penguins",
                                          "version": 2}
    assert [f["outcome"] for f in events(ws, "pipeline.finished")] == ["succeeded", "succeeded"]

    train_step, evaluate_step = events(ws, "pipeline.step_finished", "retrain")
    run_id = train_step["result"]["run_id"]
    with RegistryStore.open(ws) as store:
        aliases = store.aliases("species")
        (request,) = store.requests(model="species", state="open")
        (evaluation, *_) = store.evaluations("species")
    assert aliases["challenger"]["version"] == 2 and aliases["champion"]["version"] == 1  # nothing moved itself
    assert evaluation["data_source"] == "holdout of species:2"  # both scored on the challenger's frozen rows
    result = evaluate_step["result"]
    assert result["wins"] and result["challenger_score"] < result["champion_score"]  # log loss: lower wins
    assert result["request"] == request["id"] and request["requested_by"] == "sched"
    (requested,) = [e for e in events(ws, "model.promotion_requested") if e["request"] == request["id"]]
    assert requested["via"] == "pipeline:retrain"
    with pytest.raises(PolicyError, match="four-eyes"):  # it still needs an approver
        approve_request(ws, request["id"])
    _assert_trained_on(ws, run_id, table="penguins", version=2)
    assert approve_request(as_user(monkeypatch, ws, "bob"), request["id"])["state"] == "approved"
    ws = as_user(monkeypatch, ws, "sched")
    with RegistryStore.open(ws) as store:
        assert store.aliases("species")["champion"]["version"] == 2  # the loop closed, by a second person
    assert http_sink.received == [] and smtp_sink.messages == []  # nothing went wrong yet

    # 2. A file that breaks the expectations arrives; the 02:15 slot refreshes it and stops there.
    bad = original.head(5).with_columns(pl.lit("Unicorn").alias("species"), pl.lit(99_999).alias("body_mass_g"))
    bad.write_parquet(incoming / "part-002.parquet")
    serve(ws, ManualClock(at("2026-03-01T02:14:30+00:00")), poll_s=600, until=at("2026-03-01T02:15:30+00:00"))

    failed = events(ws, "lake.checked", "penguins")[-1]
    assert failed["version"] == 3 and failed["passed"] is False and failed["outcome"] == "failed"
    assert any(f.startswith("species has 5 values outside the allowed set") for f in failed["failures"])
    assert any(f.startswith("body_mass_g has 5 values above 7000") for f in failed["failures"]), failed
    assert [c["version"] for c in events(ws, "lake.certified", "penguins")] == [1, 2]  # v3 is not certified
    versions = _versions(ws)
    assert [(v, rows) for v, rows, _ in versions] == [(1, 344), (2, 384), (3, 389)]  # each a whole snapshot
    assert versions[2][2].startswith("source penguins: 3 file(s)")
    _, second_ingest = events(ws, "pipeline.finished", "ingest")
    assert second_ingest["outcome"] == "failed" and "failed its checks" in second_ingest["error"]
    assert not second_ingest["error"].endswith("..")  # each failure is a sentence: no doubled full stop
    assert len(events(ws, "pipeline.started", "retrain")) == 1  # no certification, no retrain
    with RegistryStore.open(ws) as store:
        assert len(store.versions("species")) == 2  # no new challenger

    conditions = [p["body"]["condition"] for p in http_sink.received]
    assert conditions == ["check:penguins", "pipeline:ingest:failed"]
    check_alert = http_sink.received[0]
    assert check_alert["authorization"] == f"Bearer {WEBHOOK_TOKEN}"
    assert check_alert["body"]["details"]["version"] == 3
    assert check_alert["body"]["details"]["trigger"] == "source penguins via pipeline:ingest"
    assert len(smtp_sink.messages) == 2 and "penguins version 3 failed its checks" in smtp_sink.messages[0]["data"]
    assert [s["subject"] for s in events(ws, "alert.sent")] == ["check:penguins", "pipeline:ingest:failed"]

    spec = ws.root / "specs" / "species_retrain.toml"
    before = len(events(ws, "run.started"))
    refused = cli("-w", str(ws.root), "batch", str(spec), "--quiet")
    assert refused.returncode == 2, refused.stderr
    assert "penguins version 3 failed its checks" in refused.stderr
    assert len(events(ws, "run.started")) == before  # refused before anything was recorded

    verified = cli("-w", str(ws.root), "audit", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr


def _assert_trained_on(ws, run_id: str, *, table: str, version: int) -> None:
    """The retrain's run read `table@version` (from the run's own `run.started` event)."""
    import json

    from workbench.audit import AuditLog

    with AuditLog(ws.audit_path, ws.root) as log:
        (data_version, params), = log.conn.execute(
            "SELECT data_version, params FROM events WHERE run_id = ? AND kind = 'run.started'", [run_id]).fetchall()
    assert json.loads(params)["spec"]["data"]["table"] == table and data_version == version


def test_pipelines_may_name_a_table_that_its_source_creates_on_the_first_refresh(empty_workspace) -> None:
    """A new workspace: source, expectations and both pipelines declared before the table exists. The
    scheduler starts (the files are valid), the first slot creates and certifies the table, and that
    certification runs the downstream pipeline."""
    from workbench.pipelines.spec import load_pipelines
    from workbench.sources.declare import add_source

    ws = empty_workspace
    (ws.root / "incoming").mkdir()
    (ws.root / "incoming" / "day1.csv").write_text("id,temp\n1,12.5\n2,14.0\n")
    add_source(ws, "readings", "readings", path="incoming")
    (ws.root / "expectations").mkdir()
    (ws.root / "expectations" / "readings.toml").write_text("min_rows = 1\n[columns.temp]\nnot_null = true\n")
    write_pipeline(ws, "ingest", '[trigger]\ncron = "0 2 * * *"\n[[steps]]\nkind = "refresh"\nsource = "readings"\n')
    write_pipeline(ws, "downstream", '[trigger]\ncertified = "readings"\n[[steps]]\nkind = "check"\n'
                                     'table = "readings"\n')
    assert sorted(load_pipelines(ws)) == ["downstream", "ingest"]

    serve(ws, ManualClock(at("2026-03-01T01:59:30+00:00")), poll_s=600, until=at("2026-03-01T02:00:30+00:00"))
    assert [(f["subject"], f["outcome"]) for f in events(ws, "pipeline.finished")] == [
        ("ingest", "succeeded"), ("downstream", "succeeded")]
    assert [c["trigger"] for c in events(ws, "lake.checked", "readings")] == [
        "source readings via pipeline:ingest", "pipeline:downstream"]
