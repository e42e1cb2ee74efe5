"""`workbench serve` vs `mlflow models serve` on the same fitted model, in the same run.

Builds a sample workspace, trains and registers the penguin species model, approves it as champion, then
serves it twice on 127.0.0.1: with `workbench serve species@champion` and with `mlflow models serve` (the
same scikit-learn pipeline saved with `mlflow.sklearn.save_model`, one worker, `--env-manager local`). One
client sends requests one after another over a kept-alive connection: requests/s and p50/p99 latency for
1-row and 100-row bodies, medians of the repeats, and the ratio. Both services are checked to return the
same predictions first.

MLflow lives in a folder of its own (`make bench` installs it with `pip install --target .venv/mlflow
mlflow-skinny sqlalchemy alembic`); it is appended to the path of its processes, so it never shadows our pins.

    python benchmarks/serve.py [--requests 2000] [--repeats 3] [--extra-path .venv/mlflow]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def build_workspace(root: Path) -> None:
    """A sample workspace whose `species` v1 (penguin_species spec, linear + LightGBM) is the approved champion."""
    from workbench.pipeline.spec import parse_spec
    from workbench.registry.promotion import approve_request, request_promotion
    from workbench.registry.refs import parse_ref
    from workbench.registry.register import register_run
    from workbench.runs.batch import run_spec
    from workbench.workspace import Workspace
    from workbench.workspace.create import init_workspace

    from workbench.registry.policy import adopt_policy

    os.environ.pop("WORKBENCH_USER", None)
    # governed actions are signed: a throwaway key for this account, enrolled for the founder by init
    key = root.parent / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "serve-bench", "-f", str(key)], check=True)
    os.environ["WORKBENCH_SIGNING_KEY"] = str(key)
    init_workspace(root, sample=True, name="bench")
    # alice trains and requests, bob approves, both on this one OS account: the founder adopts declared names
    with open(root / "workbench.toml", "a", encoding="utf-8") as fh:
        fh.write('\n[governance]\nidentity = "declared"\n')
    adopt_policy(Workspace.load(root), "benchmark: declared identities")
    os.environ["WORKBENCH_USER"] = "alice"
    ws = Workspace.load(root)
    spec = parse_spec({"name": "penguin_species", "target": "species", "metric": "log_loss", "holdout": 0.25,
                       "seed": 7, "candidates": ["linear", "lightgbm"], "max_trials": 6, "data": {"table": "penguins"}})
    register_run(ws, run_spec(ws, spec).run_id, name="species")
    request = request_promotion(ws, parse_ref("species:1"), "champion", "benchmark")
    os.environ["WORKBENCH_USER"] = "bob"
    approve_request(Workspace.load(root), request["id"])
    os.environ["WORKBENCH_USER"] = "alice"


def wait_until_up(port: int, path: str, proc: subprocess.Popen[bytes], timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited with {proc.returncode} before answering")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", path)
            if conn.getresponse().status == 200:
                conn.close()
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"no answer on port {port} after {timeout_s:.0f} s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def measure(port: int, path: str, body: bytes, requests: int) -> dict[str, float]:
    """Requests one after another on one kept-alive connection: requests/s and latency percentiles (ms)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Content-Type": "application/json"}
    for _ in range(min(50, requests)):  # warm up (first requests import and allocate)
        conn.request("POST", path, body, headers)
        conn.getresponse().read()
    latencies = []
    started = time.perf_counter()
    for _ in range(requests):
        t = time.perf_counter()
        conn.request("POST", path, body, headers)
        response = conn.getresponse()
        response.read()
        if response.status != 200:
            raise SystemExit(f"HTTP {response.status} from port {port}")
        latencies.append((time.perf_counter() - t) * 1000)
    elapsed = time.perf_counter() - started
    conn.close()
    latencies.sort()
    return {"rps": requests / elapsed, "p50": latencies[len(latencies) // 2],
            "p99": latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))]}


def http_get(port: int, path: str) -> bytes:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", path)
    out = conn.getresponse().read()
    conn.close()
    return out


def post(port: int, path: str, body: bytes) -> Any:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("POST", path, body, {"Content-Type": "application/json"})
    out = json.loads(conn.getresponse().read())
    conn.close()
    return out


