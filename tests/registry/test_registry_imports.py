"""Core registry modules never import Textual, and the TUI start-up path never imports scikit-learn."""

from __future__ import annotations

import subprocess
import sys


def _modules_after(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys; print('\\n'.join(sys.modules))"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return set(out.stdout.split())


def test_registry_core_and_cli_do_not_import_textual_or_sklearn() -> None:
    loaded = _modules_after(
        "import workbench.registry.register, workbench.registry.promotion, workbench.registry.predict, "
        "workbench.registry.evaluate, workbench.registry.overview, workbench.governance.report, "
        "workbench.cli.models, workbench.cli.governance")
    assert "textual" not in loaded
    assert "sklearn" not in loaded and "lightgbm" not in loaded


def test_models_pane_does_not_import_sklearn_at_start_up() -> None:
    loaded = _modules_after("import workbench.tui.app, workbench.tui.panes.models")
    assert "sklearn" not in loaded and "lightgbm" not in loaded and "workbench.registry.store" not in loaded
