"""The package's layers hold: the contracts in pyproject.toml's [tool.importlinter], checked by import-linter."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_import_linter_contracts_are_kept() -> None:
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert exe, "import-linter is a dev dependency (pip install -e '.[dev]')"
    out = subprocess.run([exe, "--no-cache"], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert "0 broken" in out.stdout


def test_the_audit_package_imports_nothing_above_it() -> None:
    """Belt and braces for the bottom layer: no module in workbench/audit names a higher package."""
    higher = ("workbench.runs", "workbench.lake", "workbench.pipeline", "workbench.registry", "workbench.backends",
              "workbench.integrity", "workbench.governance", "workbench.cli", "workbench.tui")
    for path in (REPO / "workbench" / "audit").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert not [h for h in higher if f"from {h}" in text or f"import {h}" in text], path.name
