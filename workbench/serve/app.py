"""`workbench serve`: an HTTP scoring service on 127.0.0.1 that answers with the version an alias names.

Why Starlette on uvicorn: a small, well-kept ASGI stack (FastAPI is built on it) with nothing between the
request and the model; the OpenAPI document comes from the served version's input columns at run time
(`serve/schema.py`), which FastAPI's schemas, derived from Python types declared in code, would not give
us without generating classes. One process, one event loop: scoring a few rows takes a millisecond or
two, so requests are scored inline rather than handed to a thread pool.
"""

from __future__ import annotations

import io
import json
import socket
import time
from collections import deque
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, AsyncIterator

from workbench.api.models import LoadedModel, cast_to_training, rows_to_frame
from workbench.errors import BadInputError
from workbench.serve.follower import AliasFollower, ServiceUnavailableError
from workbench.serve.schema import ARROW_TYPES, PARQUET_TYPES, openapi
from workbench.workspace import Workspace

HOST = "127.0.0.1"
MAX_BODY_BYTES = 64 * 1024 * 1024


MAX_SAMPLE_ROWS = 5_000  # scored rows kept per window for the drift check


def _percentile(ordered: list[float], q: float) -> float | None:
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3) if ordered else None


@dataclass
class ServiceStats:
    """What the service did: totals for `serve.stopped`, and a window (since the last `serve.stats` event) of
    counts, latencies and a sample of the scored rows, whose drift against the training data is checked."""

    requests: int = 0
    rows: int = 0
    errors: int = 0
    latencies_ms: deque[float] = field(default_factory=lambda: deque(maxlen=100_000))
    window_requests: int = 0
    window_rows: int = 0
    window_errors: int = 0
    window_latencies_ms: list[float] = field(default_factory=list)
    window_sample: list[Any] = field(default_factory=list)
    window_sample_rows: int = 0
    window_started: float = field(default_factory=time.monotonic)

    def scored(self, frame: Any, latency_ms: float, columns: list[str]) -> None:
        """Count a scored request; keep its model columns (bodies may carry others) for the drift check."""
        self.rows += frame.height
        self.window_rows += frame.height
        self.latencies_ms.append(latency_ms)
        self.window_latencies_ms.append(latency_ms)
        if self.window_sample_rows < MAX_SAMPLE_ROWS:
            keep = frame.select(columns).head(MAX_SAMPLE_ROWS - self.window_sample_rows)
            self.window_sample.append(keep)
            self.window_sample_rows += keep.height

    def summary(self) -> dict[str, Any]:
        ordered = sorted(self.latencies_ms)
        return {"requests": self.requests, "rows": self.rows, "errors": self.errors,
                "latency_p50_ms": _percentile(ordered, 0.5), "latency_p99_ms": _percentile(ordered, 0.99)}

    def take_window(self, model: LoadedModel, policy: Any) -> dict[str, Any] | None:
        """The window's figures, with per-feature PSI of its rows against the training data; None if it was idle."""
        if not self.window_requests:
            return None
        ordered = sorted(self.window_latencies_ms)
        out: dict[str, Any] = {"version": model.number, "artifact_sha256": model.version["artifact_sha256"],
                               "seconds": round(time.monotonic() - self.window_started, 1),
                               "requests": self.window_requests, "rows": self.window_rows,
                               "errors": self.window_errors, "latency_p50_ms": _percentile(ordered, 0.5),
                               "latency_p99_ms": _percentile(ordered, 0.99)}
        if self.window_sample:
            import polars as pl

            from workbench.registry.predict import drift_against_training

            frame = pl.concat(self.window_sample, how="vertical_relaxed")
            drift = drift_against_training(frame.select([n for n, *_ in model.features]), model.version, policy)
            out.update(drift_rows=frame.height, psi={d.feature: d.psi for d in drift},
                       drifted_features=[d.feature for d in drift if d.drifted])
        self.window_requests = self.window_rows = self.window_errors = self.window_sample_rows = 0
        self.window_latencies_ms, self.window_sample = [], []
        self.window_started = time.monotonic()
        return out


class _HttpError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _headers(model: LoadedModel) -> dict[str, str]:
    return {"X-Workbench-Model": model.label, "X-Workbench-Model-Version": str(model.number),
            "X-Workbench-Artifact-SHA256": str(model.version["artifact_sha256"]), "X-Workbench-Engine": model.engine}


def _frame_from_body(body: bytes, content_type: str, model: LoadedModel) -> Any:
    """The request's rows as a polars frame in the model's training dtypes (JSON rows, Arrow IPC or Parquet)."""
    import polars as pl

    if not body:
        raise _HttpError(400, "The request has no body; send JSON rows (or Arrow / Parquet).")
    if content_type in ARROW_TYPES or content_type in PARQUET_TYPES:
        try:
            buf = io.BytesIO(body)
            frame = (pl.read_parquet(buf) if content_type in PARQUET_TYPES
                     else pl.read_ipc_stream(buf) if content_type.endswith("stream") else pl.read_ipc(buf))
        except Exception as exc:
            raise _HttpError(400, f"The body is not a readable {content_type} file ({type(exc).__name__}).") from None
        if frame.height == 0:
            raise BadInputError("The request has no rows.")
        return cast_to_training(frame, model.features, "The request")
    if content_type not in ("application/json", ""):
        raise _HttpError(415, f"Content type {content_type!r} is not accepted; send application/json, "
                              f"{ARROW_TYPES[0]} or {PARQUET_TYPES[0]}.")
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise _HttpError(400, f"The body is not valid JSON ({exc}).") from None
    rows = payload.get("rows") if isinstance(payload, dict) else payload
    if not isinstance(rows, list):
        raise BadInputError('Send the rows as a JSON list of objects, or as {"rows": [...]}.')
    return rows_to_frame(rows, model.features, "The request")


