"""The built-in `local` compute back-end: a process pool sized to this machine.

A worker that dies (OOM kill, segfault in a native library) breaks a `ProcessPoolExecutor`; the pool is
then rebuilt and the tasks that were in flight are retried, up to `max_retries` times each.
"""

from __future__ import annotations

import os
import threading
import time
import traceback
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable, ClassVar, Sequence

from workbench.backends.compute import Task, TaskResult


def _call(task: Task) -> tuple[Any, float]:
    start = time.perf_counter()
    value = task.fn(*task.args, **dict(task.kwargs))
    return value, time.perf_counter() - start


def default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


class LocalCompute:
    """Process-pool back-end. `workers=0` runs tasks in the calling process (debugging, tiny data)."""

    name: ClassVar[str] = "local"
    SUPPORTS_CANCEL: ClassVar[bool] = True
    SUPPORTS_RETRY: ClassVar[bool] = True

    def __init__(self, workers: int | None = None) -> None:
        self.workers = default_workers() if workers is None else max(0, int(workers))
        self._pool: ProcessPoolExecutor | None = None

    def worker_count(self) -> int:
        return max(1, self.workers)

    def _get_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            import multiprocessing

            # forkserver/spawn, not fork: the caller may hold DuckDB/SQLite handles and threads.
            ctx = multiprocessing.get_context("forkserver" if os.name == "posix" else "spawn")
            self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=ctx)
        return self._pool

    def _reset_pool(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def run_tasks(
        self,
        tasks: Sequence[Task],
        *,
        on_result: Callable[[TaskResult], None] | None = None,
        cancel: threading.Event | None = None,
        max_retries: int = 2,
    ) -> list[TaskResult]:
        if self.workers == 0:
            return self._run_inline(tasks, on_result, cancel)
        results: dict[str, TaskResult] = {}
        attempts: dict[str, int] = {t.key: 0 for t in tasks}
        pending = list(tasks)
        while pending and not (cancel and cancel.is_set()):
            pool = self._get_pool()
            in_flight: dict[Future[tuple[Any, float]], Task] = {}
            broken = False
            queue = list(pending)
            pending = []
            while (queue or in_flight) and not broken:
                while queue and len(in_flight) < self.workers * 2 and not (cancel and cancel.is_set()):
                    task = queue.pop(0)
                    attempts[task.key] += 1
                    try:
                        in_flight[pool.submit(_call, task)] = task
                    except BrokenProcessPool:
                        attempts[task.key] -= 1
                        queue.insert(0, task)
                        broken = True
                        break
                if cancel and cancel.is_set():
                    for fut in in_flight:
                        fut.cancel()
                    queue.clear()
                if not in_flight:
                    break
                done, _ = wait(list(in_flight), timeout=0.2, return_when=FIRST_COMPLETED)
                for fut in done:
                    task = in_flight.pop(fut)
                    if fut.cancelled():
                        continue
                    try:
                        value, duration = fut.result()
                        res = TaskResult(task.key, value=value, attempts=attempts[task.key], duration_s=duration)
                    except BrokenProcessPool:
                        broken = True
                        pending.append(task)
                        continue
                    except Exception as exc:  # the task raised: a result, not a back-end failure
                        res = TaskResult(task.key, error=f"{type(exc).__name__}: {exc}", attempts=attempts[task.key])
                    results[task.key] = res
                    if on_result:
                        on_result(res)
            if broken:
                # Everything still in flight went down with the pool: retry it on a fresh one.
                pending.extend(in_flight.values())
                pending.extend(queue)
                self._reset_pool()
                for task in list(pending):
                    if attempts[task.key] > max_retries:
                        pending.remove(task)
                        res = TaskResult(task.key, error="worker died (retries exhausted)", attempts=attempts[task.key])
                        results[task.key] = res
                        if on_result:
                            on_result(res)
        return [results[t.key] for t in tasks if t.key in results]

    def _run_inline(self, tasks: Sequence[Task], on_result: Callable[[TaskResult], None] | None,
                    cancel: threading.Event | None) -> list[TaskResult]:
        out = []
        for task in tasks:
            if cancel and cancel.is_set():
                break
            try:
                value, duration = _call(task)
                res = TaskResult(task.key, value=value, duration_s=duration)
            except Exception as exc:
                res = TaskResult(task.key, error=f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}")
            out.append(res)
            if on_result:
                on_result(res)
        return out

    def close(self) -> None:
        self._reset_pool()

    def __enter__(self) -> "LocalCompute":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
