"""End to end: a cron pipeline trains a tiny spec through the run engine, registers it as the challenger,
evaluates it against the champion on the challenger's frozen holdout, and opens a promotion request when it
wins by the policy's margin. The request names the scheduler's login as requester (via the pipeline) and
still needs someone else to approve it."""

from __future__ import annotations

import pytest
from pipeline_fixtures import (as_user, at, declared_team, events, http_sink, set_policy,  # noqa: F401
                               species_spec, train, write_pipeline)

from workbench.registry.promotion import PolicyError, approve_request, request_promotion
from workbench.registry.refs import parse_ref
from workbench.registry.register import register_run
from workbench.registry.store import RegistryStore
from workbench.scheduler.clock import ManualClock
from workbench.scheduler.service import serve

SPEC = species_spec("species_nightly")
PIPELINE = """description = "Retrain species nightly"
[trigger]
cron = "0 2 * * *"

[[steps]]
kind = "train"
spec = "specs/species_nightly.toml"
model = "species"

[[steps]]
kind = "evaluate"
"""


@pytest.fixture
def weak_champion(sample_workspace, monkeypatch):
    """`species` v1 is a champion that sees only island and year (so a full-feature challenger beats it
    on any rows); requested by alice, approved by bob."""
    ws = as_user(monkeypatch, declared_team(sample_workspace), "alice")
    run = train(ws, seed=7, exclude_columns=["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g",
                                              "sex"])
    register_run(ws, run, name="species")
    request = request_promotion(ws, parse_ref("species:1"), "champion", "first model")
    approve_request(as_user(monkeypatch, ws, "bob"), request["id"])
    (ws.root / "specs").mkdir(exist_ok=True)
    (ws.root / "specs" / "species_nightly.toml").write_text(SPEC)
    write_pipeline(ws, "nightly", PIPELINE)
    return as_user(monkeypatch, ws, "sched")  # the login the scheduler runs as


@pytest.mark.slow
def test_cron_pipeline_trains_challenger_and_opens_a_request_it_cannot_approve(weak_champion, monkeypatch) -> None:
    ws = weak_champion
    serve(ws, ManualClock(at("2026-03-01T01:59:30+00:00")), poll_s=600, until=at("2026-03-01T02:00:30+00:00"))

    (finished,) = events(ws, "pipeline.finished", "nightly")
    assert finished["outcome"] == "succeeded", finished
    train_step, evaluate_step = events(ws, "pipeline.step_finished", "nightly")
    run_id = train_step["result"]["run_id"]
    with RegistryStore.open(ws) as store:
        assert store.aliases("species")["challenger"]["version"] == 2
        assert store.aliases("species")["champion"]["version"] == 1  # nothing moved by itself
        (request,) = store.requests(model="species", state="open")
        (evaluation, *_) = store.evaluations("species")
    assert train_step["result"]["version"] == 2
    assert evaluation["data_source"] == "holdout of species:2"  # both scored on the challenger's frozen rows
    result = evaluate_step["result"]
    assert result["wins"] and result["challenger_score"] < result["champion_score"]  # log loss: lower wins
    assert result["request"] == request["id"] and request["requested_by"] == "sched"
    (requested,) = [e for e in events(ws, "model.promotion_requested") if e["request"] == request["id"]]
    assert requested["via"] == "pipeline:nightly" and requested["verdict"] == "candidate better"
    run_events = [e for e in events(ws, "run.finished") if e.get("artifact")]
    assert any(run_id in e["artifact"] for e in run_events)  # the run went through the run engine's records

    with pytest.raises(PolicyError, match="four-eyes"):  # the scheduler's login cannot approve its own request
        approve_request(ws, request["id"])
    approved = approve_request(as_user(monkeypatch, ws, "bob"), request["id"])
    assert approved["state"] == "approved"


@pytest.mark.slow
def test_no_request_when_the_margin_is_not_met(weak_champion, monkeypatch) -> None:
    ws = set_policy(weak_champion, "[governance]\nchallenger_margin = 1000.0\n")
    ws = as_user(monkeypatch, ws, "sched")
    serve(ws, ManualClock(at("2026-03-01T01:59:30+00:00")), poll_s=600, until=at("2026-03-01T02:00:30+00:00"))
    (_, evaluate_step) = events(ws, "pipeline.step_finished", "nightly")
    assert evaluate_step["result"]["wins"] is False and evaluate_step["result"]["request"] is None
    with RegistryStore.open(ws) as store:
        assert store.requests(model="species", state="open") == []


@pytest.mark.slow
def test_governance_report_names_the_pipeline_retrain_and_its_open_request(weak_champion, cli) -> None:
    import json

    from workbench.governance.report import governance_report

    ws = weak_champion
    serve(ws, ManualClock(at("2026-03-01T01:59:30+00:00")), poll_s=600, until=at("2026-03-01T02:00:30+00:00"))
    report = governance_report(ws)
    assert report.audit_verified, report.audit_summary  # pipeline events and their run links verify
    (species,) = report.models
    assert species.last_retrain["version"] == 2 and species.last_retrain["via"] == "pipeline:nightly"
    assert species.last_retrain["by"] == "sched"
    (open_request,) = species.open_request_list
    assert open_request["via"] == "pipeline:nightly" and open_request["requested_by"] == "sched"
    assert species.last_evaluation["best_version"] == 2  # the pipeline's evaluation is the newest one
    shown = cli("-w", str(ws.root), "governance", "report", "--json", env={"WORKBENCH_USER": "sched"})
    model = json.loads(shown.stdout)["models"][0]
    assert model["last_retrain"]["via"] == "pipeline:nightly" and model["open_request_list"][0]["id"] == open_request["id"]
    text = cli("-w", str(ws.root), "governance", "report", env={"WORKBENCH_USER": "sched"}).stdout
    assert "last retrain v2" in text and "(pipeline:nightly), awaiting approval" in text


@pytest.mark.slow
def test_a_score_step_on_drifted_rows_alerts(weak_champion, http_sink, tmp_path) -> None:
    import polars as pl
    from pipeline_fixtures import configure_alerts

    from workbench.lake.engine import open_lake
    from workbench.lake.ingest import ingest_files
    from workbench.pipelines.run import run_pipeline
    from workbench.pipelines.spec import load_pipeline

    ws = configure_alerts(weak_champion, url=http_sink.url)
    shifted = tmp_path / "penguins_shifted.parquet"
    frame = pl.read_parquet(_sample_penguins())
    frame.with_columns(pl.lit("Biscoe").alias("island"), (pl.col("year") + 15).alias("year")).write_parquet(shifted)
    with open_lake(ws) as lake:
        ingest_files(lake, [shifted], table="penguins_shifted", replace=True, actor=ws.actor)
    write_pipeline(ws, "score", '[[steps]]\nkind = "score"\nmodel = "species@champion"\n'
                                'table = "penguins_shifted"\ninto = "species_scored"\n')
    outcome = run_pipeline(ws, load_pipeline(ws, "score"))
    assert outcome.ok
    drifted = outcome.steps[0]["result"]["drifted"]
    assert drifted, outcome.steps
    (post,) = http_sink.received
    assert post["body"]["condition"] == "drift:species:penguins_shifted"
    assert set(post["body"]["details"]["features"]) == set(drifted)


def _sample_penguins() -> str:
    from pipeline_fixtures import SAMPLE_DATA

    return str(SAMPLE_DATA / "penguins.parquet")
