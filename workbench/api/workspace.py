"""`open_workspace`: one object a notebook holds, with the lake, runs, registry and audit log hanging off it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from workbench.api.audit import AuditApi
from workbench.api.lake import LakeApi
from workbench.api.registry import RegistryApi
from workbench.api.runs import RunsApi
from workbench.workspace import Workspace


@dataclass
class OpenWorkspace:
    """A workspace as a notebook sees it; each part opens its databases per call, so nothing is held open."""

    workspace: Workspace
    lake: LakeApi = field(init=False)
    runs: RunsApi = field(init=False)
    registry: RegistryApi = field(init=False)
    audit: AuditApi = field(init=False)

    def __post_init__(self) -> None:
        self.lake = LakeApi(self.workspace)
        self.runs = RunsApi(self.workspace)
        self.registry = RegistryApi(self.workspace)
        self.audit = AuditApi(self.workspace)

    @property
    def root(self) -> Path:
        return self.workspace.root

    @property
    def actor(self) -> str:
        """Who the audit log records for actions taken through this object (the same rule as the CLI)."""
        return self.workspace.actor

    def __repr__(self) -> str:
        return f"OpenWorkspace({str(self.root)!r}, actor={self.actor!r})"


def open_workspace(path: str | Path | None = None) -> OpenWorkspace:
    """Open the workspace at `path`, or find it as the CLI does ($WORKBENCH_HOME, ./workbench.toml, the demo)."""
    from workbench.workspace.locate import locate_workspace

    located = locate_workspace(Path(path) if path is not None else None, create_demo=False)
    return OpenWorkspace(located.workspace)
