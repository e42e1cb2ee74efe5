"""Start a run from the TUI: pick a spec file, choose its compute back-end and options, then launch it
detached through the `workbench` CLI in a subprocess (validation errors come back as its one-sentence
message; the TUI never loads the data)."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from workbench.workspace import Workspace


def find_specs(ws: Workspace) -> list[Path]:
    """Spec files in the workspace (its root and `specs/`), then the shipped samples."""
    from workbench.workspace.create import sample_data_dir
    from workbench.workspace.settings import SETTINGS_FILE

    found = [p for p in sorted(ws.root.glob("*.toml")) if p.name != SETTINGS_FILE]
    found += sorted((ws.root / "specs").glob("*.toml"))
    try:
        found += sorted((sample_data_dir() / "specs").glob("*.toml"))
    except Exception:  # no sample data in this installation: workspace specs only
        pass
    return found


@dataclass(frozen=True)
class SpecBackend:
    """The compute back-end a spec file runs on (its `backend`, else the workspace default) and the
    `backend_options` it gives that back-end."""

    name: str
    options: dict[str, Any] = field(default_factory=dict)


def spec_backend(spec_path: str | Path, default: str) -> SpecBackend:
    """Read only the back-end keys of a spec; a spec that cannot be read falls back to `default` (the run
    itself then reports what is wrong with it)."""
    try:
        raw = tomllib.loads(Path(spec_path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return SpecBackend(default)
    name = raw.get("backend", default)
    options = raw.get("backend_options", {})
    return SpecBackend(name if isinstance(name, str) and name else default,
                       dict(options) if isinstance(options, dict) else {})


def _option_text(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def batch_command(ws: Workspace, spec_path: str, backend: str | None = None,
                  options: dict[str, Any] | None = None) -> list[str]:
    """The `workbench batch --detach` command line. `--backend` only when it differs from the spec's own
    (so the spec's `backend_options` still apply when it does not); one `--backend-option` per value given."""
    cmd = [sys.executable, "-m", "workbench", "-w", str(ws.root), "batch", "--detach", "--json"]
    if backend and backend != spec_backend(spec_path, ws.settings.default_backend).name:
        cmd += ["--backend", backend]
    for key, value in (options or {}).items():
        cmd += ["--backend-option", f"{key}={_option_text(value)}"]
    return [*cmd, spec_path]


def launch_detached(ws: Workspace, spec_path: str, backend: str | None = None,
                    options: dict[str, Any] | None = None) -> tuple[bool, str]:
    """(ok, message) after `workbench batch --detach SPEC` in a subprocess."""
    out = subprocess.run(batch_command(ws, spec_path, backend, options),
                         capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    if out.returncode != 0:
        lines = [line for line in out.stderr.strip().splitlines() if line.strip()]
        return False, (lines[-1] if lines else f"could not start the run (exit {out.returncode})").removeprefix("Error: ")
    run_id = json.loads(out.stdout)["run_id"]
    return True, f"Run {run_id} started in the background."


class SpecPicker(ModalScreen[str | None]):
    """Choose a spec file; Enter goes on to the new-run form, Escape cancels."""

    BINDINGS = [Binding("escape", "dismiss_none", "Cancel")]
    DEFAULT_CSS = """
    SpecPicker { align: center middle; }
    SpecPicker > Vertical { width: 90; height: auto; max-height: 80%; border: round $accent; background: $surface; padding: 0 1; }
    SpecPicker OptionList { height: auto; max-height: 20; }
    """

    def __init__(self, specs: list[Path]) -> None:
        super().__init__()
        self.specs = specs

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("[b]New run[/] — pick a spec (Enter: choose its back-end and start it, Esc cancels)")
            if self.specs:
                yield OptionList(*[Option(f"{p.stem}  [dim]{p}[/]", id=str(p)) for p in self.specs], id="spec-list")
            else:
                yield Static("No spec files found in the workspace (put SPEC.toml files in its specs/ folder).")

    def on_mount(self) -> None:
        if self.specs:
            self.query_one(OptionList).focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_dismiss_none(self) -> None:
        self.dismiss(None)
