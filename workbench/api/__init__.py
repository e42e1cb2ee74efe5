"""The Python API for notebooks and scripts: `open_workspace(path)` gives the lake, runs, registry and audit log.

Every method is a thin wrapper over the same core function the CLI calls, so a notebook gets the same
read-only lake, the same identity (`WORKBENCH_USER`, then `[workspace] user`, then the OS login) and the
same audit events as `workbench ...` on the command line. Heavy libraries load only when a method needs them.
"""

from workbench.api.workspace import OpenWorkspace, open_workspace

__all__ = ["OpenWorkspace", "open_workspace"]
