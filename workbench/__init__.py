"""Workbench: a local, keyboard-first data-science workbench.

`from workbench import open_workspace` is the Python API (`workbench/api/`); it is imported on first use,
so `import workbench` stays as cheap as it was.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["__version__", "open_workspace"]

if TYPE_CHECKING:
    from workbench.api import open_workspace


def __getattr__(name: str) -> Any:
    if name == "open_workspace":
        from workbench.api import open_workspace

        return open_workspace
    raise AttributeError(f"module 'workbench' has no attribute {name!r}")
