"""The built-in back-ends pass the contract kit, and the kit catches back-ends that misbehave."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from workbench.backends.local import LocalCompute
from workbench.backends.local_storage import LocalStorage
from workbench.testing import (ComputeBackendContract, ContractViolation, StorageBackendContract,
                               check_compute_backend, check_storage_backend)


@pytest.fixture(scope="module")
def backend():
    with LocalCompute(workers=2) as compute:
        yield compute


@pytest.fixture
def storage(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "objects")


class TestLocalCompute(ComputeBackendContract):
    """The built-in process pool keeps every promise of the compute contract."""


class TestLocalStorage(StorageBackendContract):
    """The built-in folder storage keeps every promise of the storage contract."""


def test_inline_local_compute_passes_and_skips_worker_death(tmp_path: Path):
    with LocalCompute(workers=0) as compute:
        report = check_compute_backend(compute, workdir=tmp_path)
    assert set(report.skipped) == {"retries_after_worker_death", "gives_up_after_max_retries"}


def test_local_workers_cap_native_threads():
    from workbench.backends.compute import Task

    with LocalCompute(workers=2) as compute:
        [res] = compute.run_tasks([Task("env", os.getenv, ("OMP_NUM_THREADS",))])
    assert res.value == str(max(1, (os.cpu_count() or 1) // 2))


# -- back-ends that break the contract, and the kit saying so ------------------------------------
class ForgetfulCompute(LocalCompute):
    """Claims SUPPORTS_RETRY but treats a dead worker as a task error."""

    def _is_worker_lost(self, exc: BaseException) -> bool:
        self._discard_executor()
        return False


class LeakyCompute(LocalCompute):
    def __repr__(self) -> str:
        return "LeakyCompute(token='hunter2-secret')"


class TornStorage(LocalStorage):
    """Writes straight into place: a failing source leaves a half-written object."""

    def write(self, key, data):
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as fh:
            while chunk := (data[:] if isinstance(data, bytes) else data.read(65536)):
                fh.write(chunk)
                if isinstance(data, bytes):
                    break


class LaxKeysStorage(LocalStorage):
    def _path(self, key):
        return self.root / key.lstrip("/")


def test_kit_catches_a_backend_that_does_not_retry(tmp_path: Path):
    with ForgetfulCompute(workers=2) as compute, pytest.raises(ContractViolation, match="retries_after_worker_death"):
        check_compute_backend(compute, workdir=tmp_path, only=["retries_after_worker_death"])


def test_kit_catches_a_credential_leak(tmp_path: Path):
    with LeakyCompute(workers=1) as compute, pytest.raises(ContractViolation, match="leaks through repr"):
        check_compute_backend(compute, workdir=tmp_path, secrets=["hunter2-secret"], only=["no_credential_leak"])


def test_kit_catches_non_atomic_writes(tmp_path: Path):
    with pytest.raises(ContractViolation, match="failed_write_leaves_no_trace"):
        check_storage_backend(TornStorage(tmp_path / "o"), workdir=tmp_path, only=["failed_write_leaves_no_trace"])


def test_kit_catches_unchecked_keys(tmp_path: Path):
    with pytest.raises(ContractViolation, match="rejects_bad_keys"):
        check_storage_backend(LaxKeysStorage(tmp_path / "o"), workdir=tmp_path, only=["rejects_bad_keys"])


def test_local_storage_leaves_no_temporary_files(tmp_path: Path):
    store = LocalStorage(tmp_path)
    store.write("a/b.bin", io.BytesIO(b"x" * 100))
    assert [p.name for p in (tmp_path / "a").iterdir()] == ["b.bin"]
    assert store.url("a/b.bin") == str(tmp_path.resolve() / "a" / "b.bin")
