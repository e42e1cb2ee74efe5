"""The compute back-end contract: run a batch of independent tasks (candidate × fold × trial fits).

Shaped after `concurrent.futures` so the standard library, Dask (`Client.get_executor()`) and Ray fit
behind it. The AutoML engine only ever talks to this Protocol; the built-in `local` back-end and plugins
(entry-point group `workbench.compute`) implement it — most of them by subclassing
`workbench.backends.executor.ExecutorCompute`, which implements `run_tasks` over any Executor.

Optional members Workbench uses when present: `OPTIONS` (an `OptionSchema`: CLI flags, TUI fields and
`[backends.<name>]` keys), `describe()` (what to show or record; never a secret) and the context-manager
methods. See docs/plugins.md; `workbench.testing.check_compute_backend` checks an implementation.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Mapping, Protocol, Sequence, runtime_checkable


@dataclass(frozen=True)
class Task:
    """One unit of work. `fn` and its arguments must be picklable (module-level functions)."""

    key: str
    fn: Callable[..., Any]
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class TaskResult:
    key: str
    value: Any = None
    error: str | None = None  # "ExcType: message" when the task itself raised
    attempts: int = 1
    duration_s: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None


@runtime_checkable
class ComputeBackend(Protocol):
    """What a compute back-end must do. Capability flags say what it can promise."""

    name: ClassVar[str]
    SUPPORTS_CANCEL: ClassVar[bool]
    SUPPORTS_RETRY: ClassVar[bool]  # re-runs tasks lost with a dead worker

    def worker_count(self) -> int:
        """Parallel task slots; callers set each task's inner n_jobs to cores // worker_count."""
        ...

    def run_tasks(
        self,
        tasks: Sequence[Task],
        *,
        on_result: Callable[[TaskResult], None] | None = None,
        cancel: threading.Event | None = None,
        max_retries: int = 2,
    ) -> list[TaskResult]:
        """Run every task, calling `on_result` as each finishes (in completion order, on the calling
        thread). Returns results in the order of `tasks`. A task that raises yields a TaskResult with
        `error`; a task lost with its worker is retried up to `max_retries` times. When `cancel` is set,
        unstarted tasks are dropped and the call returns what finished (cancelled tasks are absent)."""
        ...

    def close(self) -> None:
        ...
