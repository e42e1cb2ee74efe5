"""`ThreadCompute`: tasks on a thread pool — the smallest useful compute back-end.

Everything hard (progress, cancellation, retries) comes from `ExecutorCompute`; a back-end supplies
the executor and says what it can promise. Threads share one process, so a worker cannot die on its
own: `SUPPORTS_RETRY = False`, and the contract kit skips the worker-death checks.
"""

from __future__ import annotations

import os
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import ClassVar

from workbench.backends.executor import ExecutorCompute
from workbench.backends.options import Option, OptionSchema


class ThreadCompute(ExecutorCompute):
    name: ClassVar[str] = "template"
    SUPPORTS_CANCEL: ClassVar[bool] = True
    SUPPORTS_RETRY: ClassVar[bool] = False
    # An example to copy, not a back-end to run on: `plugins list --check` and the Plugins tab say "example".
    # Delete this line in your own plugin.
    EXAMPLE: ClassVar[bool] = True
    # Declared once; Workbench shows these as `--threads`, a TUI field and `[backends.template] threads`.
    OPTIONS: ClassVar[OptionSchema] = OptionSchema(
        Option("threads", int, default=2, env="WORKBENCH_TEMPLATE_THREADS", help="Threads running tasks."),
    )

    def __init__(self, threads: int = 2) -> None:
        self.threads = max(1, int(threads or os.cpu_count() or 1))
        self._pool: ThreadPoolExecutor | None = None

    def worker_count(self) -> int:
        return self.threads

    def _executor(self) -> Executor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="workbench-template")
        return self._pool

    def _discard_executor(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