SAVE_FOR_MLFLOW = r"""
import sys
sys.path.append(sys.argv[3])
from workbench import open_workspace
import mlflow.sklearn
model = open_workspace(sys.argv[1]).registry.load("species@champion")
mlflow.sklearn.save_model(model.estimator, sys.argv[2], serialization_format="cloudpickle")
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--requests", type=int, default=2000, help="timed requests per measurement")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", help="also write the medians to this file")
    ap.add_argument("--extra-path", default=str(REPO / ".venv" / "mlflow"),
                    help="folder holding mlflow-skinny (pip install --target)")
    args = ap.parse_args()
    sys.path.insert(0, str(REPO))
    tmp = Path(tempfile.mkdtemp(prefix="wb-serve-bench-"))
    root = tmp / "ws"
    print(f"building the workspace in {root} ...", flush=True)
    build_workspace(root)
    from workbench import open_workspace

    rows = open_workspace(root).lake.table("penguins").drop("species").head(100).to_dicts()
    bodies = {"1 row": json.dumps({"rows": rows[:1]}).encode(), "100 rows": json.dumps({"rows": rows}).encode()}
    mlflow_bodies = {k: json.dumps({"dataframe_records": json.loads(v)["rows"]}).encode() for k, v in bodies.items()}

    env = {**os.environ, "PYTHONPATH": str(REPO), "WORKBENCH_USER": "alice"}
    servers: dict[str, tuple[int, str, dict[str, bytes], subprocess.Popen[bytes]]] = {}
    port = free_port()
    wb = subprocess.Popen([sys.executable, "-m", "workbench", "-w", str(root), "serve", "species@champion",
                           "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                          start_new_session=True)
    servers["workbench serve"] = (port, "/predict", bodies, wb)
    # the same service answering with the scikit-learn pipeline instead of its ONNX graph (what it did before)
    sport = free_port()
    servers["workbench (sklearn)"] = (sport, "/predict", bodies, subprocess.Popen(
        [sys.executable, "-m", "workbench", "-w", str(root), "serve", "species@champion", "--port", str(sport),
         "--engine", "scikit-learn"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True))
    try:  # whatever fails while the peer is set up, the servers started above are stopped
        mlflow_note = ""
        extra = Path(args.extra_path)
        if (extra / "mlflow").is_dir():
            # sitecustomize appends the MLflow folder to every MLflow process's path (the server spawns its own).
            site = tmp / "site"
            site.mkdir()
            (site / "sitecustomize.py").write_text(f"import sys\nsys.path.append({str(extra)!r})\n")
            # MLflow starts `uvicorn` by name: the venv's bin folder must be on PATH.
            menv = {**env, "PYTHONPATH": f"{REPO}{os.pathsep}{site}", "MLFLOW_TRACKING_URI": f"file://{tmp / 'mlruns'}",
                    "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"}
            subprocess.run([sys.executable, "-c", SAVE_FOR_MLFLOW, str(root), str(tmp / "mlflow-model"), str(extra)],
                           env=menv, check=True)
            mport = free_port()
            ml = subprocess.Popen([sys.executable, "-m", "mlflow", "models", "serve", "-m", str(tmp / "mlflow-model"),
                                   "--env-manager", "local", "-h", "127.0.0.1", "-p", str(mport), "-w", "1"],
                                  env=menv, stdout=subprocess.DEVNULL, stderr=open(tmp / "mlflow-serve.log", "wb"), start_new_session=True)
            servers["mlflow models serve"] = (mport, "/invocations", mlflow_bodies, ml)
        else:
            mlflow_note = f"(MLflow not found in {extra}: run `make bench`, or pass --extra-path; peer skipped)"
    except BaseException:
        for _, _, _, proc in servers.values():
            stop(proc)
        raise
    try:
        for name, (p, path, _, proc) in servers.items():
            wait_until_up(p, "/health" if name.startswith("workbench") else "/ping", proc)
        if "mlflow models serve" in servers:
            ours = post(port, "/predict", bodies["100 rows"])["predictions"]
            theirs = post(servers["mlflow models serve"][0], "/invocations", mlflow_bodies["100 rows"])["predictions"]
            assert ours == theirs, "the two services disagree on the same rows"
            print("same predictions on 100 rows from both services: yes")
        engine = json.loads(http_get(port, "/health"))["engine"]
        print(f"workbench serve answers with: {engine}; the second row forces the scikit-learn pipeline")
        results: dict[tuple[str, str], list[dict[str, float]]] = {}
        for _ in range(args.repeats):  # interleaved, so machine noise hits both alike
            for name, (p, path, payloads, _) in servers.items():
                for size, body in payloads.items():
                    results.setdefault((name, size), []).append(measure(p, path, body, args.requests))
    finally:
        for _, _, _, proc in servers.values():
            stop(proc)
        if os.environ.get("KEEP_BENCH_DIR") != "1":
            shutil.rmtree(tmp, ignore_errors=True)

    def med(name: str, size: str, key: str) -> float:
        return statistics.median(r[key] for r in results[(name, size)])

    print(f"\n{args.requests} sequential requests per measurement on one kept-alive connection, median of "
          f"{args.repeats} (ratio: workbench / mlflow; p99 ratio below 1 is better)")
    print(f"{'':22s} {'size':9s} {'req/s':>9s} {'p50 ms':>8s} {'p99 ms':>8s}")
    for size in bodies:
        for name in servers:
            print(f"{name:22s} {size:9s} {med(name, size, 'rps'):9.0f} {med(name, size, 'p50'):8.2f} "
                  f"{med(name, size, 'p99'):8.2f}")
        if "mlflow models serve" in servers:
            m = "mlflow models serve"
            for w in ("workbench serve", "workbench (sklearn)"):
                print(f"{'ratio ' + w.split(' ')[1]:22s} {size:9s} {med(w, size, 'rps') / med(m, size, 'rps'):8.2f}x "
                      f"{med(w, size, 'p50') / med(m, size, 'p50'):7.2f}x "
                      f"{med(w, size, 'p99') / med(m, size, 'p99'):7.2f}x")
    if mlflow_note:
        print(mlflow_note)
    if args.json:
        Path(args.json).write_text(json.dumps({
            "requests": args.requests, "repeats": args.repeats, "engine": engine, "load": os.getloadavg(),
            "results": {f"{name} | {size}": {k: med(name, size, k) for k in ("rps", "p50", "p99")}
                        for (name, size) in results}}, indent=2))


if __name__ == "__main__":
    main()
