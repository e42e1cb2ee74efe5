"""Start a back-end the way a run would and give it a tiny job: the "does it work here?" answer that
`workbench plugins check` and the TUI's Plugins view show."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Mapping

from workbench.backends.compute import Task
from workbench.backends.deadline import call_within
from workbench.backends.discovery import GROUPS, GUEST_ERRORS, guest_failure
from workbench.backends.session import close_quietly, open_within_deadline, record_failure
from workbench.errors import BackendUnavailableError, WorkbenchError


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
    job, close it. Raises the same errors a run would (exit 3 unavailable, exit 2 bad options).

    Starting and the job each have the back-end's overall deadline (`[backends] timeout_s`): one that
    does not answer in time is "did not answer within N s"; with `log`, every failure is a `plugin.failed`."""
    start = time.perf_counter()
    backend, timeout_s = open_within_deadline(workspace, GROUPS[kind], name, explicit, log, None)
    try:
        summary = call_within(lambda: _exercise(backend, kind, name), timeout_s, f"The {kind} back-end {name!r}")
    except WorkbenchError as exc:
        if log is not None:
            record_failure(log, workspace, GROUPS[kind], name, exc)
        close_quietly(backend)
        raise
    try:
        described = call_within(lambda: backend.describe() if hasattr(backend, "describe") else {}, timeout_s,
                                f"The {kind} back-end {name!r}")
    except GUEST_ERRORS:
        described = {}
    close_quietly(backend, timeout_s)
    return ProbeResult(kind, name, time.perf_counter() - start, summary, described)


def _exercise(backend: Any, kind: str, name: str) -> str:
    """The tiny job; any failure of the plugin's code is a `BackendUnavailableError` naming it."""
    try:
        return _compute_job(backend, name) if kind == "compute" else _storage_job(backend, name)
    except WorkbenchError:
        raise
    except GUEST_ERRORS as exc:
        raise BackendUnavailableError(f"The {kind} back-end {name!r} started but failed its check: "
                                      f"{guest_failure(exc)}") from exc


def _compute_job(backend: Any, name: str) -> str:
    tasks = [Task(f"probe-{i}", _square, (i,)) for i in range(4)]
    results = backend.run_tasks(tasks, max_retries=1)
    bad = [r for r in results if not r.ok]
    if len(results) != len(tasks) or bad:
        reason = bad[0].error if bad else f"{len(results)} of {len(tasks)} results came back"
        raise BackendUnavailableError(f"The compute back-end {name!r} started but could not run a task: {reason}")
    return f"{backend.worker_count()} worker slot(s); ran {len(tasks)} tasks"


def _storage_job(backend: Any, name: str) -> str:
    key = f".workbench-probe/{uuid.uuid4().hex}"
    backend.write(key, b"probe")
    try:
        ok = backend.read(key) == b"probe" and key in backend.list(".workbench-probe")
    finally:
        backend.delete(key)
    if not ok:
        raise BackendUnavailableError(f"The storage back-end {name!r} did not read back what it wrote.")
    return "wrote, listed, read and deleted a probe object"


def check_all(workspace: Any, *, log: Any = None) -> list[Any]:
    """Every installed back-end with the answer `probe_backend` gives for it: "works", "fails" (it imports but
    does not start or run its job with the workspace's settings, e.g. S3 without a bucket), or "broken" (it
    does not import). What `workbench plugins list --check` shows, so it agrees with `plugins check`."""
    from dataclasses import replace

    from workbench.backends.discovery import list_plugins

    out = []
    for info in list_plugins(check=True, timeout_s=None):
        if info.status == "ok":
            try:
                probe_backend(workspace, info.kind, info.name, log=log)
                info = replace(info, status="example" if is_example(info.kind, info.name) else "works")
            except WorkbenchError as exc:
                info = replace(info, status="fails", error=exc.message)
        out.append(info)
    return out


def option_problem(workspace: Any, kind: str, name: str, backend_class: Any) -> str | None:
    """Why the workspace's settings cannot start back-end `name` (a required option unset, a bad value),
    found without starting it; None if they can. The Plugins tab shows this as soon as a plugin loads."""
    from workbench.backends.session import resolve_options

    try:
        resolve_options(workspace.settings, GROUPS[kind], name, None, backend_class)
    except WorkbenchError as exc:
        return exc.message
    return None


def is_example(kind: str, name: str) -> bool:
    """Whether the back-end declares itself an example to copy (`EXAMPLE = True`, as the template's do): it
    works, but nothing should run on it (the template's storage keeps objects in memory only)."""
    from workbench.backends.discovery import load_backend_class

    try:
        return bool(getattr(load_backend_class(GROUPS[kind], name), "EXAMPLE", False))
    except WorkbenchError:
        return False
