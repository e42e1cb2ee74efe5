"""Import hygiene: the lake core never imports Textual; the TUI's start-up path skips plotext and sklearn."""

from __future__ import annotations

import subprocess
import sys


def _loaded_after(statement: str, modules: list[str]) -> list[str]:
    code = f"import sys; {statement}; print(','.join(m for m in {modules!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return [m for m in out.stdout.strip().split(",") if m]


def test_lake_core_imports_no_textual() -> None:
    statement = ("import workbench.lake.profile, workbench.lake.versus_target, workbench.lake.sql, "
                 "workbench.lake.export, workbench.lake.attach, workbench.lake.prune, workbench.cli.lake")
    assert _loaded_after(statement, ["textual", "sklearn", "lightgbm"]) == []


def test_tui_start_up_path_is_light() -> None:
    assert _loaded_after("import workbench.tui.app", ["textual_plotext", "plotext", "sklearn", "lightgbm"]) == []
