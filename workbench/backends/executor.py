"""A `concurrent.futures.Executor`-shaped core that implements `ComputeBackend.run_tasks` once.

The standard library's process pool, Dask (`Client.get_executor()`) and Ray all hand out
`concurrent.futures` futures; what differs is how a lost worker shows up and what it takes down with
it. A subclass answers three questions and inherits progress, cancellation and retries:

- `_executor()`: the executor to submit to (built lazily, rebuilt after `_discard_executor()`);
- `_is_worker_lost(exc)`: does this exception mean "the worker died", not "the task raised"?
- `LOSES_ALL_IN_FLIGHT`: does one lost worker break every in-flight task (a process pool does)?
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from typing import Any, Callable, ClassVar, Sequence

from workbench.backends.compute import Task, TaskResult
from workbench.backends.options import EMPTY_SCHEMA, OptionSchema

WORKER_LOST = "WorkerLost: the worker running this task died"


def call_task(task: Task) -> tuple[Any, float]:
    """Run one task where the executor puts it; returns its value and how long it took there."""
    start = time.perf_counter()
    value = task.fn(*task.args, **dict(task.kwargs))
    return value, time.perf_counter() - start


class ExecutorCompute(ABC):
    """Base class for compute back-ends built on a `concurrent.futures.Executor`."""

    name: ClassVar[str] = "executor"
    SUPPORTS_CANCEL: ClassVar[bool] = True
    SUPPORTS_RETRY: ClassVar[bool] = True
    LOSES_ALL_IN_FLIGHT: ClassVar[bool] = False
    OPTIONS: ClassVar[OptionSchema] = EMPTY_SCHEMA
    POLL_S: ClassVar[float] = 0.1  # how often a waiting run checks its cancel event

    # -- to implement -------------------------------------------------------------------------
    @abstractmethod
    def worker_count(self) -> int: ...

    @abstractmethod
    def _executor(self) -> Executor: ...

    def _is_worker_lost(self, exc: BaseException) -> bool:
        return False

    def _discard_executor(self) -> None:
        """Forget a broken executor so that `_executor()` builds a fresh one."""

    def _abandon_in_flight(self) -> None:
        """`run_tasks` was left by an exception with tasks still running: stop them if the executor can
        (the default lets them finish in the background)."""

    def close(self) -> None:
        self._discard_executor()

    # -- shared behaviour ---------------------------------------------------------------------
    def describe(self) -> dict[str, Any]:
        """What to show or record about this back-end (secret options masked)."""
        values = {o.name: getattr(self, o.name, None) for o in self.OPTIONS}
        return {"name": self.name, "workers": self.worker_count(), **self.OPTIONS.masked(values)}

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in self.describe().items() if k != "name")
        return f"{type(self).__name__}({shown})"

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _in_flight_limit(self) -> int:
        # Two per slot keeps every worker busy while results travel back, without flooding the queue
        # (tasks submitted but not started are the ones a cancel can still drop).
        return max(1, self.worker_count()) * 2

    def run_tasks(
        self,
        tasks: Sequence[Task],
        *,
        on_result: Callable[[TaskResult], None] | None = None,
        cancel: threading.Event | None = None,
        max_retries: int = 2,
    ) -> list[TaskResult]:
        keys = [t.key for t in tasks]
        if len(set(keys)) != len(keys):
            raise ValueError("Task keys must be unique within one run_tasks call.")
        results: dict[str, TaskResult] = {}
        attempts = {k: 0 for k in keys}
        queue: deque[Task] = deque(tasks)
        in_flight: dict[Future[Any], Task] = {}
        limit = self._in_flight_limit()  # asked once: on a cluster it is a round trip

        def cancelled() -> bool:
            return cancel is not None and cancel.is_set()

        def finish(res: TaskResult) -> None:
            results[res.key] = res
            if on_result:
                on_result(res)

        def lose(lost: list[Task]) -> None:
            for task in lost:
                if attempts[task.key] > max_retries:
                    finish(TaskResult(task.key, error=f"{WORKER_LOST} ({attempts[task.key]} attempts, retries exhausted)",
                                      attempts=attempts[task.key]))
                else:
                    queue.appendleft(task)

        try:
            while queue or in_flight:
                if cancelled():
                    queue.clear()
                    for fut in list(in_flight):
                        if fut.cancel():
                            del in_flight[fut]  # never started: dropped, as the contract says
                    if not in_flight:
                        break
                lost: list[Task] = []
                while queue and len(in_flight) < limit and not cancelled():
                    task = queue.popleft()
                    try:
                        fut = self._executor().submit(call_task, task)
                    except Exception as exc:
                        if not self._is_worker_lost(exc):
                            raise
                        queue.appendleft(task)  # never ran: not an attempt
                        lost.extend(self._drain_broken(in_flight, finish, attempts))
                        break
                    attempts[task.key] += 1
                    in_flight[fut] = task
                if in_flight and not lost:
                    done, _ = wait(list(in_flight), timeout=self.POLL_S, return_when=FIRST_COMPLETED)
                    for fut in done:
                        task = in_flight.pop(fut)
                        if fut.cancelled():
                            continue
                        outcome = self._outcome(fut, task, attempts[task.key])
                        if outcome is None:
                            lost.append(task)
                        else:
                            finish(outcome)
                    if lost and self.LOSES_ALL_IN_FLIGHT:
                        lost.extend(self._drain_broken(in_flight, finish, attempts))
                if lost:
                    lose(lost)
        except BaseException:
            if in_flight:
                self._abandon_in_flight()  # Ctrl-C, a cancel signal, a bug: nobody will read these results
            raise
        return [results[k] for k in keys if k in results]

    def _outcome(self, fut: Future[Any], task: Task, attempt: int) -> TaskResult | None:
        """The task's result, or None when its worker was lost (the caller retries it)."""
        try:
            value, duration = fut.result()
        except BaseException as exc:
            if self._is_worker_lost(exc):
                return None
            if not isinstance(exc, Exception):
                raise
            return TaskResult(task.key, error=f"{type(exc).__name__}: {exc}", attempts=attempt)
        return TaskResult(task.key, value=value, attempts=attempt, duration_s=duration)

    def _drain_broken(self, in_flight: dict[Future[Any], Task], finish: Callable[[TaskResult], None],
                      attempts: dict[str, int]) -> list[Task]:
        """After a loss that broke the executor: keep what finished before it broke, return the rest."""
        lost: list[Task] = []
        if in_flight:
            wait(list(in_flight), timeout=10)  # a broken pool fails its pending futures at once
        for fut, task in list(in_flight.items()):
            outcome = self._outcome(fut, task, attempts[task.key]) if fut.done() and not fut.cancelled() else None
            if outcome is None:
                lost.append(task)
            else:
                finish(outcome)
        in_flight.clear()
        self._discard_executor()
        return lost
