"""Find back-ends through entry points (`workbench.compute`, `workbench.storage`).

Listing never imports a plugin: it reads the entry points and checks, from package metadata and the
file system only, that the plugin's module and declared requirements are there. A plugin is imported
only when used (or when a check is asked for), and one that fails to import, declares its options
wrongly or fails to start becomes a `BackendUnavailableError` with its reason — never a crash.

Plugins are guests: any exception their code raises, `SystemExit` included, is theirs to report, not
ours to die of (only `KeyboardInterrupt` and a run's cancel pass through), and an import that hangs is
given up on after the overall deadline (`backends/deadline.py`).
"""

from __future__ import annotations

import importlib.machinery
import re
import sys
from dataclasses import asdict, dataclass
from importlib.metadata import EntryPoint, PackageNotFoundError, distribution, entry_points
from typing import Any

from workbench.backends.deadline import BackendTimeout, call_within, configured_timeout
from workbench.backends.options import OptionDeclarationError, OptionSchema, schema_of
from workbench.errors import BackendUnavailableError

COMPUTE_GROUP = "workbench.compute"
STORAGE_GROUP = "workbench.storage"
GROUPS = {"compute": COMPUTE_GROUP, "storage": STORAGE_GROUP}

# What a plugin's code may raise that makes it broken rather than ending Workbench: everything but
# KeyboardInterrupt (the user's Ctrl-C) and other BaseExceptions such as a run's RunCancelled.
GUEST_ERRORS: tuple[type[BaseException], ...] = (Exception, SystemExit)


def guest_failure(exc: BaseException) -> str:
    """What a plugin's exception says, in words (`sys.exit()` is named as such)."""
    if isinstance(exc, SystemExit):
        return f"it called sys.exit({exc.code!r})"
    return f"{type(exc).__name__}: {exc}"

# What each kind must provide; checked on load so a half-written plugin is reported, not half-run.
_REQUIRED = {
    COMPUTE_GROUP: (("name", "SUPPORTS_CANCEL", "SUPPORTS_RETRY"), ("worker_count", "run_tasks", "close")),
    STORAGE_GROUP: (("name", "SUPPORTS_DUCKDB"),
                    ("read", "write", "exists", "list", "delete", "url", "configure_duckdb", "close")),
}


@dataclass(frozen=True)
class PluginInfo:
    name: str
    kind: str  # "compute" | "storage"
    value: str  # "module:attr", from the entry point, without importing it
    package: str | None
    version: str | None
    # "available" (not imported yet) | "ok" (imports and declares itself correctly; not started) | "broken";
    # after a probe (`probe.check_all`): "works" | "fails" (imports, but does not start or run a job here) |
    # "example" (works, but declares itself an example to copy, not to run on).
    status: str = "available"
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _kind(group: str) -> str:
    return group.rsplit(".", 1)[-1]


def _module_findable(module: str) -> bool:
    """Whether `module` exists on sys.path, found without executing any of its packages' code."""
    path: list[str] | None = None
    spec = None
    for part in module.split("."):
        spec = importlib.machinery.PathFinder.find_spec(part if path is None else f"{spec.name}.{part}", path)  # type: ignore[union-attr]
        if spec is None:
            return module in sys.modules
        path = list(spec.submodule_search_locations or [])
    return True


_REQ_NAME = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def _missing_requirement(ep: EntryPoint) -> str | None:
    dist = ep.dist
    for req in (dist.requires or []) if dist else []:
        if ";" in req and "extra" in req.split(";", 1)[1]:
            continue  # optional extras ([test], ...) are not needed to run
        m = _REQ_NAME.match(req)
        if not m:
            continue
        try:
            distribution(m.group(1))
        except PackageNotFoundError:
            return m.group(1)
    return None


def _static_problem(ep: EntryPoint) -> str | None:
    """Why this entry point cannot work, judged without importing it (None if it looks fine)."""
    module, _, attr = ep.value.partition(":")
    if not module or not attr:
        return f"entry point {ep.value!r} is not of the form 'module:attribute'"
    if not _module_findable(module.strip()):
        return f"module {module.strip()!r} is not installed"
    missing = _missing_requirement(ep)
    if missing:
        return f"it requires {missing!r}, which is not installed"
    return None


def _entry_points(group: str) -> list[EntryPoint]:
    # A package installed twice (e.g. editable and site) shows up twice: keep the first of each name+dist.
    seen: set[tuple[str, str | None]] = set()
    out = []
    for ep in entry_points(group=group):
        key = (ep.name, ep.dist.name if ep.dist else None)
        if key not in seen:
            seen.add(key)
            out.append(ep)
    return out


