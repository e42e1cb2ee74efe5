"""Find back-ends through entry points (`workbench.compute`, `workbench.storage`).

Listing never imports a plugin; one is imported only when asked for, and a plugin that fails to import
or start becomes a `BackendUnavailableError` with its reason — never a crash.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from workbench.errors import BackendUnavailableError

COMPUTE_GROUP = "workbench.compute"
STORAGE_GROUP = "workbench.storage"


@dataclass(frozen=True)
class PluginInfo:
    name: str
    kind: str  # "compute" | "storage"
    value: str  # "module:attr", from the entry point, without importing it
    package: str | None
    version: str | None


def _kind(group: str) -> str:
    return group.rsplit(".", 1)[-1]


def list_plugins(group: str | None = None) -> list[PluginInfo]:
    groups = [group] if group else [COMPUTE_GROUP, STORAGE_GROUP]
    out = []
    for g in groups:
        for ep in entry_points(group=g):
            dist = ep.dist
            out.append(PluginInfo(ep.name, _kind(g), ep.value, dist.name if dist else None, dist.version if dist else None))
    return sorted(out, key=lambda p: (p.kind, p.name))


def _entry_point(group: str, name: str) -> EntryPoint:
    matches = [ep for ep in entry_points(group=group) if ep.name == name]
    if not matches:
        known = ", ".join(sorted(ep.name for ep in entry_points(group=group))) or "none"
        raise BackendUnavailableError(f"No {_kind(group)} back-end named {name!r} is installed (installed: {known}).")
    return matches[0]


def load_backend_class(group: str, name: str) -> Any:
    ep = _entry_point(group, name)
    try:
        return ep.load()
    except Exception as exc:
        raise BackendUnavailableError(
            f"The {_kind(group)} back-end {name!r} ({ep.value}) failed to import: {type(exc).__name__}: {exc}"
        ) from exc


def get_compute_backend(name: str = "local", **options: Any) -> Any:
    """Instantiate the compute back-end `name` with `options` (from the spec or workbench.toml)."""
    cls = load_backend_class(COMPUTE_GROUP, name)
    try:
        return cls(**options)
    except BackendUnavailableError:
        raise
    except Exception as exc:
        raise BackendUnavailableError(f"The compute back-end {name!r} failed to start: {type(exc).__name__}: {exc}") from exc
