"""The built-in `local` compute back-end: a process pool sized to this machine.

A worker that dies (OOM kill, segfault in a native library) breaks a `ProcessPoolExecutor`; the pool is
then rebuilt and the tasks that were in flight are retried, up to `max_retries` times each. Each worker
caps the native thread pools (OpenMP, BLAS) of the libraries it imports to its share of the cores, so
`workers` processes × inner threads never oversubscribe the machine.

Workers ignore Ctrl-C (the calling process handles it) and die with the process that owns the pool,
even when that one is killed with SIGKILL (`backends/lifeline.py`). Tasks still in flight when
`run_tasks` is left by an exception (Ctrl-C, a cancel) are killed with their workers: nobody will read
their results, and an exit must not wait for them.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable, ClassVar

from workbench.backends.executor import ExecutorCompute
from workbench.backends.options import Option, OptionSchema

_THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")


def default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


def inner_threads(workers: int) -> int:
    """Native threads each worker may use: its share of the cores, at least one."""
    return max(1, (os.cpu_count() or 1) // max(1, workers))


def _start_resource_tracker() -> None:
    """Start multiprocessing's resource tracker with a stderr it can pass on.

    It hands `sys.stderr.fileno()` to its child; inside the TUI (or anything else that swaps
    sys.stderr for an object without a file descriptor) that is -1 and every pool fails with
    "bad value(s) in fds_to_keep". Starting it once against /dev/null avoids that for good."""
    import sys
    from multiprocessing import resource_tracker

    try:
        usable = sys.stderr is not None and sys.stderr.fileno() >= 0
    except (AttributeError, OSError, ValueError):
        usable = False
    if usable:
        resource_tracker.ensure_running()
        return
    saved = sys.stderr
    with open(os.devnull, "w") as devnull:
        sys.stderr = devnull
        try:
            resource_tracker.ensure_running()
        finally:
            sys.stderr = saved


def _init_worker(threads: int, owner_pid: int, owner_token: str | None) -> None:
    # Runs in each fresh worker before any task imports numpy/sklearn/lightgbm, so the limit takes.
    from workbench.backends.lifeline import pool_worker_init

    pool_worker_init(owner_pid, owner_token)
    for var in _THREAD_ENV:
        os.environ[var] = str(threads)


class _InlineExecutor(Executor):
    """Runs each task in the calling process as it is submitted (`workers=0`: debugging, tiny data)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        fut: Future[Any] = Future()
        try:
            fut.set_result(fn(*args, **kwargs))
        except Exception as exc:
            fut.set_exception(exc)
        return fut


class LocalCompute(ExecutorCompute):
    """Process-pool back-end. `workers=0` runs tasks in the calling process (debugging, tiny data)."""

    name: ClassVar[str] = "local"
    SUPPORTS_CANCEL: ClassVar[bool] = True
    SUPPORTS_RETRY: ClassVar[bool] = True
    LOSES_ALL_IN_FLIGHT: ClassVar[bool] = True
    OPTIONS: ClassVar[OptionSchema] = OptionSchema(
        Option("workers", int, help="Worker processes (default: one per core, at most 8; 0 runs in-process).",
               env="WORKBENCH_LOCAL_WORKERS"),
    )

    def __init__(self, workers: int | None = None) -> None:
        self.workers = default_workers() if workers is None else max(0, int(workers))
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        if self.workers == 0:
            # In-process tasks share the caller's fate: a task that kills its process kills the caller.
            self.SUPPORTS_RETRY = False  # type: ignore[misc]

    def worker_count(self) -> int:
        return max(1, self.workers)

    def _executor(self) -> Executor:
        if self.workers == 0:
            return _InlineExecutor()
        with self._lock:
            if self._pool is None:
                import multiprocessing

                # forkserver/spawn, not fork: the caller may hold DuckDB/SQLite handles and threads.
                ctx = multiprocessing.get_context("forkserver" if os.name == "posix" else "spawn")
                if os.name == "posix":
                    _start_resource_tracker()
                from workbench.backends.lifeline import owner_identity

                self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=ctx, initializer=_init_worker,
                                                 initargs=(inner_threads(self.workers), *owner_identity()))
            return self._pool

    def _is_worker_lost(self, exc: BaseException) -> bool:
        return isinstance(exc, BrokenProcessPool)

    def _discard_executor(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    def _abandon_in_flight(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is None:
            return
        processes = list((getattr(pool, "_processes", None) or {}).values())  # no public API before 3.14
        pool.shutdown(wait=False, cancel_futures=True)
        for proc in processes:
            try:
                proc.kill()
            except (OSError, ValueError):
                pass  # already gone

    def __enter__(self) -> "LocalCompute":
        return self
