"""`workbench serve` over real HTTP on 127.0.0.1: the same predictions as `models predict`, an alias move switches
the answering version at the next request, bad requests are 4xx with a sentence, tampered artifacts are refused
at start and at switch, and start / switch / refusal / stop are audit events. The server is the real CLI in a
subprocess, on a free port."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import polars as pl
import pytest

from deploy_fixtures import as_user, free_port, two_versions, with_champion  # noqa: F401  (fixtures)
from workbench.workspace import Workspace


def http(port: int, path: str, body: bytes | None = None, content_type: str = "application/json"
         ) -> tuple[int, dict[str, str], Any]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, method="POST" if body is not None
                                     else "GET", headers={"Content-Type": content_type} if body is not None else {})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), json.loads(exc.read())


def post_rows(port: int, rows: list[dict[str, Any]]) -> tuple[int, dict[str, str], Any]:
    return http(port, "/predict", json.dumps({"rows": rows}).encode())


@contextmanager
def serving(ws: Workspace, ref: str, user: str = "alice", *extra: str) -> Iterator[tuple[int, subprocess.Popen[str]]]:
    """The real `workbench serve` in a subprocess; yields once /health answers, stops it as Ctrl-C does."""
    port = free_port()
    env = {**os.environ, "WORKBENCH_USER": user}
    # --stats-every 0: windows close only at a switch and at stop, so the test's counts are exact
    proc = subprocess.Popen([sys.executable, "-m", "workbench", "-w", str(ws.root), "serve", ref, "--port", str(port),
                             "--stats-every", "0", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        for _ in range(600):
            if proc.poll() is not None:
                raise AssertionError(f"serve exited {proc.returncode}: {proc.stderr.read()}")
            try:
                if http(port, "/health")[0] in (200, 503):
                    break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.1)
        yield port, proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=60)


def _events(ws: Workspace, kind: str) -> list[Any]:
    from workbench.audit import AuditLog

    with AuditLog(ws.audit_path, ws.root) as log:
        return list(reversed(log.events(kind=kind)))


def _promote(ws: Workspace, monkeypatch: pytest.MonkeyPatch, ref: str) -> None:
    from workbench.registry.promotion import approve_request, request_promotion
    from workbench.registry.refs import parse_ref

    request = request_promotion(as_user(monkeypatch, ws, "alice"), parse_ref(ref), "champion", "better")
    approve_request(as_user(monkeypatch, ws, "bob"), request["id"])


@pytest.mark.slow
def test_predictions_equal_models_predict_and_an_alias_move_switches_the_version(
        with_champion: Workspace, monkeypatch: pytest.MonkeyPatch, cli) -> None:
    from workbench import open_workspace

    api = open_workspace(with_champion.root)
    rows = api.lake.table("penguins").head(60)
    done = cli("-w", str(with_champion.root), "models", "predict", "species@champion", "--table", "penguins",
               "--into", "scored")
    assert done.returncode == 0, done.stderr
    expected = api.lake.table("scored").head(60)
    with serving(with_champion, "species@champion") as (port, proc):
        status, headers, body = post_rows(port, rows.drop("species").to_dicts())
        assert status == 200 and headers["x-workbench-model"] == "species:1" and body["version"] == 1
        assert headers["x-workbench-engine"] == "onnx"  # the linear pipeline's graph passed its holdout check
        assert body["predictions"] == expected["prediction"].to_list()
        for label in ("Adelie", "Chinstrap", "Gentoo"):
            assert [p[label] for p in body["probabilities"]] == pytest.approx(
                expected[f"probability_{label}"].to_list(), abs=1e-12)
        # an Arrow body (the lake's own dtypes) scores the same
        buf = io.BytesIO()
        rows.write_ipc_stream(buf)
        status, _, arrow = http(port, "/predict", buf.getvalue(), "application/vnd.apache.arrow.stream")
        assert status == 200 and arrow["predictions"] == body["predictions"]
        buf = io.BytesIO()
        rows.write_parquet(buf)
        assert http(port, "/predict", buf.getvalue(), "application/vnd.apache.parquet")[2]["predictions"] == \
            body["predictions"]

        _promote(with_champion, monkeypatch, "species:2")  # the champion moves while the service runs
        status, headers, after = post_rows(port, rows.drop("species").to_dicts()[:5])
        assert status == 200 and headers["x-workbench-model"] == "species:2" and after["version"] == 2
        assert http(port, "/health")[2]["version"] == 2
    assert proc.returncode == 130  # uvicorn shuts down cleanly, then the CLI reports the interrupt (exit contract)
    (started,), (switched,), (stopped,) = (_events(with_champion, k) for k in
                                          ("serve.started", "serve.switched", "serve.stopped"))
    assert started.subject == "species@champion" and started.params["version"] == 1 and started.actor == "alice"
    assert started.params["engine"] == "onnx" and started.params["onnx"]["check"]["rows"] == 86
    assert started.params["onnx"]["check"]["passed"] and switched.params["engine"] == "onnx"
    assert (switched.params["from_version"], switched.params["to_version"]) == (1, 2)
    assert stopped.params["version"] == 2 and stopped.params["requests"] == 4 and stopped.params["rows"] == 185
    # health for governance: one window per version, with its counts, latency and PSI against the training data
    windows = _events(with_champion, "serve.stats")
    assert [(w.params["version"], w.params["requests"], w.params["rows"]) for w in windows] == [(1, 3, 180), (2, 1, 5)]
    features = {name for name, *_ in api.registry.get("species:1")["features"]}
    assert set(windows[0].params["psi"]) == features and windows[0].params["drift_rows"] == 180
    assert windows[0].params["latency_p50_ms"] > 0 and windows[1].params["artifact_sha256"] == \
        api.registry.get("species:2")["artifact_sha256"]
    verify = cli("-w", str(with_champion.root), "audit", "verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr
    # what the Models tab and the governance report show per version, summed from those windows
    from workbench.audit import AuditLog
    from workbench.registry.serving import serving_records

    with AuditLog(with_champion.audit_path, with_champion.root) as log:
        served = serving_records(log)
    v1, v2 = served[("species", 1)], served[("species", 2)]
    assert (v1.requests, v1.rows, v1.windows, v2.requests, v2.rows, v2.windows) == (3, 180, 1, 1, 5, 1)
    assert v1.open_services == v2.open_services == 0  # switched away from, then stopped: nothing left open
    assert v1.worst_p99_ms == windows[0].params["latency_p99_ms"]
    assert v1.last_max_psi == max(windows[0].params["psi"].values())
    assert "3 request(s), 180 row(s), 0 error(s)" in v1.summary()
    assert ("species", 3) not in served


def test_bad_requests_are_4xx_with_one_sentence_and_the_schema_names_the_columns(with_champion: Workspace) -> None:
    from workbench import open_workspace

    good = open_workspace(with_champion.root).lake.table("penguins").head(2).drop("species").to_dicts()
    with serving(with_champion, "species") as (port, _proc):
        cases = [
            (post_rows(port, [{k: v for k, v in r.items() if k != "island"} for r in good]), 422, "missing column(s) island"),
            (post_rows(port, [{**r, "bill_length_mm": "long"} for r in good]), 422, "bill_length_mm"),
            (post_rows(port, [{**good[0], "body_mass_g": "heavy"}]), 422, "body_mass_g is String"),
            (post_rows(port, []), 422, "no rows"),
            (post_rows(port, ["not an object"]), 422, "Row 0"),
            (http(port, "/predict", b"{not json"), 400, "not valid JSON"),
            (http(port, "/predict", b"a=1", "application/x-www-form-urlencoded"), 415, "not accepted"),
            (http(port, "/predict", b"garbage", "application/vnd.apache.parquet"), 400, "not a readable"),
            (http(port, "/predict", json.dumps({"rows": 3}).encode()), 422, "JSON list of objects"),
        ]
        for (status, headers, body), want, words in cases:
            assert status == want and words in body["error"], (status, body)
            assert body["error"].endswith(".") and "\n" not in body["error"]
        assert post_rows(port, [{**good[0], "sex": None}])[0] == 200  # null is an allowed value
        status, _, schema = http(port, "/openapi.json")
        row = schema["components"]["schemas"]["Row"]
        assert status == 200 and schema["openapi"].startswith("3.")
        assert set(row["required"]) == set(good[0]) and row["properties"]["island"]["type"] == ["string", "null"]
        assert row["properties"]["bill_length_mm"]["type"] == ["number", "null"]


@pytest.mark.slow
def test_a_tampered_artifact_is_refused_at_start_and_at_switch(with_champion: Workspace,
                                                              monkeypatch: pytest.MonkeyPatch, cli) -> None:
    from workbench import open_workspace

    api = open_workspace(with_champion.root)
    v1 = with_champion.root / api.registry.get("species:1")["artifact_path"]
    v2 = with_champion.root / api.registry.get("species:2")["artifact_path"]
    original = v1.read_bytes()
    v1.write_bytes(original + b"x")
    done = cli("-w", str(with_champion.root), "serve", "species@champion", "--port", str(free_port()))
    assert done.returncode == 1 and "changed after training and will not be loaded" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and _events(with_champion, "serve.started") == []
    v1.write_bytes(original)

    rows = api.lake.table("penguins").head(3).drop("species").to_dicts()
    with serving(with_champion, "species@champion") as (port, _proc):
        assert post_rows(port, rows)[0] == 200
        _promote(with_champion, monkeypatch, "species:2")
        v2.write_bytes(v2.read_bytes() + b"x")  # swapped after the promotion, before the service switches
        status, _, body = post_rows(port, rows)
        assert status == 503 and "species:2" in body["error"] and "will not be loaded" in body["error"]
        assert http(port, "/health")[0] == 503
        assert post_rows(port, rows)[0] == 503  # never falls back to v1: it is not the champion any more
    (refused,) = _events(with_champion, "serve.refused")
    assert refused.outcome == "refused" and refused.params["version"] == 2
    assert _events(with_champion, "serve.switched") == []


@pytest.mark.slow
def test_the_engine_is_chosen_and_a_version_without_a_checked_graph_is_served_by_its_pipeline(
        with_champion: Workspace, cli) -> None:
    """HistGradientBoosting with native categoricals has no ONNX form: auto serves its pipeline and says why,
    --engine onnx refuses to start; --engine scikit-learn answers exactly as models predict."""
    from workbench import open_workspace
    from workbench.registry.register import register_run

    from deploy_fixtures import train

    register_run(with_champion, train(with_champion, candidates=["hist_gradient_boosting"], max_trials=1),
                 name="species")
    api = open_workspace(with_champion.root)
    assert api.registry.get("species:3")["estimator"].startswith("hist_gradient_boosting")
    rows = api.lake.table("penguins").head(20).drop("species")
    done = cli("-w", str(with_champion.root), "serve", "species:3", "--engine", "onnx", "--port", str(free_port()))
    assert done.returncode == 1 and "has no checked ONNX graph" in done.stderr and "native categorical" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and _events(with_champion, "serve.started") == []
    with serving(with_champion, "species:3") as (port, _proc):
        status, headers, body = post_rows(port, rows.to_dicts())
        assert status == 200 and headers["x-workbench-engine"] == "scikit-learn"
        assert body["predictions"] == api.registry.predict("species:3", rows)["prediction"].to_list()
    (started,) = _events(with_champion, "serve.started")
    assert started.params["engine"] == "scikit-learn" and "native categorical" in started.params["onnx"]["reason"]
    expected = api.registry.predict("species:1", rows)
    with serving(with_champion, "species:1", "alice", "--engine", "scikit-learn") as (port, _proc):
        status, headers, body = post_rows(port, rows.to_dicts())
        assert status == 200 and headers["x-workbench-engine"] == "scikit-learn"
        assert [p["Adelie"] for p in body["probabilities"]] == expected["probability_Adelie"].to_list()


def test_a_busy_port_and_an_unknown_model_are_one_sentence(with_champion: Workspace, cli) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        done = cli("-w", str(with_champion.root), "serve", "species", "--port", str(busy.getsockname()[1]))
    assert done.returncode == 2 and "choose another port with --port" in done.stderr
    done = cli("-w", str(with_champion.root), "serve", "nosuch@champion")
    assert done.returncode == 2 and "No registered model 'nosuch'" in done.stderr
    assert _events(with_champion, "serve.started") == []


def test_the_listening_socket_sends_small_writes_at_once() -> None:
    """TCP_NODELAY on the listener (inherited by each connection): without it every response waited 40 ms for
    the client's delayed ACK between its header and body writes (found by benchmarks/serve.py)."""
    import socket

    from workbench.serve.app import bind

    sock = bind(0)
    try:
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
        assert sock.getsockname()[0] == "127.0.0.1"
    finally:
        sock.close()
