"""Start a run from the TUI: pick a spec file, choose its compute back-end and options, then launch it in a
detached worker through the same core function as `workbench batch --detach` (`runs.launch`), called in a
worker thread; its errors are the CLI's one-sentence messages."""

from __future__ import annotations

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


def launch_detached(ws: Workspace, spec_path: str, backend: str | None = None,
                    options: dict[str, Any] | None = None) -> tuple[bool, str]:
    """(ok, message) after validating, queueing and launching the run (blocking: call it in a worker). Option
    values go as text, as on the command line: the back-end's option schema converts and checks them."""
    from workbench.errors import WorkbenchError
    from workbench.runs.launch import start_spec_file

    given = {key: _option_text(value) for key, value in (options or {}).items()}
    try:
        run_id = start_spec_file(ws, spec_path, backend, given)
    except WorkbenchError as exc:
        return False, exc.message
    except Exception as exc:  # reported in the TUI, never a crash
        return False, f"could not start the run: {type(exc).__name__}: {exc}"
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
