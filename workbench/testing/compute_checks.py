"""Contract checks for compute back-ends (`workbench.compute`), one function per promise."""

from __future__ import annotations

import threading
import uuid
from typing import Any, Iterator

from workbench.backends.compute import ComputeBackend, Task, TaskResult
from workbench.backends.options import schema_of
from workbench.testing import tasks as kit_tasks
from workbench.testing.leaks import assert_no_secret, captured_logs, public_faces
from workbench.testing.report import Check, CheckSkipped, KitContext, expect


def check_declaration(backend: Any, ctx: KitContext) -> None:
    """It satisfies the Protocol, says what it can do, and declares its options well."""
    expect(isinstance(backend, ComputeBackend), "it does not implement the ComputeBackend Protocol "
           "(name, SUPPORTS_CANCEL, SUPPORTS_RETRY, worker_count, run_tasks, close).")
    expect(isinstance(backend.name, str) and backend.name != "", "`name` must be a non-empty string.")
    for flag in ("SUPPORTS_CANCEL", "SUPPORTS_RETRY"):
        expect(isinstance(getattr(backend, flag), bool), f"{flag} must be a bool.")
    schema_of(type(backend))
    n = backend.worker_count()
    expect(isinstance(n, int) and n >= 1, f"worker_count() must be an int >= 1, got {n!r}.")


def check_submits(backend: Any, ctx: KitContext) -> None:
    """It runs every task and returns results in the order of the tasks."""
    expect(backend.run_tasks([]) == [], "run_tasks([]) must return [].")
    tasks = [Task(f"sq-{i}", kit_tasks.square, (i,)) for i in range(8)]
    results = backend.run_tasks(tasks)
    expect([r.key for r in results] == [t.key for t in tasks], "results must come back in the order of the tasks.")
    expect(all(isinstance(r, TaskResult) and r.ok for r in results), f"every task should succeed: {results!r}")
    expect([r.value for r in results] == [i * i for i in range(8)], "results carry the wrong values.")
    expect(all(r.attempts == 1 for r in results), "a task that succeeds first time reports attempts == 1.")


def check_task_errors_are_results(backend: Any, ctx: KitContext) -> None:
    """A task that raises gives a TaskResult with `error`, is not retried, and does not stop the others."""
    tasks = [Task("ok-1", kit_tasks.square, (3,)), Task("boom", kit_tasks.fail, ("boom",)), Task("ok-2", kit_tasks.square, (4,))]
    by_key = {r.key: r for r in backend.run_tasks(tasks, max_retries=2)}
    expect(set(by_key) == {"ok-1", "boom", "ok-2"}, "every task needs a result, failed ones included.")
    err = by_key["boom"].error or ""
    expect(err.startswith("ValueError") and "boom" in err, f"error should read 'ValueError: boom', got {err!r}.")
    expect(by_key["boom"].attempts == 1, "a task that raised must not be retried (only lost workers are).")
    expect(by_key["ok-1"].value == 9 and by_key["ok-2"].value == 16, "the other tasks must still succeed.")


def check_reports_progress(backend: Any, ctx: KitContext) -> None:
    """`on_result` is called once per task, on the calling thread, as each task finishes."""
    seen: list[str] = []
    threads: set[int] = set()

    def on_result(res: TaskResult) -> None:
        seen.append(res.key)
        threads.add(threading.get_ident())

    tasks = [Task(f"p-{i}", kit_tasks.sleep_then_return, (0.05, i)) for i in range(6)]
    backend.run_tasks(tasks, on_result=on_result)
    expect(sorted(seen) == sorted(t.key for t in tasks), f"on_result must see each task exactly once, saw {seen}.")
    expect(threads == {threading.get_ident()}, "on_result must be called on the thread that called run_tasks.")


