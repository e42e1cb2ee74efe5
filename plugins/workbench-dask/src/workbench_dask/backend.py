"""`DaskCompute`: Workbench tasks on a Dask distributed cluster, through `Client.get_executor()`.

With an `address` it joins the team's scheduler; without one it starts a `LocalCluster` of worker
processes bound to 127.0.0.1 (dashboard off unless asked for, and then on loopback only).

Lost workers: on the cluster it starts, the scheduler's `allowed-failures` is 0, so a task whose worker
dies comes straight back as `KilledWorker` and Workbench retries it, counting attempts (visible in the
audit log). A shared cluster keeps its own setting: Dask first retries such a task itself, silently, and
Workbench's retries start once Dask gives up.
"""

from __future__ import annotations

from concurrent.futures import Executor
from typing import Any, ClassVar

from workbench.backends.deadline import BackendTimeout, call_within
from workbench.backends.executor import ExecutorCompute
from workbench.backends.options import Option, OptionSchema
from workbench.errors import BackendUnavailableError


class DaskCompute(ExecutorCompute):
    name: ClassVar[str] = "dask"
    SUPPORTS_CANCEL: ClassVar[bool] = True
    SUPPORTS_RETRY: ClassVar[bool] = True
    LOSES_ALL_IN_FLIGHT: ClassVar[bool] = False  # a dead worker takes only its own tasks down
    OPTIONS: ClassVar[OptionSchema] = OptionSchema(
        Option("address", str, env="WORKBENCH_DASK_ADDRESS",
               help="Scheduler address (tcp://host:8786); leave empty to start a local cluster on this machine."),
        Option("workers", int, help="Worker processes of the local cluster (default: one per core)."),
        Option("threads_per_worker", int, default=1, help="Threads per worker of the local cluster."),
        Option("connect_timeout", float, default=10.0, help="Seconds to wait for the scheduler to answer."),
        Option("dashboard", bool, default=False, help="Serve the local cluster's dashboard on 127.0.0.1."),
    )

    def __init__(self, address: str | None = None, workers: int | None = None, threads_per_worker: int = 1,
                 connect_timeout: float = 10.0, dashboard: bool = False) -> None:
        import dask
        from distributed import Client, LocalCluster

        self.address = address or None
        self.workers = workers
        self.threads_per_worker = threads_per_worker
        self.connect_timeout = connect_timeout
        self.dashboard = dashboard
        self._cluster: Any = None
        self._executor_obj: Executor | None = None
        if self.address:
            try:
                # `timeout` bounds the TCP connect but not the handshake: a scheduler port that accepts and
                # never answers (a hung scheduler, a proxy) would hold Client() forever.
                self._client = call_within(
                    lambda: Client(self.address, timeout=connect_timeout, set_as_default=False), connect_timeout,
                    f"The Dask scheduler at {self.address}", on_late=lambda client: client.close())
            except (OSError, TimeoutError, BackendTimeout) as exc:
                raise BackendUnavailableError(
                    f"The Dask scheduler at {self.address} did not answer within {connect_timeout:g} s; "
                    "check [backends.dask] address in workbench.toml and that the scheduler is running."
                ) from exc
            except (ValueError, TypeError) as exc:
                raise BackendUnavailableError(f"{self.address!r} is not a Dask scheduler address: {exc}") from exc
            return
        import os

        n = workers if workers is not None else max(1, (os.cpu_count() or 1) // max(1, threads_per_worker))
        with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
            self._cluster = LocalCluster(
                n_workers=n, threads_per_worker=threads_per_worker, processes=True, host="127.0.0.1",
                # The scheduler always serves a small HTTP endpoint (health, metrics): keep it on loopback
                # and on a free port, with the dashboard itself only when asked for.
                dashboard_address="127.0.0.1:0",
                scheduler_kwargs={"dashboard": bool(dashboard)},
            )
        try:
            self._client = Client(self._cluster, timeout=connect_timeout, set_as_default=False)
        except Exception:
            self._cluster.close()
            raise

    @property
    def scheduler_address(self) -> str:
        return str(self._client.scheduler.address)

    def worker_count(self) -> int:
        return max(1, sum(self._client.nthreads().values()))

    def _in_flight_limit(self) -> int:
        return self.worker_count() * 4  # Dask queues on the scheduler; a deeper queue hides round trips

    def _executor(self) -> Executor:
        if self._executor_obj is None:
            # pure=False: a retried task gets a fresh key instead of the erred one.
            self._executor_obj = self._client.get_executor(pure=False)
        return self._executor_obj

    def _is_worker_lost(self, exc: BaseException) -> bool:
        from distributed import KilledWorker

        return isinstance(exc, KilledWorker)

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "address": self.address or f"local cluster at {self.scheduler_address}",
                "workers": self.worker_count(), "threads_per_worker": self.threads_per_worker,
                "dashboard": self.dashboard_link}

    @property
    def dashboard_link(self) -> str | None:
        return self._client.dashboard_link if (self.dashboard or self.address) else None

    def close(self) -> None:
        self._executor_obj = None
        client, self._client = getattr(self, "_client", None), None
        if client is not None:
            client.close()
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None
