"""Registered files are checked against their recorded SHA-256 before anything reads them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from workbench.errors import BadInputError, WorkbenchError
from workbench.workspace import Workspace


class ArtifactIntegrityError(WorkbenchError):
    """A registered file is missing or no longer matches its recorded hash: it is never loaded."""

    title = "Artifact integrity"


def verified_path(workspace: Workspace, relative: str, expected_sha256: str, what: str) -> Path:
    """The absolute path of a registered file after checking its hash (never unpickle before this)."""
    from workbench.runs.artifacts import sha256_file

    path = (workspace.root / relative).resolve()
    if not path.is_relative_to(workspace.root):
        raise BadInputError(f"The {what} path {relative!r} points outside the workspace.")
    if not path.exists():
        raise ArtifactIntegrityError(f"The {what} {relative} is missing; it cannot be used.")
    actual = sha256_file(path)
    if actual != expected_sha256:
        raise ArtifactIntegrityError(
            f"The {what} {relative} has SHA-256 {actual[:12]}… but {expected_sha256[:12]}… was recorded; "
            "it was changed after training and will not be loaded."
        )
    return path


def load_model(workspace: Workspace, version: dict[str, Any]) -> Any:
    """Unpickle a registered model version's pipeline, after its hash checks out."""
    import joblib

    path = verified_path(workspace, version["artifact_path"], version["artifact_sha256"], "model artifact")
    return joblib.load(path)


def load_holdout(workspace: Workspace, version: dict[str, Any]) -> Any:
    """The frozen held-out rows (polars) of a version's run, after their hash checks out."""
    import polars as pl

    path = verified_path(workspace, version["holdout_path"], version["holdout_sha256"], "holdout")
    return pl.read_parquet(path)
