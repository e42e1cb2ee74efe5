"""Start a back-end the way a run would and give it a tiny job: the "does it work here?" answer that
`workbench plugins check` and the TUI's Plugins view show."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Mapping

from workbench.backends.compute import Task
from workbench.backends.discovery import GROUPS
from workbench.backends.session import _open


def _square(x: int) -> int:
    return x * x


@dataclass(frozen=True)
class ProbeResult:
    kind: str
    name: str
    seconds: float
    summary: str
    described: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "status": "ok", "seconds": round(self.seconds, 3),
                "summary": self.summary, "backend": self.described}


def probe_backend(workspace: Any, kind: str, name: str, explicit: Mapping[str, Any] | None = None, *,
                  log: Any = None) -> ProbeResult:
    """Open back-end `name` of `kind` with the workspace's settings and `explicit` options, run a tiny
    job, close it. Raises the same errors a run would (exit 3 unavailable, exit 2 bad options)."""
    start = time.perf_counter()
    backend = _open(workspace, GROUPS[kind], name, explicit, log, None)
    try:
        described = backend.describe() if hasattr(backend, "describe") else {}
        if kind == "compute":
            tasks = [Task(f"probe-{i}", _square, (i,)) for i in range(4)]
            results = backend.run_tasks(tasks, max_retries=1)
            bad = [r for r in results if not r.ok]
            if len(results) != len(tasks) or bad:
                from workbench.errors import BackendUnavailableError

                reason = bad[0].error if bad else f"{len(results)} of {len(tasks)} results came back"
                raise BackendUnavailableError(f"The compute back-end {name!r} started but could not run a task: {reason}")
            summary = f"{backend.worker_count()} worker slot(s); ran {len(tasks)} tasks"
        else:
            key = f".workbench-probe/{uuid.uuid4().hex}"
            backend.write(key, b"probe")
            try:
                ok = backend.read(key) == b"probe" and key in backend.list(".workbench-probe")
            finally:
                backend.delete(key)
            if not ok:
                from workbench.errors import BackendUnavailableError

                raise BackendUnavailableError(f"The storage back-end {name!r} did not read back what it wrote.")
            summary = "wrote, listed, read and deleted a probe object"
    finally:
        backend.close()
    return ProbeResult(kind, name, time.perf_counter() - start, summary, described)
