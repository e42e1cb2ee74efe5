"""Open the back-ends a workspace is configured for, and record what happened in the audit log.

`workbench.toml` keys (every one optional)::

    [runs]
    default_backend = "dask"          # compute back-end when a run spec names none

    [backends.dask]                   # options of the compute back-end `dask` (see `workbench plugins show dask`)
    address = "tcp://scheduler:8786"

    [storage]
    backend = "s3"                    # storage back-end for lake data and artifacts (default: local)

    [storage.s3]                      # options of the storage back-end `s3`
    bucket = "team-lake"

    [backends]
    timeout_s = 30                    # overall deadline of every start, check and import (backends/deadline.py)

Values given explicitly (run spec, CLI flag, TUI form) win over the file, which wins over environment
variables, which win over the plugin's defaults. Opening a back-end records `plugin.loaded` (with its
options, secrets masked) or `plugin.failed` (with the reason) before anything else happens, so a run on
a back-end that is not there fails up front and leaves nothing half-done. Starting (import, constructor,
`describe()`) runs under the overall deadline: a back-end that does not answer within `timeout_s` is
a `plugin.failed` "did not answer within N s" (exit 3), not a hang. `workspace_storage`, through
which the lake and run artifacts reach the configured storage, opens it once per process and records
only a failure.
"""

from __future__ import annotations

import json
import threading
from typing import Any, Callable, Mapping

from workbench.backends.compute import TaskResult
from workbench.backends.deadline import TIMEOUT_OPTION, call_within, configured_timeout
from workbench.backends.discovery import (COMPUTE_GROUP, GUEST_ERRORS, STORAGE_GROUP, _entry_point, _kind, guest_failure,
                                          instantiate, load_backend_class)
from workbench.backends.options import BackendOptionError, schema_of
from workbench.errors import BackendUnavailableError, WorkbenchError

DEFAULT_STORAGE = "local"


def configured_options(settings: Any, group: str, name: str) -> dict[str, Any]:
    """The `[backends.<name>]` (compute) or `[storage.<name>]` (storage) table of `workbench.toml`."""
    extra = getattr(settings, "extra", {}) or {}
    section = "backends" if group == COMPUTE_GROUP else "storage"
    table = extra.get(section, {})
    if not isinstance(table, dict):
        raise BackendOptionError(f"workbench.toml: [{section}] must be a table.")
    values = table.get(name, {})
    if not isinstance(values, dict):
        raise BackendOptionError(f"workbench.toml: [{section}.{name}] must be a table.")
    return dict(values)


def configured_storage(settings: Any) -> str:
    """The storage back-end named in `[storage] backend`, `local` if none."""
    table = (getattr(settings, "extra", {}) or {}).get("storage", {})
    name = table.get("backend", DEFAULT_STORAGE) if isinstance(table, dict) else DEFAULT_STORAGE
    if not isinstance(name, str) or not name:
        raise BackendOptionError("workbench.toml: [storage] backend must be the name of a storage back-end.")
    return name


def load_class(settings: Any, group: str, name: str) -> Any:
    """Import back-end `name` within the workspace's overall deadline (`[backends] timeout_s`)."""
    return call_within(lambda: load_backend_class(group, name), configured_timeout(settings),
                       f"The {_kind(group)} back-end {name!r}")


def resolve_options(settings: Any, group: str, name: str, explicit: Mapping[str, Any] | None = None,
                    backend_class: Any = None) -> dict[str, Any]:
    """The options to start back-end `name` with (imports the plugin to read its schema). A back-end that
    declares a `timeout_s` option and is given none gets the workspace's overall deadline."""
    schema = schema_of(backend_class or load_class(settings, group, name))
    section = f"[{'backends' if group == COMPUTE_GROUP else 'storage'}.{name}]"
    options = schema.resolve(explicit, configured_options(settings, group, name), where=f"workbench.toml {section}")
    if TIMEOUT_OPTION in schema and options.get(TIMEOUT_OPTION) is None:
        options[TIMEOUT_OPTION] = schema[TIMEOUT_OPTION].coerce(configured_timeout(settings), "[backends] timeout_s")
    return options


