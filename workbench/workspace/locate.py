"""Find the workspace a command works on: --workspace, then $WORKBENCH_HOME, then the current
directory if it holds workbench.toml, else the demo workspace in the user's data directory."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from workbench.errors import WorkspaceError
from workbench.workspace.model import Workspace
from workbench.workspace.settings import SETTINGS_FILE
from workbench.workspace.sharing import apply_shared_umask


@dataclass(frozen=True)
class Located:
    workspace: Workspace
    created: bool  # True when the demo workspace was created just now
    how: str


def demo_workspace_dir() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("workbench", appauthor=False)) / "demo"


def locate_workspace(explicit: Path | None = None, *, create_demo: bool = True) -> Located:
    """The workspace a command or the TUI works on; a shared one also sets this process's umask (sharing.py)."""
    located = _locate(explicit, create_demo=create_demo)
    apply_shared_umask(located.workspace)
    return located


def _locate(explicit: Path | None, *, create_demo: bool) -> Located:
    if explicit is not None:
        root = Path(explicit).expanduser()
        _check_can_enter(root)
        if not (root / SETTINGS_FILE).exists():
            raise WorkspaceError(f"{root} is not a workspace (no {SETTINGS_FILE}); create one with `workbench init {root}`.")
        return Located(Workspace.load(root), False, "--workspace")
    env_home = os.environ.get("WORKBENCH_HOME", "").strip()
    if env_home:
        root = Path(env_home).expanduser()
        _check_can_enter(root)
        if not (root / SETTINGS_FILE).exists():
            raise WorkspaceError(f"$WORKBENCH_HOME={env_home} is not a workspace (no {SETTINGS_FILE}).")
        return Located(Workspace.load(root), False, "$WORKBENCH_HOME")
    cwd = Path.cwd()
    if (cwd / SETTINGS_FILE).exists():
        return Located(Workspace.load(cwd), False, "current directory")
    demo = demo_workspace_dir()
    if (demo / SETTINGS_FILE).exists():
        return Located(Workspace.load(demo), False, "demo workspace")
    if not create_demo:
        raise WorkspaceError("No workspace found: pass --workspace DIR, set $WORKBENCH_HOME, or run `workbench init DIR`.")
    from workbench.workspace.create import init_workspace

    return Located(init_workspace(demo, sample=True, name="demo"), True, "demo workspace (new)")


def _check_can_enter(root: Path) -> None:
    """A folder this user may not enter is refused as that, not as "not a workspace" (a shared one's outsider)."""
    if root.is_dir() and not os.access(root, os.X_OK):
        import grp

        try:
            group = grp.getgrgid(root.stat().st_gid).gr_name
        except KeyError:
            group = str(root.stat().st_gid)
        raise WorkspaceError(f"You may not open {root}: it is private to group {group!r}.")
