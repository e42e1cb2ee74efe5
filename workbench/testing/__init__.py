"""The contract kit: reusable checks that tell a back-end author whether their plugin behaves.

Two ways to use it, as with scikit-learn's `check_estimator`:

    from workbench.testing import check_compute_backend, check_storage_backend
    check_compute_backend(MyCompute(workers=2))         # raises ContractViolation listing what failed
    check_storage_backend(MyStorage(...), secrets=["the-secret-key"])

or, in a pytest suite, subclass `ComputeBackendContract` / `StorageBackendContract` and provide a
`backend` (or `storage`) fixture: every promise becomes its own test.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

from workbench.testing.compute_checks import COMPUTE_CHECKS
from workbench.testing.report import CheckSkipped, ContractViolation, KitContext, KitReport, run_checks
from workbench.testing.storage_checks import STORAGE_CHECKS

__all__ = [
    "COMPUTE_CHECKS", "STORAGE_CHECKS", "CheckSkipped", "ComputeBackendContract", "ContractViolation",
    "KitContext", "KitReport", "StorageBackendContract", "check_compute_backend", "check_storage_backend",
]


def check_compute_backend(backend: Any, *, secrets: Iterable[str] = (), workdir: Path | None = None,
                          only: Iterable[str] | None = None) -> KitReport:
    """Run every compute check against `backend`; raise `ContractViolation` if any fails.

    `workdir` must be visible to the back-end's workers (the worker-death check leaves a marker there);
    `secrets` are values that must never show up in repr, describe() or logs."""
    ctx = KitContext(secrets=tuple(secrets)) if workdir is None else KitContext(workdir=workdir, secrets=tuple(secrets))
    return run_checks(getattr(backend, "name", type(backend).__name__), backend, COMPUTE_CHECKS, ctx, only)


def check_storage_backend(storage: Any, *, secrets: Iterable[str] = (), workdir: Path | None = None,
                          only: Iterable[str] | None = None) -> KitReport:
    """Run every storage check against `storage`; raise `ContractViolation` if any fails."""
    ctx = KitContext(secrets=tuple(secrets)) if workdir is None else KitContext(workdir=workdir, secrets=tuple(secrets))
    return run_checks(getattr(storage, "name", type(storage).__name__), storage, STORAGE_CHECKS, ctx, only)


def __getattr__(name: str) -> Any:
    # The pytest base classes import pytest; load them only when asked for.
    if name in ("ComputeBackendContract", "StorageBackendContract"):
        from workbench.testing import contracts

        return getattr(contracts, name)
    raise AttributeError(name)
