"""pytest base classes: subclass one, provide the back-end as a fixture, and every check is a test.

    @pytest.fixture(scope="module")
    def backend():
        with MyCompute(workers=2) as b:
            yield b

    class TestMyCompute(ComputeBackendContract):
        pass

Override the `secrets` fixture to name values that must never leak.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from workbench.testing.compute_checks import COMPUTE_CHECKS
from workbench.testing.report import CheckSkipped, KitContext
from workbench.testing.storage_checks import STORAGE_CHECKS


def _as_test(check: Any, fixture: str) -> Any:
    def test(self: Any, request: pytest.FixtureRequest, kit_context: KitContext) -> None:
        try:
            check(request.getfixturevalue(fixture), kit_context)
        except CheckSkipped as exc:
            pytest.skip(str(exc))

    test.__doc__ = check.__doc__
    return test


class _Contract:
    @pytest.fixture
    def secrets(self) -> tuple[str, ...]:
        """Override to list values (keys, tokens) that must never leak."""
        return ()

    @pytest.fixture
    def kit_context(self, tmp_path: Path, secrets: tuple[str, ...]) -> KitContext:
        return KitContext(workdir=tmp_path, secrets=tuple(secrets))


class ComputeBackendContract(_Contract):
    """Provide a `backend` fixture (any scope) yielding the compute back-end under test."""


class StorageBackendContract(_Contract):
    """Provide a `storage` fixture (any scope) yielding the storage back-end under test."""


for _name, _check in COMPUTE_CHECKS:
    setattr(ComputeBackendContract, f"test_{_name}", _as_test(_check, "backend"))
for _name, _check in STORAGE_CHECKS:
    setattr(StorageBackendContract, f"test_{_name}", _as_test(_check, "storage"))
