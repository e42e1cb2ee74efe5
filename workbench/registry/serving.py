"""What serving a model version did, read back from the audit events `workbench serve` writes (`serve.started`,
`serve.stats`, `serve.switched`, `serve.stopped`): the Models tab and the governance report show it per version.

Each `serve.stats` window names the version that answered, and a window is recorded at every switch and at
stop, so summing windows per version counts every request exactly once, across switches and restarts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from workbench.audit import AuditLog

KINDS = ("serve.started", "serve.stats", "serve.switched", "serve.stopped", "serve.refused")
MAX_EVENTS = 100_000  # a bound on what one read walks; older serving history is in `audit search`


@dataclass
class ServingRecord:
    model: str
    version: int
    requests: int = 0
    rows: int = 0
    errors: int = 0
    windows: int = 0
    worst_p99_ms: float | None = None
    first_served_at: str | None = None
    last_window_at: str | None = None
    last_drifted: list[str] = field(default_factory=list)
    last_max_psi: float | None = None
    open_services: int = 0  # started (or switched to) with no stop recorded: live, or killed without a stop

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def summary(self) -> str:
        if not self.windows and not self.open_services:
            return "never served"
        p99 = f", p99 ≤ {self.worst_p99_ms:.1f} ms" if self.worst_p99_ms is not None else ""
        text = f"{self.requests:,} request(s), {self.rows:,} row(s), {self.errors:,} error(s){p99}"
        if self.last_window_at:
            drift = (f"drift in {', '.join(self.last_drifted)}" if self.last_drifted else "no drift")
            psi = f" (max PSI {self.last_max_psi:.3f})" if self.last_max_psi is not None else ""
            text += f"; last window {self.last_window_at[:19]}: {drift}{psi}"
        if self.open_services:
            text += f"; {self.open_services} service(s) started with no stop recorded"
        return text


def serving_records(log: AuditLog) -> dict[tuple[str, int], ServingRecord]:
    """(model, version) → what serving it did, from the audit log's serve events (oldest first)."""
    events: list[Any] = []
    for kind in KINDS:
        events += log.search(kind=kind, exact_kind=True, limit=MAX_EVENTS)
    events.sort(key=lambda e: e.seq)
    out: dict[tuple[str, int], ServingRecord] = {}
    serving: dict[str, tuple[str, int]] = {}  # service (host:port:pid) → the version it answers with now

    def record(model: str, version: int) -> ServingRecord:
        return out.setdefault((model, version), ServingRecord(model, version))

    for e in events:
        p = e.params or {}
        model, version = p.get("model"), p.get("version")
        if not isinstance(model, str):
            continue
        service = f"{e.host}:{p.get('port')}:{p.get('pid', '')}" if e.kind == "serve.started" else None
        if e.kind == "serve.started" and isinstance(version, int):
            serving[service or ""] = (model, version)
            record(model, version).open_services += 1
        elif e.kind == "serve.switched" and isinstance(p.get("to_version"), int):
            service = _service_of(serving, model, p.get("from_version"), e) or str(e.seq)
            _close(serving, out, e, model, p.get("from_version"))
            record(model, p["to_version"]).open_services += 1
            serving[service] = (model, p["to_version"])
        elif e.kind == "serve.stopped" and isinstance(version, int):
            _close(serving, out, e, model, version)
        elif e.kind == "serve.stats" and isinstance(version, int):
            r = record(model, version)
            r.windows += 1
            r.requests += int(p.get("requests") or 0)
            r.rows += int(p.get("rows") or 0)
            r.errors += int(p.get("errors") or 0)
            p99 = p.get("latency_p99_ms")
            if isinstance(p99, (int, float)):
                r.worst_p99_ms = max(r.worst_p99_ms or 0.0, float(p99))
            r.first_served_at = r.first_served_at or e.ts
            r.last_window_at = e.ts
            r.last_drifted = list(p.get("drifted_features") or [])
            psi = [v for v in (p.get("psi") or {}).values() if isinstance(v, (int, float))]
            r.last_max_psi = max(psi) if psi else None
    return out


def _service_of(serving: dict[str, tuple[str, int]], model: str, version: Any, event: Any) -> str | None:
    return next((s for s, mv in serving.items() if mv == (model, version) and s.startswith(f"{event.host}:")), None)


def _close(serving: dict[str, tuple[str, int]], out: dict[tuple[str, int], ServingRecord], event: Any, model: str,
           version: Any) -> None:
    service = _service_of(serving, model, version, event)
    if service is not None:
        serving.pop(service)
        r = out.get((model, version))
        if r is not None and r.open_services > 0:
            r.open_services -= 1
