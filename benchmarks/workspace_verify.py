"""Whole-workspace `audit verify` against chain-only verify, on a workspace the size of a busy team's year:
1,000,000 events, 1,000 runs (with artifact files), 100 registered model versions with aliases and an
approved promotion, and 200 lake snapshots.

    python benchmarks/workspace_verify.py [--events 1000000] [--runs 1000] [--models 100] [--snapshots 200]

Everything is written through Workbench's own core operations (runs through `RunRecords`, models
through `register_run` and the promotion functions, lake versions through the audited ingest); the
filler events are appended in batches like a real log's stage events. Reports medians of 3 runs of
each verify, in one process per repeat (cold SQLite caches are not simulated; the OS cache is warm).
Target (issue 11): whole-workspace verify ≤ 5 s on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))


def build(root: Path, events: int, runs: int, models: int, snapshots: int) -> None:
    import polars as pl

    from audit_log import fake_event  # the same synthetic stage events as the audit-log benchmark
    from workbench.audit import AuditLog
    from workbench.audit.log import utc_now
    from workbench.registry.promotion import approve_request, request_promotion
    from workbench.registry.refs import parse_ref
    from workbench.registry.register import register_run
    from workbench.runs.artifacts import save_frame
    from workbench.runs.records import RunRecords
    from workbench.workspace import Workspace
    from workbench.workspace.create import init_workspace

    key = root.parent / "ssh" / "id"
    key.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    os.environ["WORKBENCH_SIGNING_KEY"] = str(key)  # the founder's key, enrolled by init
    os.environ.pop("WORKBENCH_USER", None)
    ws = init_workspace(root, sample=True, name="bench")
    # alice and bob are played by declared name on one OS account: the founder adopts that policy.
    from workbench.registry.policy import adopt_policy

    ws.settings_path.write_text(ws.settings_path.read_text() + '\n[governance]\nidentity = "declared"\n')
    adopt_policy(Workspace.load(root), "benchmark plays alice and bob")
    os.environ["WORKBENCH_USER"] = "alice"
    ws = Workspace.load(root)
    t0 = time.perf_counter()
    _lake_versions(ws, snapshots - 6, root)  # the sample made 6
    print(f"  lake: {snapshots} snapshots in {time.perf_counter() - t0:.1f} s", flush=True)

    t0 = time.perf_counter()
    from workbench.pipeline.spec import parse_spec
    from workbench.runs.batch import run_spec

    spec = {"name": "bench", "target": "species", "metric": "log_loss", "holdout": 0.25, "seed": 7,
            "candidates": ["linear"], "max_trials": 2, "data": {"table": "penguins"}}
    real = run_spec(ws, parse_spec(spec))  # one real model; the other runs carry copies of its files
    model_bytes = (ws.root / real.artifact_path).read_bytes()
    holdout = pl.read_parquet(ws.root / real.holdout_path)
    run_ids = []
    with AuditLog(ws.audit_path, ws.root) as log:
        records = RunRecords(log)
        common = dict(actor="alice", data_version=1, fingerprint="f" * 64)
        for i in range(runs - 1):
            run_id = f"20261201-{i:06d}-bench"
            run_dir = ws.artifacts_dir / run_id
            run_dir.mkdir(parents=True)
            model_sha = _write(run_dir / "model.joblib", model_bytes)
            holdout_sha = save_frame(holdout, run_dir / "holdout.parquet")
            art, hold = f"artifacts/{run_id}/model.joblib", f"artifacts/{run_id}/holdout.parquet"
            records.upsert_run(run_id, name="bench", state="queued", actor="alice", spec=json.dumps(spec),
                               queued_at=utc_now(), event=dict(kind="run.queued", subject="bench", outcome="queued",
                                                               params={"spec": spec}, run_id=run_id, **common))
            records.transition_run(run_id, "running", from_states=("queued",), data_source="penguins@1",
                                   data_version=1, fingerprint="f" * 64, row_count=344, started_at=utc_now(),
                                   event=dict(kind="run.started", subject="bench", outcome="running",
                                              params={"spec": spec, "libraries": {}}, **common))
            records.transition_run(run_id, "succeeded", from_states=("running",), finished_at=utc_now(),
                                   task="multiclass", metric="log_loss", best_model="linear", best_score=0.1,
                                   artifact_path=art, artifact_sha256=model_sha, leaderboard="[]",
                                   event=dict(kind="run.finished", subject="bench", outcome="succeeded",
                                              params={"metric": "log_loss", "best_model": "linear",
                                                      "best_score": 0.1, "leaderboard": [], "artifact": art,
                                                      "artifact_sha256": model_sha, "holdout": hold,
                                                      "holdout_sha256": holdout_sha}, **common))
            run_ids.append(run_id)
    print(f"  runs: {runs} in {time.perf_counter() - t0:.1f} s", flush=True)

    t0 = time.perf_counter()
    for i in range(models):
        register_run(ws, run_ids[i], name=f"model_{i % 25}")
    request = request_promotion(ws, parse_ref("model_0:1"), "champion", "benchmark")
    os.environ["WORKBENCH_USER"] = "bob"
    approve_request(Workspace.load(root), request["id"])
    print(f"  registry: {models} versions in {time.perf_counter() - t0:.1f} s", flush=True)

    t0 = time.perf_counter()
    rng = random.Random(5)
    with AuditLog(ws.audit_path, ws.root) as log:
        have = log.head()[0]
        while have < events:
            n = min(10_000, events - have)
            log.record_many([{**fake_event(rng, have + j), "kind": "run.stage"} for j in range(n)])
            have += n
    print(f"  filler events to {events:,} in {time.perf_counter() - t0:.1f} s", flush=True)


def _write(path: Path, data: bytes) -> str:
    import hashlib

    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def _lake_versions(ws, count: int, scratch: Path) -> None:
    """`count` more lake snapshots, each one audited ingest of a small table (the real write path)."""
    import polars as pl

    from workbench.lake.engine import open_lake
    from workbench.lake.operations import ingest

    src = scratch.parent / "bench_src"
    src.mkdir(exist_ok=True)
    with open_lake(ws) as lake:
        for i in range(count):
            path = src / f"t{i % 20}.parquet"
            pl.DataFrame({"x": list(range(i, i + 50)), "y": [float(i)] * 50}).write_parquet(path)
            ingest(lake, [path], table=f"bench_{i % 20}", replace=True, actor="alice")


def time_verify(root: Path, args: list[str], repeat: int) -> float:
    """Median wall seconds of `workbench audit verify ARGS` as a fresh process (what a user waits for)."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = subprocess.run([sys.executable, "-m", "workbench", "-w", str(root), "audit", "verify", *args],
                             capture_output=True, text=True)
        times.append(time.perf_counter() - t0)
        if out.returncode != 0:
            raise SystemExit(f"verify failed: {out.stdout[-2000:]} {out.stderr[-2000:]}")
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=1_000)
    ap.add_argument("--models", type=int, default=100)
    ap.add_argument("--snapshots", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", type=Path, help="Keep the workspace here (default: a temp dir, removed).")
    ap.add_argument("--reuse", action="store_true", help="With --out: time the workspace already built there.")
    a = ap.parse_args()
    work = a.out or Path(tempfile.mkdtemp(prefix="wb-verify-bench-"))
    root = work / "ws"
    try:
        print(f"building: {a.events:,} events, {a.runs:,} runs, {a.models} models, {a.snapshots} snapshots",
              flush=True)
        if not (a.reuse and root.exists()):
            build(root, a.events, a.runs, a.models, a.snapshots)
        print(f"load average before timing: {os.getloadavg()[0]:.2f}", flush=True)
        chain = time_verify(root, ["--chain-only"], a.repeat)
        whole = time_verify(root, [], a.repeat)
        no_art = time_verify(root, ["--no-artifacts"], a.repeat)
        thorough = time_verify(root, ["--thorough"], a.repeat)
        out = subprocess.run([sys.executable, "-m", "workbench", "-w", str(root), "audit", "verify", "--json"],
                             capture_output=True, text=True)
        parts = json.loads(out.stdout)["timings_s"]
        print(f"\n| verify | median of {a.repeat} (s) | vs chain-only |\n| --- | --- | --- |")
        print(f"| chain only | {chain:.2f} | 1.00× |")
        print(f"| whole workspace, no artifact hashing | {no_art:.2f} | {no_art / chain:.2f}× |")
        print(f"| whole workspace | {whole:.2f} | {whole / chain:.2f}× |  (target ≤ 5 s)")
        print(f"| whole workspace, --thorough (search index row by row) | {thorough:.2f} | {thorough / chain:.2f}× |")
        print("parts of one whole-workspace verify (s): " + ", ".join(f"{k} {v:.2f}" for k, v in parts.items()))
        print(f"load average after: {os.getloadavg()[0]:.2f}")
    finally:
        if a.out is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
