"""The template plugin passes Workbench's contract kit — keep this file when you copy the template."""

from __future__ import annotations

import pytest

from workbench.testing import ComputeBackendContract, StorageBackendContract, check_compute_backend
from workbench_template.compute import ThreadCompute
from workbench_template.storage import MemoryStorage


@pytest.fixture(scope="module")
def backend():
    """The compute back-end under test, started once for all its contract tests."""
    with ThreadCompute(threads=2) as backend:
        yield backend


@pytest.fixture
def storage():
    return MemoryStorage()


class TestThreadCompute(ComputeBackendContract):
    """Every promise of the compute contract, as one test each."""


class TestMemoryStorage(StorageBackendContract):
    """Every promise of the storage contract, as one test each."""


def test_one_call_form_reports_what_was_skipped():
    with ThreadCompute(threads=2) as backend:
        report = check_compute_backend(backend)
    assert "retries_after_worker_death" in report.skipped
    assert "submits" in report.passed


def test_discovered_through_its_entry_points():
    from workbench.backends.discovery import get_compute_backend, get_storage_backend

    backend = get_compute_backend("template", threads=3)
    try:
        assert backend.worker_count() == 3
    finally:
        backend.close()
    assert isinstance(get_storage_backend("template"), MemoryStorage)
