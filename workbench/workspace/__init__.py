"""A workspace is one folder: workbench.toml, the versioned lake, the audit log and the artifacts."""

from workbench.workspace.settings import Settings
from workbench.workspace.model import Workspace

__all__ = ["Settings", "Workspace"]
