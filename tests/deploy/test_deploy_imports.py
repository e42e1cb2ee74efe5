"""Reports and serving stay off the start-up path: neither the CLI's nor the TUI's first import loads
matplotlib, Starlette or uvicorn, and the report and serve packages never import Textual."""

from __future__ import annotations

import subprocess
import sys


def _modules_after(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys; print('\\n'.join(sys.modules))"],
                         capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_start_up_never_imports_the_plotting_or_serving_stacks() -> None:
    mods = _modules_after("import workbench.cli, workbench.tui.app, workbench.api")
    assert not {"matplotlib", "starlette", "uvicorn"} & mods


def test_report_and_serve_do_not_import_textual() -> None:
    mods = _modules_after("import workbench.report.write, workbench.report.render, workbench.serve.app")
    assert "textual" not in mods