def build_app(follower: AliasFollower, port: int, stats_every_s: float = 60.0) -> Any:
    """The ASGI app: `POST /predict`, `GET /health`, `GET /openapi.json`. Start and stop are audit events, and
    every `stats_every_s` seconds with traffic (0: only at stop and at a switch) a `serve.stats` event records
    the window's counts, latency and input drift (PSI against the training data) for `governance report`."""
    import asyncio

    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from workbench.registry.policy import load_policy

    stats = ServiceStats()
    policy = load_policy(follower.workspace)
    answered = [follower.model]  # the version the current window belongs to

    def flush(model: LoadedModel) -> None:
        window = stats.take_window(model, policy)
        if window is not None:
            follower.record("serve.stats", {"port": port, **window})

    def answering() -> LoadedModel:
        model = follower.current()
        if model is not answered[0]:  # the alias moved: close the previous version's window first
            flush(answered[0])
            answered[0] = model
        return model

    def error(status: int, message: str, model: LoadedModel | None = None) -> JSONResponse:
        stats.errors += 1
        stats.window_errors += 1
        return JSONResponse({"error": message}, status_code=status, headers=_headers(model) if model else None)

    async def predict(request: Request) -> JSONResponse:
        started = time.perf_counter()
        stats.requests += 1
        try:
            model = answering()  # may close the previous version's window: count this request after it
        except ServiceUnavailableError as exc:
            stats.window_requests += 1
            return error(503, exc.message)
        stats.window_requests += 1
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            return error(413, f"The body is larger than {MAX_BODY_BYTES // (1024 * 1024)} MiB; send fewer rows "
                              "per request.", model)
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        try:
            frame = _frame_from_body(body, content_type, model)
            out = model.predict(frame, "The request")
        except _HttpError as exc:
            return error(exc.status, exc.message, model)
        except BadInputError as exc:
            return error(422, exc.message, model)
        result: dict[str, Any] = {"model": model.name, "version": model.number,
                                  "predictions": out["prediction"].to_list()}
        probability = [c for c in out.columns if c.startswith("probability_")]
        if probability:
            labels = [c[len("probability_"):] for c in probability]
            result["probabilities"] = [dict(zip(labels, row)) for row in out.select(probability).rows()]
        response = JSONResponse(result, headers=_headers(model))
        stats.scored(frame, (time.perf_counter() - started) * 1000, [name for name, *_ in model.features])
        return response

    async def health(request: Request) -> JSONResponse:
        try:
            model = answering()
        except ServiceUnavailableError as exc:
            return JSONResponse({"status": "unavailable", "error": exc.message}, status_code=503)
        return JSONResponse({"status": "ok", "ref": str(follower.ref), "model": model.name, "version": model.number,
                             "artifact_sha256": model.version["artifact_sha256"], "task": model.version["task"],
                             "target": model.version["target"], "engine": model.engine}, headers=_headers(model))

    async def schema(request: Request) -> JSONResponse:
        return JSONResponse(openapi(follower.model, str(follower.ref)))

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        import os

        follower.record("serve.started", {"host": HOST, "port": port, "pid": os.getpid(), "follows": follower.follows,
                                          "stats_every_s": stats_every_s, **follower.compiled})

        async def every_window() -> None:
            while True:
                await asyncio.sleep(stats_every_s)
                flush(answered[0])

        ticker = asyncio.create_task(every_window()) if stats_every_s > 0 else None
        try:
            yield
        finally:
            if ticker is not None:
                ticker.cancel()
            flush(answered[0])
            follower.record("serve.stopped", {"host": HOST, "port": port, **stats.summary()})

    return Starlette(routes=[Route("/predict", predict, methods=["POST"]), Route("/health", health, methods=["GET"]),
                             Route("/openapi.json", schema, methods=["GET"])], lifespan=lifespan)


def bind(port: int) -> socket.socket:
    """Listen on 127.0.0.1:`port` (0: any free port) before anything is recorded; a busy port is bad input."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit it: without it a response's header and body writes meet the client's
    # delayed ACK, and every request waits 40 ms (measured by benchmarks/serve.py).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((HOST, port))
    except OSError as exc:
        sock.close()
        raise BadInputError(f"Cannot listen on {HOST}:{port} ({exc.strerror}); choose another port with --port.") from None
    sock.listen(2048)
    return sock


def serve(workspace: Workspace, ref_text: str, port: int = 8000, on_ready: Any = None,
          stats_every_s: float = 60.0, engine: str = "auto") -> None:
    """Serve `ref_text` (`NAME` means `NAME@champion`) on 127.0.0.1 until interrupted (Ctrl-C or SIGTERM)."""
    try:
        import uvicorn
    except ImportError:
        from workbench.errors import BackendUnavailableError

        raise BackendUnavailableError("Serving needs Starlette and uvicorn, which are not installed: "
                                      "pip install 'workbench[deploy]'.") from None
    from workbench.registry.refs import ModelRef, parse_ref

    ref = parse_ref(ref_text)
    if ref.version is None and ref.alias is None:
        ref = ModelRef(ref.model, alias="champion")
    follower = AliasFollower(workspace, ref, engine)  # resolves and verifies the artifact: refuses before listening
    sock = bind(port)
    try:
        app = build_app(follower, sock.getsockname()[1], stats_every_s)
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
        server = uvicorn.Server(config)
        if on_ready is not None:
            on_ready(follower.model, sock.getsockname()[1])
        server.run(sockets=[sock])
    finally:
        sock.close()
        follower.close()
