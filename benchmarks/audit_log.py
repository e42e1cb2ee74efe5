"""Audit-log benchmark: append rate, run recording, search (FTS5 vs LIKE vs JSON Lines grep), verify,
first page of the audit view, and concurrent writers — at 1,000,000 events by default.

    python benchmarks/audit_log.py [--events 1000000] [--out DIR] [--tui]

MLflow is measured side by side when `import mlflow` works (e.g. `pip install --target DIR mlflow-skinny
sqlalchemy alembic` and `--extra-path DIR`); otherwise the report says it was skipped.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from workbench.runs.records import RunRecords

ACTORS = ["alice", "bob", "carol", "dmitri", "eve"]
KINDS = ["run.stage"] * 6 + ["run.queued", "run.started", "run.finished", "lake.ingest", "model.registered",
                             "model.approved", "model.rejected", "sql.write", "score.batch", "settings.changed"]
WORDS = ("penguins flights weather churn revenue lightgbm linear forest calibration leakage drift holdout "
         "fraud claims invoices sensors latency retention segment baseline tuning").split()
# Broad words (each matches ~10-25% of events), a conjunction, one run's id (40 events), an indexed filter.
QUERIES = ["leakage", "fraud claims", "calibration AND lightgbm", "024999", "kind:model.rejected"]


def fake_event(rng: random.Random, i: int) -> dict:
    kind = rng.choice(KINDS)
    return {
        "kind": kind, "actor": rng.choice(ACTORS), "subject": rng.choice(WORDS), "run_id": f"run-{i // 40:06d}",
        "outcome": "ok", "data_version": rng.randint(1, 9), "fingerprint": f"{rng.getrandbits(128):032x}",
        "params": {"note": " ".join(rng.choices(WORDS, k=4)), "trial": i % 100, "score": round(rng.random(), 4),
                   "table": rng.choice(WORDS)},
    }


def timed(fn, repeat: int = 5) -> float:
    """Median seconds of `repeat` calls."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _writer_proc(path: str, n: int, name: str) -> None:
    """Child process: n single-event commits; prints 'commits errors seconds'."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from workbench.audit import AuditLog

    errors = 0
    t0 = time.perf_counter()
    with AuditLog(Path(path), Path(path).parent) as log:
        for i in range(n):
            try:
                log.record("run.stage", actor=name, subject="concurrent", params={"i": i})
            except sqlite3.OperationalError:
                errors += 1
    print(n - errors, errors, time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--out", type=Path, help="Keep the generated files here (default: a temp dir, removed).")
    ap.add_argument("--tui", action="store_true", help="Also time the Audit screen's first page on screen (Textual, headless).")
    ap.add_argument("--extra-path", help="Appended to sys.path (e.g. a --target folder holding mlflow-skinny).")
    args = ap.parse_args()
    if args.extra_path:
        sys.path.append(args.extra_path)
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from workbench.audit import AuditLog
    from workbench.audit.log import utc_now

    work = args.out or Path(tempfile.mkdtemp(prefix="wb-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    results: dict[str, object] = {"events": args.events, "sqlite": sqlite3.sqlite_version, "cpus": os.cpu_count(),
                                  "load_avg_at_start": os.getloadavg()[0]}
    db = work / "audit.sqlite"
    for p in work.glob("audit.sqlite*"):
        p.unlink()
    rng = random.Random(7)
    log = AuditLog(db, work)

    # 1. append, batched per run (1,000 events per transaction), with the chain, FTS and redaction
    jsonl = work / "events.jsonl"
    t_append = cpu_append = 0.0
    with open(jsonl, "w", encoding="utf-8") as fh:
        for start in range(0, args.events, 1000):
            batch = [fake_event(rng, i) for i in range(start, min(start + 1000, args.events))]
            t0, c0 = time.perf_counter(), time.process_time()
            log.record_many(batch)
            t_append += time.perf_counter() - t0
            cpu_append += time.process_time() - c0
            for e in batch:
                fh.write(json.dumps(e) + "\n")
    results["append_batched_events_per_s"] = round(args.events / t_append)
    results["append_batched_events_per_cpu_s"] = round(args.events / cpu_append)

    # 2. one event per commit
    n_single = 5000
    t0 = time.perf_counter()
    for i in range(n_single):
        log.record("run.stage", actor="bench", subject="single", params={"i": i})
    results["append_single_events_per_s"] = round(n_single / (time.perf_counter() - t0))

    # 3. recording a run with 20 params and 10 metrics (queued row + event, then finished row + event)
    params = {f"param_{k}": rng.random() for k in range(20)}
    metrics = {f"metric_{k}": rng.random() for k in range(10)}
    n_runs = 300
    t0 = time.perf_counter()
    for i in range(n_runs):
        rid = f"bench-{i:05d}"
        RunRecords(log).upsert_run(rid, name="bench", state="running", actor="bench", started_at=utc_now(),
                       event={"kind": "run.started", "actor": "bench", "params": params})
        RunRecords(log).transition_run(rid, "succeeded", from_states=("running",), best_score=metrics["metric_0"], best_model="linear",
                           metric="rmse", artifact_path=f"artifacts/{rid}/model.joblib", artifact_sha256="0" * 64,
                           leaderboard=json.dumps([{"model": "linear", **metrics}]),
                           event={"kind": "run.finished", "actor": "bench", "params": {"metrics": metrics}})
    results["record_run_20p_10m_ms"] = round((time.perf_counter() - t0) / n_runs * 1000, 3)

    # 4. search: FTS5 newest-50 and bm25 top-50, vs a LIKE scan, vs grep over JSON Lines
    search = {}
    for q in QUERIES:
        if q.startswith("kind:"):
            kind = q.split(":", 1)[1]
            search[q] = {"indexed_ms": round(timed(lambda: log.search(kind=kind, limit=50)) * 1000, 2)}
            continue
        term = q.split()[0]
        search[q] = {
            "fts_newest50_ms": round(timed(lambda: log.search(q, limit=50)) * 1000, 2),
            "fts_bm25_top50_ms": round(timed(lambda: log.search(q, limit=50, rank=True), 3) * 1000, 2),
            "like_newest50_ms": round(timed(lambda: log.conn.execute(
                "SELECT * FROM events WHERE params LIKE ? OR subject LIKE ? ORDER BY seq DESC LIMIT 50",
                [f"%{term}%", f"%{term}%"]).fetchall(), 3) * 1000, 2),
            "like_count_all_ms": round(timed(lambda: log.conn.execute(
                "SELECT count(*) FROM events WHERE params LIKE ? OR subject LIKE ?", [f"%{term}%", f"%{term}%"]).fetchone(), 3) * 1000, 2),
            "jsonl_grep_ms": round(timed(lambda: subprocess.run(["grep", "-c", term, str(jsonl)], capture_output=True), 3) * 1000, 2),
            "fts_count_all_ms": round(timed(lambda: log.conn.execute(
                "SELECT count(*) FROM events_fts WHERE events_fts MATCH ?", [q]).fetchone(), 3) * 1000, 2),
            "matches": log.conn.execute("SELECT count(*) FROM events_fts WHERE events_fts MATCH ?", [q]).fetchone()[0],
        }
    results["search"] = search

    # 5. verify (Python re-walk of the whole chain)
    t0, c0 = time.perf_counter(), time.process_time()
    verified = log.verify_chain()
    results["verify_s"] = round(time.perf_counter() - t0, 2)
    results["verify_cpu_s"] = round(time.process_time() - c0, 2)  # honest on a shared, loaded machine
    results["verify_ok"] = verified.ok

    # 6. audit view: first page, a deep keyset page vs OFFSET
    head, _ = log.head()
    results["first_page_100_ms"] = round(timed(lambda: log.search(limit=100)) * 1000, 2)
    deep = max(1, head - 900_000)
    results["keyset_page_at_900k_ms"] = round(timed(lambda: log.search(before_seq=deep, limit=100)) * 1000, 2)
    results["offset_page_at_900k_ms"] = round(timed(lambda: log.conn.execute(
        "SELECT * FROM events ORDER BY seq DESC LIMIT 100 OFFSET ?", [min(900_000, head)]).fetchall(), 3) * 1000, 2)
    log.close()
    results["db_mb"] = round(sum(p.stat().st_size for p in work.glob("audit.sqlite*")) / 1e6, 1)

    # 7. two writer processes + a reader: lock errors?
    conc = work / "concurrent.sqlite"
    AuditLog(conc, work).close()
    procs = [subprocess.Popen([sys.executable, __file__, "--_writer", str(conc), "2000", f"w{k}"],
                              stdout=subprocess.PIPE, text=True) for k in range(2)]
    reader_errors = reads = 0
    with AuditLog(conc, work) as reader:
        while any(p.poll() is None for p in procs):
            try:
                reader.search(limit=100)
                reads += 1
            except sqlite3.OperationalError:
                reader_errors += 1
        outs = [p.communicate()[0].split() for p in procs]
        ok = reader.verify_chain().ok
    commits = sum(int(o[0]) for o in outs)
    results["concurrent"] = {"commits": commits, "writer_errors": sum(int(o[1]) for o in outs), "reader_errors": reader_errors,
                             "reads": reads, "commits_per_s": round(commits / max(float(o[2]) for o in outs)), "chain_ok": ok}

    if args.tui:
        results["tui_audit_view"] = tui_first_page(db)
    results["mlflow"] = mlflow_side_by_side(work)
    results["load_avg_at_end"] = os.getloadavg()[0]
    print(json.dumps(results, indent=2))
    if args.out is None:
        shutil.rmtree(work, ignore_errors=True)


def tui_first_page(db: Path) -> dict[str, float]:
    """The Audit screen, headless, on the 1M-event log: seconds from starting the app to the first page on
    screen (start-up included), from pressing 3 on a running app to the page on screen, and from Enter in
    the search box to the matching page on screen. Animations are off: Pilot waits for the tab underline's
    slide (0.3 s) before it returns, while a terminal shows the page as the slide starts."""
    import asyncio

    from workbench.workspace.create import init_workspace

    root = Path(tempfile.mkdtemp(prefix="wb-bench-tui-")) / "ws"
    ws = init_workspace(root, name="bench")
    ws.audit_path.unlink()
    os.link(db, ws.audit_path) if db.stat().st_dev == ws.audit_path.parent.stat().st_dev else shutil.copy(db, ws.audit_path)

    async def measure() -> dict[str, float]:
        from textual.widgets import DataTable, Input, Static

        from workbench.tui.app import WorkbenchApp

        def caption(app) -> str:
            return str(app.query_one("#audit-caption", Static).render())

        out: dict[str, float] = {}
        t0 = time.perf_counter()
        app = WorkbenchApp(ws)
        app.animation_level = "none"
        async with app.run_test(size=(160, 50)) as pilot:
            await pilot.press("3")
            table = app.query_one("#events", DataTable)
            while table.row_count == 0 or "page 1" not in caption(app):
                await pilot.pause(0.005)
            out["from_app_start_s"] = round(time.perf_counter() - t0, 3)
        app = WorkbenchApp(ws)
        app.animation_level = "none"
        async with app.run_test(size=(160, 50)) as pilot:
            await pilot.pause(2.0)  # settled on the Lake tab
            t0 = time.perf_counter()
            await pilot.press("3")
            table = app.query_one("#events", DataTable)
            while not (table.row_count and table.region.height and "page 1" in caption(app)):
                await pilot.pause(0.005)
            out["tab_open_s"] = round(time.perf_counter() - t0, 3)
            await pilot.press("slash")
            app.query_one("#audit-search", Input).value = "fraud claims"
            t0 = time.perf_counter()
            await pilot.press("enter")
            while "matching events" not in caption(app):
                await pilot.pause(0.005)
            out["search_page_s"] = round(time.perf_counter() - t0, 3)
            status = app.query_one("#chain-status", Static)
            t0 = time.perf_counter()
            while "intact" not in str(status.render()) and "broken" not in str(status.render()):
                await pilot.pause(0.05)
            out["verify_in_background_s_after_search"] = round(time.perf_counter() - t0, 3)
        return out

    try:
        return asyncio.run(measure())
    finally:
        shutil.rmtree(root.parent, ignore_errors=True)


def mlflow_side_by_side(work: Path) -> dict[str, object]:
    try:
        import mlflow
    except ImportError:
        return {"skipped": "mlflow is not importable here (install mlflow-skinny, sqlalchemy and alembic)"}
    import logging

    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    mlflow.set_tracking_uri(f"sqlite:///{work / 'mlflow.db'}")
    mlflow.set_experiment("bench")
    params = {f"param_{k}": k for k in range(20)}
    metrics = {f"metric_{k}": k / 10 for k in range(10)}
    n = 30
    t0 = time.perf_counter()
    for _ in range(n):
        with mlflow.start_run():
            mlflow.log_params(params)
            mlflow.log_metrics(metrics)
    per_run = (time.perf_counter() - t0) / n
    return {"version": mlflow.__version__, "record_run_20p_10m_ms": round(per_run * 1000, 2), "runs_per_s": round(1 / per_run, 1)}


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--_writer":
        _writer_proc(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    else:
        main()
