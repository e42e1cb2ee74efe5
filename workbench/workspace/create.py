"""Create workspaces: `workbench init DIR [--sample]` and the demo workspace."""

from __future__ import annotations

import grp
import os
from pathlib import Path

from workbench.audit import AuditLog
from workbench.errors import WorkspaceError
from workbench.workspace import sharing
from workbench.workspace.model import Workspace
from workbench.workspace.settings import NOT_SHARED_LINE, SETTINGS_FILE, SETTINGS_TEMPLATE, SHARED_LINE, Settings

SAMPLE_TABLES = ("airlines", "airports", "planes", "weather", "flights", "penguins")


def sample_data_dir() -> Path:
    """The shipped sample tables: inside the wheel (`workbench/_sample_data`) or the repo's `sample_data/`."""
    here = Path(__file__).resolve().parent.parent
    for candidate in (here / "_sample_data", here.parent / "sample_data"):
        if (candidate / "penguins.parquet").exists():
            return candidate
    raise WorkspaceError("The sample data is missing from this installation (no sample_data/penguins.parquet).")


def init_workspace(root: Path, *, sample: bool = False, name: str | None = None,
                   shared_group: str | None = None) -> Workspace:
    """Create a workspace folder; refuses to overwrite an existing one.

    With `shared_group` the folder belongs to that OS group with the shared modes (workspace/sharing.py);
    the group is checked before anything is written."""
    root = root.expanduser().resolve()
    if (root / SETTINGS_FILE).exists():
        raise WorkspaceError(f"{root} is already a workspace ({SETTINGS_FILE} exists).")
    if root.exists() and not root.is_dir():
        raise WorkspaceError(f"{root} exists and is not a directory.")
    sample_dir = sample_data_dir() if sample else None
    group = None
    if shared_group is not None:
        group = sharing.member_group(shared_group)
        _check_can_share(root)
        made_parents = [p for p in root.parents if not p.exists()]
        previous_umask = os.umask(sharing.SHARED_UMASK)  # everything made from here on is the group's
        try:
            root.mkdir(parents=True, exist_ok=True)
            for folder in [*reversed(made_parents), root]:  # setgid first: what is made inside inherits the group
                os.chown(folder, -1, group.gr_gid)
                os.chmod(folder, sharing.SHARED_DIR_MODE)
            return _create(root, sample, name, sample_dir, group)
        finally:
            os.umask(previous_umask)
    root.mkdir(parents=True, exist_ok=True)
    return _create(root, sample, name, sample_dir, None)


def _create(root: Path, sample: bool, name: str | None, sample_dir: Path | None, group: grp.struct_group | None
            ) -> Workspace:
    from workbench.lake.engine import create_lake, open_lake
    from workbench.lake.ingest import ingest_files

    shared_group = group.gr_name if group is not None else None
    # workbench.toml is renamed into place last: a folder is a workspace only once it is complete.
    pending = root / (SETTINGS_FILE + ".creating")
    shared_line = SHARED_LINE.format(group=shared_group) if shared_group else NOT_SHARED_LINE
    pending.write_text(SETTINGS_TEMPLATE.format(name=name or root.name, shared_line=shared_line), encoding="utf-8")
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
    if group is not None:
        sharing.share_tree(root, group.gr_gid)  # what a library made with its own fixed mode
    pending.rename(root / SETTINGS_FILE)
    return ws


def _check_can_share(root: Path) -> None:
    """Refuse, before writing anything, a folder whose existing contents this user cannot chgrp and chmod."""
    if not root.exists():
        return
    for path in [root, *root.rglob("*")]:
        if not path.is_symlink() and path.lstat().st_uid != os.geteuid():
            raise WorkspaceError(f"{path} belongs to someone else, so it cannot be given the shared group and modes; "
                                 "use a new folder, or ask its owner.")
