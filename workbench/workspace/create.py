"""Create workspaces: `workbench init DIR [--sample]` and the demo workspace."""

from __future__ import annotations

from pathlib import Path

from workbench.audit import AuditLog
from workbench.errors import WorkspaceError
from workbench.workspace.model import Workspace
from workbench.workspace.settings import SETTINGS_FILE, SETTINGS_TEMPLATE, Settings

SAMPLE_TABLES = ("airlines", "airports", "planes", "weather", "flights", "penguins")


def sample_data_dir() -> Path:
    """The shipped sample tables: inside the wheel (`workbench/_sample_data`) or the repo's `sample_data/`."""
    here = Path(__file__).resolve().parent.parent
    for candidate in (here / "_sample_data", here.parent / "sample_data"):
        if (candidate / "penguins.parquet").exists():
            return candidate
    raise WorkspaceError("The sample data is missing from this installation (no sample_data/penguins.parquet).")


def init_workspace(root: Path, *, sample: bool = False, name: str | None = None) -> Workspace:
    """Create a workspace folder; refuses to overwrite an existing one."""
    from workbench.lake.engine import create_lake, open_lake
    from workbench.lake.ingest import ingest_files

    root = root.expanduser().resolve()
    if (root / SETTINGS_FILE).exists():
        raise WorkspaceError(f"{root} is already a workspace ({SETTINGS_FILE} exists).")
    if root.exists() and not root.is_dir():
        raise WorkspaceError(f"{root} exists and is not a directory.")
    sample_dir = sample_data_dir() if sample else None
    root.mkdir(parents=True, exist_ok=True)
    # workbench.toml is renamed into place last: a folder is a workspace only once it is complete.
    pending = root / (SETTINGS_FILE + ".creating")
    pending.write_text(SETTINGS_TEMPLATE.format(name=name or root.name), encoding="utf-8")
    ws = Workspace(root=root, settings=Settings.load(pending))
    ws.artifacts_dir.mkdir(exist_ok=True)
    ws.state_dir.mkdir(exist_ok=True)
    (ws.state_dir / ".gitignore").write_text("*\n", encoding="utf-8")
    create_lake(ws)
    with AuditLog(ws.audit_path, ws.root, create=True) as log:
        log.record("workspace.init", actor=ws.actor, subject=str(root), params={"sample": sample})
        from workbench.runs.records import RunRecords

        RunRecords(log)  # the runs table exists from the start (readers may query it before any run)
        from workbench.integrity.anchor import log_anchor, write_anchor

        anchor = log_anchor(log)
        if anchor is not None:  # the log's identity, kept outside it: a replaced log is a finding
            write_anchor(ws, anchor)
        from workbench.access.founding import found_governance

        found_governance(ws, log)  # the founder's key (if at hand) and the first adopted policy
    if sample_dir is not None:
        paths = [sample_dir / f"{t}.parquet" for t in SAMPLE_TABLES]
        with open_lake(ws) as lake:
            ingest_files(lake, paths, actor=ws.actor)  # audited: one lake.ingest event per table
    pending.rename(root / SETTINGS_FILE)
    return ws