def backend_timeout(settings: Any, options: Mapping[str, Any]) -> float:
    """The deadline for one back-end: its own `timeout_s` option if it has one, else `[backends] timeout_s`."""
    own = options.get(TIMEOUT_OPTION)
    return float(own) if isinstance(own, (int, float)) and not isinstance(own, bool) and own > 0 else configured_timeout(settings)


def _plugin_params(group: str, name: str) -> dict[str, Any]:
    try:
        ep = _entry_point(group, name)
    except BackendUnavailableError:
        return {"name": name, "kind": _kind(group)}
    dist = ep.dist
    return {"name": name, "kind": _kind(group), "package": dist.name if dist else None,
            "version": dist.version if dist else None}


def _start(workspace: Any, group: str, name: str, cls: Any, options: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """Construct the back-end and ask it to describe itself (both are plugin code: run under the deadline)."""
    from_workspace = getattr(cls, "from_workspace", None)
    factory = (lambda **o: from_workspace(workspace, **o)) if from_workspace else cls
    backend = instantiate(group, name, factory, options)
    try:
        described = backend.describe() if hasattr(backend, "describe") else {}
    except GUEST_ERRORS as exc:
        close_quietly(backend)
        raise BackendUnavailableError(f"The {_kind(group)} back-end {name!r} started but failed to describe itself: "
                                      f"{guest_failure(exc)}") from exc
    return backend, described


def close_quietly(backend: Any, timeout_s: float = 10.0) -> None:
    """Close a back-end that failed or was given up on, without waiting long or raising."""
    try:
        call_within(backend.close, timeout_s, "closing")
    except GUEST_ERRORS:
        pass


def open_within_deadline(workspace: Any, group: str, name: str, explicit: Mapping[str, Any] | None, log: Any,
                         run_id: str | None) -> tuple[Any, float]:
    """Start back-end `name` under its deadline, recording `plugin.loaded` or `plugin.failed` in `log`;
    returns the back-end and the deadline (seconds) that applies to its later calls."""
    params = _plugin_params(group, name)
    what = f"The {_kind(group)} back-end {name!r}"
    try:
        cls = load_class(workspace.settings, group, name)
        options = resolve_options(workspace.settings, group, name, explicit, cls)
        timeout_s = backend_timeout(workspace.settings, options)
        backend, described = call_within(lambda: _start(workspace, group, name, cls, options), timeout_s, what,
                                         on_late=lambda started: close_quietly(started[0]))
    except WorkbenchError as exc:
        if log is not None:
            _record_failure(log, workspace, name, params, exc, run_id)
        raise
    if log is not None:
        log.record("plugin.loaded", actor=workspace.actor, subject=name, run_id=run_id,
                   params={**params, "options": schema_of(cls).masked(options), "backend": described})
    return backend, timeout_s


def _open(workspace: Any, group: str, name: str, explicit: Mapping[str, Any] | None, log: Any,
          run_id: str | None) -> Any:
    return open_within_deadline(workspace, group, name, explicit, log, run_id)[0]


def open_compute(workspace: Any, name: str | None = None, explicit: Mapping[str, Any] | None = None, *,
                 log: Any = None, run_id: str | None = None) -> Any:
    """Start the compute back-end `name` (default: `[runs] default_backend`) for `workspace`.

    Raises `BackendUnavailableError` (exit 3) if it is missing, broken or does not answer, and
    `BackendOptionError` (exit 2) for bad options; with `log` (an `AuditLog`) both outcomes are recorded."""
    return _open(workspace, COMPUTE_GROUP, name or workspace.settings.default_backend, explicit, log, run_id)


def open_storage(workspace: Any, name: str | None = None, explicit: Mapping[str, Any] | None = None, *,
                 log: Any = None, run_id: str | None = None) -> Any:
    """Start the storage back-end `name` (default: `[storage] backend`, else local) for `workspace`."""
    return _open(workspace, STORAGE_GROUP, name or configured_storage(workspace.settings), explicit, log, run_id)


def record_failure(log: Any, workspace: Any, group: str, name: str, exc: WorkbenchError,
                   run_id: str | None = None) -> None:
    """A `plugin.failed` event for back-end `name` (what a run, a check or the TUI records when it fails)."""
    _record_failure(log, workspace, name, _plugin_params(group, name), exc, run_id)


def _record_failure(log: Any, workspace: Any, name: str, params: dict[str, Any], exc: WorkbenchError,
                    run_id: str | None) -> None:
    log.record("plugin.failed", actor=workspace.actor, subject=name, run_id=run_id, outcome="failed",
               params={**params, "error": exc.message})


# The workspace storage each process has open, keyed by workspace and its [storage] settings.
_WORKSPACE_STORAGE: dict[tuple[str, str], Any] = {}
_WORKSPACE_STORAGE_LOCK = threading.Lock()


def workspace_storage(workspace: Any) -> Any | None:
    """The storage back-end holding the workspace's lake data files and run artifacts, opened once per
    process; `None` when it is `local`, where the workspace folder itself is the store.

    A failure is recorded as `plugin.failed` and raised (exit 3 for an unreachable back-end). Success is
    not recorded here: every command that reads the lake opens the storage, and one `plugin.loaded` per
    `workbench lake show` would bury the events that matter; a run records the storage it used instead."""
    name = configured_storage(workspace.settings)
    if name == DEFAULT_STORAGE:
        return None
    table = (getattr(workspace.settings, "extra", {}) or {}).get("storage", {})
    key = (str(workspace.root), json.dumps(table, sort_keys=True, default=str))
    with _WORKSPACE_STORAGE_LOCK:
        backend = _WORKSPACE_STORAGE.get(key)
        if backend is None:
            try:
                backend = open_storage(workspace, name)
            except WorkbenchError as exc:
                from workbench.audit import AuditLog

                with AuditLog(workspace.audit_path, workspace.root) as log:
                    _record_failure(log, workspace, name, _plugin_params(STORAGE_GROUP, name), exc, None)
                raise
            _WORKSPACE_STORAGE[key] = backend
    return backend


def close_workspace_storage() -> None:
    """Close every storage back-end `workspace_storage` opened (tests; a process that changes credentials)."""
    with _WORKSPACE_STORAGE_LOCK:
        backends = list(_WORKSPACE_STORAGE.values())
        _WORKSPACE_STORAGE.clear()
    for backend in backends:
        backend.close()


def audit_task_outcomes(log: Any, *, actor: str, run_id: str | None,
                        forward: Callable[[TaskResult], None] | None = None) -> Callable[[TaskResult], None]:
    """An `on_result` callback recording each task that needed a retry (`task.retried`) or failed
    (`task.failed`) — the events a reader of the log needs to trust a run that lost a worker."""
    lock = threading.Lock()

    def on_result(res: TaskResult) -> None:
        with lock:
            if res.attempts > 1:
                log.record("task.retried", actor=actor, subject=res.key, run_id=run_id,
                           outcome="ok" if res.ok else "failed",
                           params={"key": res.key, "attempts": res.attempts, "error": res.error})
            if not res.ok:
                log.record("task.failed", actor=actor, subject=res.key, run_id=run_id, outcome="failed",
                           params={"key": res.key, "attempts": res.attempts, "error": res.error})
        if forward:
            forward(res)

    return on_result


class AuditedCompute:
    """A compute back-end whose every `run_tasks` call records retried and failed tasks in the log.

    The engine keeps calling the back-end as usual; this wrapper is how a run's log learns that a worker
    died and its task was retried, whichever back-end ran it."""

    def __init__(self, backend: Any, log: Any, *, actor: str, run_id: str | None) -> None:
        self.backend, self.log, self.actor, self.run_id = backend, log, actor, run_id

    def run_tasks(self, tasks: Any, *, on_result: Callable[[TaskResult], None] | None = None, **kwargs: Any) -> Any:
        audited = audit_task_outcomes(self.log, actor=self.actor, run_id=self.run_id, forward=on_result)
        return self.backend.run_tasks(tasks, on_result=audited, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.backend, name)

    def __enter__(self) -> "AuditedCompute":
        return self

    def __exit__(self, *exc: object) -> None:
        self.backend.close()


def refuse_secrets(group: str, name: str, explicit: Mapping[str, Any], where: str, backend_class: Any = None) -> None:
    """Secrets never travel in a spec or on a command line (they would reach the log); only the environment."""
    schema = schema_of(backend_class or load_backend_class(group, name))
    for key in explicit:
        if key in schema and schema[key].secret:
            env = schema[key].env
            raise BackendOptionError(f"{where}: {key} is a secret; set it in the environment"
                                     + (f" variable {env}" if env else "") + " instead.")
