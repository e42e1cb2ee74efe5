"""Start a run from a spec file on a chosen compute back-end: the one path `workbench batch --detach` and the
TUI's new-run form both take (no shell scrapes another's output)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any, Mapping

from workbench.workspace import Workspace


def spec_with_backend(spec: Any, backend: str | None = None, options: Mapping[str, Any] | None = None) -> Any:
    """The spec on `backend` with `options` on top of its own. Another back-end than the spec's drops the
    spec's `backend_options` (they were meant for its own); the same one (or none) keeps them."""
    if backend and backend != spec.backend:
        spec = replace(spec, backend=backend, backend_options={})
    return replace(spec, backend_options={**spec.backend_options, **options}) if options else spec


def start_spec_file(ws: Workspace, spec_path: str | Path, backend: str | None = None,
                    options: Mapping[str, Any] | None = None) -> str:
    """Read, validate against the lake, queue and launch the run of `spec_path` in a detached worker; returns
    its id at once. Raises the run's own errors (bad spec exit 2, back-end unavailable exit 3)."""
    from workbench.pipeline.spec import load_spec
    from workbench.runs.engine import start_detached

    spec = load_spec(Path(spec_path), ws.settings.default_holdout, ws.settings.default_backend)
    return start_detached(ws, spec_with_backend(spec, backend, options))