def list_plugins(group: str | None = None, *, check: bool = False, timeout_s: float | None = None) -> list[PluginInfo]:
    """Every installed back-end, sorted by kind and name. `check=True` also imports each one (at most
    `timeout_s` each) and checks its declaration (what `workbench plugins list --check` does); a plugin
    that fails is listed as broken, with its reason, and the others are still listed."""
    groups = [group] if group else [COMPUTE_GROUP, STORAGE_GROUP]
    out = []
    for g in groups:
        owners: dict[str, str | None] = {}
        for ep in _entry_points(g):
            dist = ep.dist
            package = dist.name if dist else None
            info = PluginInfo(ep.name, _kind(g), ep.value, package, dist.version if dist else None)
            problem = _static_problem(ep)
            if ep.name in owners:
                problem = f"the name {ep.name!r} is already taken by the package {owners[ep.name]!r}"
            else:
                owners[ep.name] = package
            if problem:
                info = PluginInfo(**{**info.as_dict(), "status": "broken", "error": problem})
            elif check:
                try:
                    _load(g, ep, configured_timeout() if timeout_s is None else timeout_s)
                    info = PluginInfo(**{**info.as_dict(), "status": "ok"})
                except BackendUnavailableError as exc:
                    info = PluginInfo(**{**info.as_dict(), "status": "broken", "error": exc.message})
            out.append(info)
    return sorted(out, key=lambda p: (p.kind, p.name, p.status == "broken"))


def _entry_point(group: str, name: str) -> EntryPoint:
    matches = [ep for ep in _entry_points(group) if ep.name == name]
    if not matches:
        known = ", ".join(sorted({ep.name for ep in _entry_points(group)})) or "none"
        raise BackendUnavailableError(f"No {_kind(group)} back-end named {name!r} is installed (installed: {known}).")
    if len(matches) > 1:
        packages = ", ".join(sorted(str(ep.dist.name if ep.dist else "?") for ep in matches))
        raise BackendUnavailableError(
            f"The {_kind(group)} back-end name {name!r} is registered by several packages ({packages}); uninstall one."
        )
    return matches[0]


def _load(group: str, ep: EntryPoint, timeout_s: float | None = None) -> Any:
    label = f"The {_kind(group)} back-end {ep.name!r} ({ep.value})"
    try:
        cls = ep.load() if timeout_s is None else call_within(ep.load, timeout_s, label)
    except BackendTimeout:
        raise
    except GUEST_ERRORS as exc:
        raise BackendUnavailableError(f"{label} failed to import: {guest_failure(exc)}") from exc
    try:
        schema_of(cls)
        attrs, methods = _REQUIRED[group]
        missing = [a for a in attrs if not hasattr(cls, a)] + [m for m in methods if not callable(getattr(cls, m, None))]
    except OptionDeclarationError as exc:
        raise BackendUnavailableError(f"{label} is broken: {exc.message}") from exc
    except GUEST_ERRORS as exc:
        raise BackendUnavailableError(f"{label} is broken: {guest_failure(exc)}") from exc
    if missing:
        raise BackendUnavailableError(f"{label} is broken: it does not define {', '.join(missing)}.")
    return cls


def load_backend_class(group: str, name: str, *, timeout_s: float | None = None) -> Any:
    """Import the back-end `name` of `group` and check its declaration; nothing else is imported. With
    `timeout_s`, the import is given up on after that long (without, the caller bounds it:
    `session.load_class` does, with the workspace's `[backends] timeout_s`)."""
    return _load(group, _entry_point(group, name), timeout_s)


def backend_options(group: str, name: str, *, timeout_s: float | None = None) -> OptionSchema:
    """The declared options of back-end `name`, imported within `timeout_s` (default: the overall deadline)."""
    return schema_of(load_backend_class(group, name, timeout_s=configured_timeout() if timeout_s is None else timeout_s))


def instantiate(group: str, name: str, factory: Any, options: dict[str, Any]) -> Any:
    """Call a back-end's class (or factory) with `options`; any failure is a clear start failure."""
    from workbench.errors import WorkbenchError

    try:
        return factory(**options)
    except WorkbenchError:
        raise
    except GUEST_ERRORS as exc:
        raise BackendUnavailableError(f"The {_kind(group)} back-end {name!r} failed to start: {guest_failure(exc)}") from exc


def get_compute_backend(name: str = "local", **options: Any) -> Any:
    """Instantiate the compute back-end `name` with `options` (from the spec or workbench.toml)."""
    return instantiate(COMPUTE_GROUP, name, load_backend_class(COMPUTE_GROUP, name), options)


def get_storage_backend(name: str = "local", **options: Any) -> Any:
    """Instantiate the storage back-end `name` with `options`."""
    return instantiate(STORAGE_GROUP, name, load_backend_class(STORAGE_GROUP, name), options)
