"""Registered files are checked against their recorded SHA-256 before anything reads them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from workbench.runs.artifacts import ArtifactIntegrityError
from workbench.workspace import Workspace

__all__ = ["ArtifactIntegrityError", "load_holdout", "load_model", "load_holdout_model", "verified_path"]


def verified_path(workspace: Workspace, relative: str, expected_sha256: str, what: str) -> Path:
    """The local path of a registered file after checking its hash (never unpickle before this); fetched
    from the workspace's storage back-end when the local copy is missing or differs."""
    from workbench.runs.artifact_store import verified_artifact

    return verified_artifact(workspace, relative, expected_sha256, what)


def load_model(workspace: Workspace, version: dict[str, Any]) -> Any:
    """Unpickle a registered model version's pipeline, after its hash checks out."""
    import joblib

    path = verified_path(workspace, version["artifact_path"], version["artifact_sha256"], "model artifact")
    return joblib.load(path)


def load_holdout_model(workspace: Workspace, version: dict[str, Any]) -> tuple[Any, str]:
    """The model that may be scored on the version's own frozen holdout, and which one it is: the registered
    artifact, unless it was refitted on rows that include the holdout; then its twin fitted on the training
    rows only (a model scored on rows it trained on would look better than it is)."""
    import joblib

    training = version.get("training") or {}
    if training.get("holdout_model"):
        path = verified_path(workspace, training["holdout_model"], training["holdout_model_sha256"], "holdout model")
        return joblib.load(path), f"its twin fitted on the {training.get('holdout_model_rows')} training rows only"
    return load_model(workspace, version), "the registered artifact"


def load_holdout(workspace: Workspace, version: dict[str, Any]) -> Any:
    """The frozen held-out rows (polars) of a version's run, after their hash checks out."""
    import polars as pl

    path = verified_path(workspace, version["holdout_path"], version["holdout_sha256"], "holdout")
    return pl.read_parquet(path)