def check_cancels(backend: Any, ctx: KitContext) -> None:
    """Setting the cancel event drops unstarted tasks and returns promptly; the back-end stays usable."""
    if not backend.SUPPORTS_CANCEL:
        raise CheckSkipped("SUPPORTS_CANCEL is False")
    n = backend.worker_count() * 3 + 4
    tasks = [Task(f"c-{i}", kit_tasks.sleep_then_return, (0.4, i)) for i in range(n)]
    cancel = threading.Event()
    results = backend.run_tasks(tasks, on_result=lambda r: cancel.set(), cancel=cancel)
    expect(0 < len(results) < n, f"after cancel only finished tasks come back ({len(results)} of {n} did).")
    expect(all(r.ok for r in results), "tasks that finished before the cancel must be reported as they ended.")
    after = backend.run_tasks([Task("after", kit_tasks.square, (5,))])
    expect(len(after) == 1 and after[0].value == 25, "the back-end must accept new work after a cancel.")


def check_retries_after_worker_death(backend: Any, ctx: KitContext) -> None:
    """A task whose worker dies is retried; the run completes and reports attempts > 1."""
    if not backend.SUPPORTS_RETRY:
        raise CheckSkipped("SUPPORTS_RETRY is False")
    marker = ctx.workdir / f"die-once-{uuid.uuid4().hex}"
    tasks = [Task("dies-once", kit_tasks.die_once, (str(marker),))] + [
        Task(f"bystander-{i}", kit_tasks.sleep_then_return, (0.05, i)) for i in range(4)]
    by_key = {r.key: r for r in backend.run_tasks(tasks, max_retries=2)}
    expect(marker.exists(), "the worker-killing task never ran (is the scratch folder shared with workers?).")
    victim = by_key.get("dies-once")
    expect(victim is not None and victim.ok and victim.value == "survived",
           f"the task whose worker died must be retried and succeed, got {victim!r}.")
    expect(victim.attempts >= 2, f"the retried task must report attempts >= 2, got {victim.attempts}.")  # type: ignore[union-attr]
    expect(all(by_key.get(f"bystander-{i}") is not None and by_key[f"bystander-{i}"].ok for i in range(4)),
           "tasks running beside the dead worker must still complete.")


def check_gives_up_after_max_retries(backend: Any, ctx: KitContext) -> None:
    """A task that kills every worker it lands on ends as an error result once retries run out."""
    if not backend.SUPPORTS_RETRY:
        raise CheckSkipped("SUPPORTS_RETRY is False")
    results = backend.run_tasks([Task("always-dies", kit_tasks.always_die)], max_retries=1)
    expect(len(results) == 1 and not results[0].ok, f"the task must end with an error result, got {results!r}.")
    expect(results[0].attempts == 2, f"max_retries=1 means 2 attempts, got {results[0].attempts}.")
    after = backend.run_tasks([Task("after", kit_tasks.square, (6,))])
    expect(len(after) == 1 and after[0].value == 36, "the back-end must recover after workers died.")


def check_no_credential_leak(backend: Any, ctx: KitContext) -> None:
    """No secret appears in repr/str/describe() or in any log record emitted while it works."""
    for where, text in public_faces(backend).items():
        assert_no_secret(where, text, ctx.secrets)
    with captured_logs() as logs:
        backend.run_tasks([Task("leak-1", kit_tasks.square, (2,)), Task("leak-2", kit_tasks.fail, ("x",))])
    assert_no_secret("log records", logs, ctx.secrets)


COMPUTE_CHECKS: tuple[tuple[str, Check], ...] = (
    ("declaration", check_declaration),
    ("submits", check_submits),
    ("task_errors_are_results", check_task_errors_are_results),
    ("reports_progress", check_reports_progress),
    ("cancels", check_cancels),
    ("retries_after_worker_death", check_retries_after_worker_death),
    ("gives_up_after_max_retries", check_gives_up_after_max_retries),
    ("no_credential_leak", check_no_credential_leak),
)


def iter_compute_checks() -> Iterator[tuple[str, Check]]:
    yield from COMPUTE_CHECKS


